"""The sample log: torn and damaged lines repaired, errors truncated, private files."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from discoverygym.agents.evolution.samplelog import (
    LOG,
    MAX_ERROR_CHARS,
    SampleLog,
    read_log,
    repair_log,
    truncate_error,
)
from hypothesis import given, settings
from hypothesis import strategies as st


def record(sample: int, **extra) -> dict:
    return {"sample": sample, "source": "def priority(item, bins):\n    return bins\n",
            "ok": False, "score": None, "scores": {}, "error": None, **extra}


def write_records(run_dir: Path, count: int) -> bytes:
    log = SampleLog(run_dir)
    for sample in range(1, count + 1):
        log.append(record(sample, error="é" * sample))  # multi-byte characters to cut through
    log.close()
    return (run_dir / LOG).read_bytes()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@settings(max_examples=60, deadline=None)
@given(limit=st.integers(1, 400), text=st.text(max_size=1000))
def test_truncate_error_keeps_short_errors_and_marks_cut_ones(limit, text):
    cut = truncate_error(text, limit)
    assert len(cut) <= limit
    if len(text) <= limit:
        assert cut == text
    else:
        marker = f" [cut: {len(text)} chars]"
        if len(marker) < limit:
            assert cut == text[:limit - len(marker)] + marker
        else:  # a limit shorter than the marker keeps the marker's end
            assert cut == marker[-limit:]


def test_truncate_error_default_length_and_none():
    assert MAX_ERROR_CHARS == 300
    assert truncate_error(None) is None
    long = "x" * 5000
    cut = truncate_error(long)
    assert len(cut) == MAX_ERROR_CHARS and cut.endswith(" [cut: 5000 chars]")


def test_append_stores_errors_truncated_and_files_private(tmp_path):
    run_dir = tmp_path / "run"
    log = SampleLog(run_dir)
    log.append(record(1, error="secret " * 1000))
    log.append(record(2, error="short"))
    log.close()
    rows = list(read_log(run_dir))
    assert len(rows[0]["error"]) == MAX_ERROR_CHARS and rows[0]["error"].endswith("chars]")
    assert rows[1]["error"] == "short"
    assert mode(run_dir) == 0o700 and mode(run_dir / LOG) == 0o600


def test_an_old_world_readable_log_is_tightened(tmp_path):
    (tmp_path / LOG).write_text(json.dumps(record(1)) + "\n")
    (tmp_path / LOG).chmod(0o644)
    tmp_path.chmod(0o755)
    SampleLog(tmp_path).close()
    assert mode(tmp_path / LOG) == 0o600 and mode(tmp_path) == 0o700


def test_a_clean_log_is_left_alone(tmp_path):
    data = write_records(tmp_path, 3)
    report = repair_log(tmp_path)
    assert not report.changed and report.records == 3
    assert (tmp_path / LOG).read_bytes() == data
    assert not list(tmp_path.glob(f"{LOG}.damaged-*"))
    assert not repair_log(tmp_path / "empty").changed  # no log at all


@settings(max_examples=40, deadline=None)
@given(count=st.integers(1, 5), draw=st.data())
def test_a_torn_tail_is_moved_aside_byte_for_byte(tmp_path_factory, count, draw):
    run_dir = tmp_path_factory.mktemp("torn")
    data = write_records(run_dir, count)
    newlines = [i for i, byte in enumerate(data) if byte == ord("\n")]
    offset = draw.draw(st.integers(0, len(data)) | st.sampled_from(newlines), label="offset")
    (run_dir / LOG).write_bytes(data[:offset])
    # The oracle: whole lines before the cut, plus the last one if only its newline was lost.
    *complete, tail = data[:offset].split(b"\n")
    tail_is_record = tail != b"" and data[offset:offset + 1] == b"\n"
    expected = len(complete) + tail_is_record
    report = repair_log(run_dir)
    lines = (run_dir / LOG).read_bytes().split(b"\n")
    assert lines.pop() == b""  # every line ends with its newline
    assert [json.loads(line)["sample"] for line in lines] == list(range(1, expected + 1))
    assert report.records == expected
    assert (run_dir / LOG).read_bytes() == b"".join(
        line + b"\n" for line in data.split(b"\n")[:expected])
    if tail and not tail_is_record:
        assert report.dropped == [(expected + 1, len(tail))]
        assert report.moved_to.read_bytes() == tail + b"\n"
        assert mode(report.moved_to) == 0o600
        assert f"line {expected + 1} ({len(tail)} bytes)" in str(report)
    else:
        assert report.dropped == [] and report.newline_added == (tail != b"")
    assert mode(run_dir / LOG) == 0o600
    assert not repair_log(run_dir).changed  # repaired once for good


def test_a_record_glued_to_a_torn_line_is_split_off(tmp_path):
    """The fault of earlier resumes: the next record was appended to the torn line."""
    data = write_records(tmp_path, 3)
    torn = data[: len(data) - 25]  # record 3 cut mid-line
    glued = torn + (json.dumps(record(4)) + "\n").encode() + (json.dumps(record(5)) + "\n").encode()
    (tmp_path / LOG).write_bytes(glued)
    assert [r["sample"] for r in read_log(tmp_path)] == [1, 2, 5]  # line 3 holds two records
    report = repair_log(tmp_path)
    assert [r["sample"] for r in read_log(tmp_path)] == [1, 2, 4, 5]
    assert report.salvaged == 1 and report.dropped == [(3, len(torn.split(b"\n")[-1]))]
    assert report.moved_to.read_bytes().startswith(b'{"sample": 3')


@pytest.mark.parametrize("line", [b"[1, 2]", b"\xff\xfe", b"", b"null", b'{"sample": 9'])
def test_hostile_lines_in_the_middle_are_moved_aside(tmp_path, line):
    data = write_records(tmp_path, 2)
    (tmp_path / LOG).write_bytes(data + line + b"\n" + (json.dumps(record(3)) + "\n").encode())
    assert [r["sample"] for r in read_log(tmp_path)] == [1, 2, 3]  # readers skip them
    report = repair_log(tmp_path)
    assert report.dropped == [(3, len(line))] and report.records == 3
    assert [r["sample"] for r in read_log(tmp_path)] == [1, 2, 3]
