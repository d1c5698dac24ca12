"""Run files are private whatever the umask, and atomic writes leave no temp files behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from discoverygym.agents.runfiles import (
    DIR_MODE,
    FILE_MODE,
    atomic_write_bytes,
    atomic_write_text,
    open_private_append,
    private_dir,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    previous = os.umask(0)  # the most permissive umask: nothing masks the modes we ask for
    yield
    os.umask(previous)


def test_folders_and_files_are_private_under_any_umask(tmp_path, open_umask):
    run = private_dir(tmp_path / "a" / "run")
    assert (DIR_MODE, FILE_MODE) == (0o700, 0o600) and mode(run) == 0o700
    written = atomic_write_text(run / "programs" / "best.py", "x = 1\n")
    assert mode(written) == 0o600 and mode(run / "programs") == 0o700
    with open_private_append(run / "log.jsonl") as handle:
        handle.write(b"{}\n")
    assert mode(run / "log.jsonl") == 0o600
    assert sorted(p.name for p in run.iterdir()) == ["log.jsonl", "programs"]  # no temp file left


def test_existing_open_folders_and_files_are_tightened(tmp_path):
    folder = tmp_path / "old"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    log = folder / "log.jsonl"
    log.write_text("{}\n")
    log.chmod(0o644)
    private_dir(folder)
    open_private_append(log).close()
    assert mode(folder) == 0o700 and mode(log) == 0o600 and log.read_text() == "{}\n"


def test_an_atomic_write_replaces_whole_and_keeps_the_old_file_on_failure(tmp_path):
    path = atomic_write_bytes(tmp_path / "state.json", b"old")
    with pytest.raises(TypeError):
        atomic_write_bytes(path, "not bytes")  # fails mid-write
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["state.json"]
    atomic_write_bytes(path, b"new", mode=0o640)
    assert path.read_bytes() == b"new" and mode(path) == 0o640
