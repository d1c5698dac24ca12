"""W&B mode shared by every tracked job (training, evolution, comparison, sweeps).

Offline by default: runs land under `wandb/` (or `WANDB_DIR`) and can be synced later with
`wandb sync`. Online only when the user asks (`WANDB_MODE=online`) or is logged in
(`WANDB_API_KEY`, or a `~/.netrc` entry for the W&B host written by `wandb login`).
"""

from __future__ import annotations

import netrc
import os

WANDB_HOST = "api.wandb.ai"
MODES = ("online", "offline", "disabled", "dryrun", "run", "shared")


def has_wandb_login() -> bool:
    """True when an API key is available from the environment or `wandb login`."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators(WANDB_HOST) is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


def wandb_mode(requested: str | None = None) -> str:
    """The mode to run W&B in: the explicit request, then `WANDB_MODE`, then online iff logged in."""
    mode = requested or os.environ.get("WANDB_MODE")
    if mode:
        if mode not in MODES:
            raise ValueError(f"unknown wandb mode {mode!r}; use online, offline or disabled")
        return mode
    return "online" if has_wandb_login() else "offline"
