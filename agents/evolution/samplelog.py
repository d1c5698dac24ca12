"""Append-only JSONL log of every sample: prompt, completion, program, scores, error.

One JSON object per line, flushed and fsynced per record, so a kill -9 loses at most the line
being written; `read_log` skips a torn last line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

LOG = "samples.jsonl"


class SampleLog:
    """Appends records to `run_dir/samples.jsonl`."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOG
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - long-lived

    def append(self, record: dict[str, Any]) -> None:
        self._handle.write(json.dumps(record) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()


def read_log(run_dir: Path) -> Iterator[dict[str, Any]]:
    """Every complete record of `run_dir/samples.jsonl` (a torn last line is skipped)."""
    path = Path(run_dir) / LOG
    if not path.exists():
        return
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue
