"""Append-only JSONL log of every sample: prompt, completion, program, scores, error.

One JSON object per line, written whole, flushed and fsynced per record, so a kill -9 loses at
most the line being written. The file is private to its owner (0600, in a 0700 run folder).

- Stored errors are cut to `MAX_ERROR_CHARS` characters, ending with a marker that gives the
  original length (`truncate_error`): a candidate's error message holds whatever it printed.
- `read_log` yields the complete records (it skips a torn last line and any other damaged line).
- `repair_log` (run by `--resume` before anything is appended) makes every line of the file one
  complete record again: a last line that is a complete record missing its newline gets the
  newline; a torn fragment is moved aside, byte for byte, to `samples.jsonl.damaged-<unix time>`;
  a line holding a torn fragment followed by a whole record (written by the resume of earlier
  versions, which appended to a torn line) keeps the record and moves the fragment aside.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from discoverygym.agents.runfiles import atomic_write_bytes, open_private_append, private_dir

LOG = "samples.jsonl"
MAX_ERROR_CHARS = 300  # the longest error message stored in a record, marker included
RECORD_START = b'{"sample": '  # how `json.dumps` begins every record the search writes


def truncate_error(error: str | None, limit: int = MAX_ERROR_CHARS) -> str | None:
    """`error` cut to at most `limit` characters, the last of them a marker `[cut: N chars]`."""
    if error is None or len(error) <= limit:
        return error
    marker = f" [cut: {len(error)} chars]"
    return error[:max(0, limit - len(marker))] + marker[-limit:]


class SampleLog:
    """Appends records to `run_dir/samples.jsonl` (run `repair_log` first when resuming)."""

    def __init__(self, run_dir: Path):
        self.path = private_dir(run_dir) / LOG
        self._handle = open_private_append(self.path)

    def append(self, record: dict[str, Any]) -> None:
        """Write `record` as one line (its error cut by `truncate_error`), flush and fsync."""
        if isinstance(record.get("error"), str):
            record = {**record, "error": truncate_error(record["error"])}
        self._handle.write((json.dumps(record) + "\n").encode("utf-8"))
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()


def _record(line: bytes) -> dict[str, Any] | None:
    """The record a line holds, or None when it is not one JSON object."""
    try:
        value = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def read_log(run_dir: Path) -> Iterator[dict[str, Any]]:
    """Every complete record of `run_dir/samples.jsonl` (torn or damaged lines are skipped)."""
    path = Path(run_dir) / LOG
    if not path.exists():
        return
    with open(path, "rb") as handle:
        for line in handle:
            record = _record(line)
            if record is not None:
                yield record


@dataclass
class LogRepair:
    """What `repair_log` changed; `dropped` lists (line number from 1, bytes moved aside)."""

    path: Path
    records: int = 0
    dropped: list[tuple[int, int]] = field(default_factory=list)
    newline_added: bool = False
    salvaged: int = 0  # records split off a line that began with a torn fragment
    moved_to: Path | None = None

    @property
    def changed(self) -> bool:
        return bool(self.dropped or self.newline_added or self.salvaged)

    def __str__(self) -> str:
        if not self.changed:
            return f"{self.path}: {self.records} complete records, nothing to repair"
        parts = []
        if self.newline_added:
            parts.append("the last record had lost its newline; added")
        if self.salvaged:
            parts.append(f"{self.salvaged} record(s) split off a torn line")
        if self.dropped:
            cut = ", ".join(f"line {n} ({size} bytes)" for n, size in self.dropped)
            parts.append(f"moved aside to {self.moved_to}: {cut}")
        return f"{self.path}: repaired, {self.records} complete records kept; " + "; ".join(parts)


def _split(line: bytes) -> tuple[bytes, dict[str, Any] | None]:
    """(torn fragment, record) for a line that is a fragment glued to a whole record."""
    start = line.find(RECORD_START, 1)
    while start != -1:
        record = _record(line[start:])
        if record is not None:
            return line[:start], record
        start = line.find(RECORD_START, start + 1)
    return line, None


def repair_log(run_dir: Path) -> LogRepair:
    """Make every line of `run_dir/samples.jsonl` one complete record (see the module doc)."""
    path = Path(run_dir) / LOG
    report = LogRepair(path)
    if not path.exists():
        return report
    data = path.read_bytes()
    lines = data.split(b"\n")
    last = lines.pop()  # b"" when the file ends with a newline
    kept: list[bytes] = []
    fragments: list[bytes] = []
    numbered = [(n, line, True) for n, line in enumerate(lines, 1)]
    if last:
        numbered.append((len(lines) + 1, last, False))
    for number, line, had_newline in numbered:
        if _record(line) is not None:
            kept.append(line)
            report.newline_added |= not had_newline
            continue
        fragment, record = _split(line)
        if record is not None:
            kept.append(line[len(fragment):])
            report.salvaged += 1
            report.newline_added |= not had_newline
        fragments.append(fragment)
        report.dropped.append((number, len(fragment)))
    report.records = len(kept)
    if not report.changed:
        return report
    if fragments:
        report.moved_to = path.with_name(f"{LOG}.damaged-{time.time_ns()}")
        atomic_write_bytes(report.moved_to, b"\n".join(fragments) + b"\n")
    atomic_write_bytes(path, b"".join(line + b"\n" for line in kept))
    return report
