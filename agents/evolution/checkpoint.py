"""Durable run state: atomic JSON checkpoints (temp file, fsync, rename, fsync the folder).

A reader never sees a half-written checkpoint: after a kill -9 the file is either the previous
complete state or the new one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

CHECKPOINT = "checkpoint.json"


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` atomically (same-folder temp file + os.replace)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def save_checkpoint(run_dir: Path, state: dict[str, Any]) -> Path:
    """Atomically write the run's state to `run_dir/checkpoint.json`."""
    path = Path(run_dir) / CHECKPOINT
    atomic_write_text(path, json.dumps(state))
    return path


def load_checkpoint(run_dir: Path) -> dict[str, Any] | None:
    """The last checkpoint of `run_dir`, or None when there is none."""
    path = Path(run_dir) / CHECKPOINT
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: corrupt checkpoint ({error}); it is written atomically, "
                         "so this file was changed by something else") from None
