"""W&B conventions shared by every tracked job (training, evolution, comparison, sweeps).

Mode: offline by default; runs land under `wandb/` (or `WANDB_DIR`) and can be synced later with
`wandb sync`. Online only when the user asks (`WANDB_MODE=online`) or is logged in
(`WANDB_API_KEY`, or a `~/.netrc` entry for the W&B host written by `wandb login`).

Sweep trials: W&B's server reads a trial's metric from the run's summary. Offline runs keep their
summary inside the binary run file, so our local and Ray sweep executors also pass a path in
`DISCOVERYGYM_TRIAL_RESULT`; programs call `report_trial_metrics` at the end, which updates the
W&B run's summary and writes the same numbers to that path as JSON.
"""

from __future__ import annotations

import json
import netrc
import os
from pathlib import Path
from typing import Any

WANDB_HOST = "api.wandb.ai"
RESULT_ENV = "DISCOVERYGYM_TRIAL_RESULT"
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


def report_trial_metrics(metrics: dict[str, Any], run: Any | None = None) -> None:
    """Record the final metrics of this program for a sweep (a no-op outside a sweep)."""
    if run is not None:
        run.summary.update(metrics)
    target = os.environ.get(RESULT_ENV)
    if target:
        path = Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(metrics, indent=2, default=float))
        temporary.replace(path)
