"""Private, durable run files: folders 0700, files 0600, atomic writes.

A run's folder keeps what its programs printed and what an LLM wrote, so it is readable by its
owner only, whatever the umask: `private_dir` creates (or tightens) a folder to `DIR_MODE`,
`open_private_append` and `atomic_write_bytes` / `atomic_write_text` create files with
`FILE_MODE` (an existing file is tightened too). An atomic write goes through a same-folder temp
file, fsync, `os.replace` and an fsync of the folder, so a reader sees the old or the new
content, never a mix, even after a kill -9.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: str | Path) -> Path:
    """Create `path` (and missing parents) and set the folder itself to `DIR_MODE`."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    if path.stat().st_mode & 0o777 != DIR_MODE:
        path.chmod(DIR_MODE)
    return path


def open_private_append(path: str | Path) -> BinaryIO:
    """Open `path` for appending bytes, created with (or tightened to) `FILE_MODE`."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        return os.fdopen(fd, "ab")
    except BaseException:
        os.close(fd)
        raise


def fsync_dir(path: str | Path) -> None:
    """Make a rename or a new file inside the folder `path` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | Path, data: bytes, mode: int = FILE_MODE) -> Path:
    """Write `data` to `path` atomically with permissions `mode` (missing folders: `DIR_MODE`)."""
    path = Path(path)
    if not path.parent.exists():
        private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return path


def atomic_write_text(path: str | Path, text: str, mode: int = FILE_MODE) -> Path:
    """`atomic_write_bytes` of `text` encoded as UTF-8."""
    return atomic_write_bytes(path, text.encode("utf-8"), mode)
