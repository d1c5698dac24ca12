"""Durable run state: atomic JSON checkpoints (temp file, fsync, rename, fsync the folder).

A reader never sees a half-written checkpoint: after a kill -9 the file is either the previous
complete state or the new one. The file is private to its owner (`runfiles.FILE_MODE`, 0600).

The checkpoint is authoritative for what the log cannot rebuild (the database, the best program,
the elapsed time); the sample log is authoritative for the sample counts (see `search`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from discoverygym.agents.runfiles import atomic_write_text

__all__ = ["CHECKPOINT", "atomic_write_text", "load_checkpoint", "save_checkpoint"]

CHECKPOINT = "checkpoint.json"


def save_checkpoint(run_dir: Path, state: dict[str, Any]) -> Path:
    """Atomically write the run's state to `run_dir/checkpoint.json` (mode 0600)."""
    path = Path(run_dir) / CHECKPOINT
    atomic_write_text(path, json.dumps(state))
    return path


def load_checkpoint(run_dir: Path) -> dict[str, Any] | None:
    """The last checkpoint of `run_dir`, or None when there is none."""
    path = Path(run_dir) / CHECKPOINT
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: corrupt checkpoint ({error}); it is written atomically, "
                         "so this file was changed by something else") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path}: corrupt checkpoint: expected a JSON object, "  # noqa: TRY004
                         f"got {type(state).__name__}")
    return state
