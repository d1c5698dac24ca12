"""Resume after a torn log: the torn line is repaired, never appended to, and the log's records
and the checkpoint's counts agree; run folders and files are private."""

from __future__ import annotations

import json
import shutil
import stat
import sys
import tempfile
from pathlib import Path

import pytest
from discoverygym.agents.evolution import ScriptedBackend, run_evolution
from discoverygym.agents.evolution.checkpoint import load_checkpoint
from discoverygym.agents.evolution.samplelog import LOG, MAX_ERROR_CHARS, read_log
from hypothesis import given, settings
from hypothesis import strategies as st

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import evolve_worker  # noqa: E402 - after the sys.path insert above

UNPARSABLE = "    return (bins +\n"  # logged without an evaluation: keeps the property test fast


def completion(prompt: str, _counter=[0]) -> str:  # noqa: B006 - deliberate call counter
    _counter[0] += 1
    k = _counter[0]
    if k % 3 == 0:
        return "    raise ValueError('" + "printed by the candidate " * 40 + "')\n"
    return f"    return -(bins - item) + {k} * 1e-3 * bins\n"


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A real six-sample run (sandboxed evaluations), copied by each test before it is torn."""
    run_dir = tmp_path_factory.mktemp("base") / "run"
    run_evolution("binpacking", ScriptedBackend(completion), run_dir, samples=6,
                  config=evolve_worker.config(evaluate_test=False))
    return run_dir


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def check_agreement(run_dir: Path, expected: int) -> dict:
    """Every line is one record, ids are unique, and the checkpoint counts what the log holds."""
    lines = (run_dir / LOG).read_bytes().split(b"\n")
    assert lines.pop() == b""
    records = [json.loads(line) for line in lines]
    assert all(isinstance(r, dict) for r in records)
    ids = [r["sample"] for r in records]
    assert len(ids) == len(set(ids)) == expected
    state = load_checkpoint(run_dir)
    assert state["log_lines"] == state["stats"]["samples"] == expected
    assert state["stats"]["valid"] == sum(bool(r["ok"]) for r in records)
    assert state["stats"]["duplicates"] == sum(r.get("duplicate") is True for r in records)
    assert state["stats"]["behavioural_duplicates"] == sum(
        r.get("duplicate") == "behaviour" for r in records)
    failures = [r["failure"] for r in records if r.get("failure")]
    assert state["stats"]["failures"] == {kind: failures.count(kind) for kind in set(failures)}
    return state


def test_the_run_is_private_and_errors_are_truncated(finished_run):
    check_agreement(finished_run, 6)
    assert mode(finished_run) == 0o700
    files = [finished_run / LOG, finished_run / "checkpoint.json", finished_run / "best.py",
             *(finished_run / "programs").iterdir()]
    assert all(mode(path) == 0o600 for path in files), {str(p): oct(mode(p)) for p in files}
    assert mode(finished_run / "programs") == 0o700
    errors = [r["error"] for r in read_log(finished_run) if r["error"]]
    assert errors and all(len(e) <= MAX_ERROR_CHARS for e in errors)
    assert any(e.endswith(" chars]") for e in errors)  # the candidate printed more than that
    last_error = load_checkpoint(finished_run)["stats"]["last_error"]
    assert last_error is None or len(last_error) <= MAX_ERROR_CHARS


@settings(max_examples=12, deadline=None)
@given(draw=st.data())
def test_resume_after_a_torn_log_repairs_it_and_counts_agree(finished_run, draw):
    data = (finished_run / LOG).read_bytes()
    newlines = [i for i, byte in enumerate(data) if byte == ord("\n")]
    offset = draw.draw(st.integers(0, len(data) - 1) | st.sampled_from(newlines), label="offset")
    *complete, tail = data[:offset].split(b"\n")
    kept = len(complete) + (tail != b"" and data[offset:offset + 1] == b"\n")
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        shutil.copytree(finished_run, run_dir)
        (run_dir / LOG).write_bytes(data[:offset])
        with pytest.warns(RuntimeWarning) as warned:
            result = run_evolution("binpacking", ScriptedBackend([UNPARSABLE]), run_dir,
                                   samples=kept + 2, resume=True,
                                   config=evolve_worker.config(evaluate_test=False))
        messages = " ".join(str(w.message) for w in warned)
        assert f"checkpoint counted 6: {6 - kept} lost" in messages or kept == 6
        assert result.stats.samples == kept + 2
        check_agreement(run_dir, kept + 2)
        moved = list(run_dir.glob(f"{LOG}.damaged-*"))
        if tail and kept == len(complete):  # a torn fragment: moved aside, byte for byte
            assert [path.read_bytes() for path in moved] == [tail + b"\n"]
        else:
            assert moved == []


def test_resume_with_evaluations_after_a_torn_log(finished_run, tmp_path):
    """The reported fault: a torn last line, then more evaluated samples on --resume."""
    run_dir = tmp_path / "run"
    shutil.copytree(finished_run, run_dir)
    data = (run_dir / LOG).read_bytes()
    (run_dir / LOG).write_bytes(data[:-40])  # the last record cut mid-line
    (run_dir / LOG).chmod(0o644)
    run_dir.chmod(0o755)
    with pytest.warns(RuntimeWarning) as warned:
        result = run_evolution("binpacking", ScriptedBackend(completion), run_dir, samples=8,
                               resume=True, config=evolve_worker.config(evaluate_test=False))
    messages = [str(w.message) for w in warned]
    assert len(messages) == 2
    assert "repaired, 5 complete records kept; moved aside" in messages[0]
    assert "holds 5 records but the checkpoint counted 6: 1 lost" in messages[1]
    state = check_agreement(run_dir, 8)
    assert result.stats.samples == 8 and result.stats.valid == state["stats"]["valid"]
    assert mode(run_dir) == 0o700 and mode(run_dir / LOG) == 0o600
    # Resuming the repaired run again changes nothing and warns about nothing.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run_evolution("binpacking", ScriptedBackend([UNPARSABLE]), run_dir, samples=8,
                      resume=True, config=evolve_worker.config(evaluate_test=False))
    check_agreement(run_dir, 8)


def test_records_logged_after_the_checkpoint_are_counted_once(finished_run, tmp_path):
    """A log ahead of its checkpoint (killed between the two writes): replayed, not lost."""
    run_dir = tmp_path / "run"
    shutil.copytree(finished_run, run_dir)
    path = run_dir / "checkpoint.json"
    state = json.loads(path.read_text())
    state["log_lines"] -= 2
    state["stats"]["samples"] -= 2
    path.write_text(json.dumps(state))
    run_evolution("binpacking", ScriptedBackend([UNPARSABLE]), run_dir, samples=7,
                  resume=True, config=evolve_worker.config(evaluate_test=False))
    check_agreement(run_dir, 7)


@pytest.mark.parametrize("data", [b"[]", b"{", b"\xff", b"null"])
def test_a_hostile_checkpoint_is_refused_with_its_path(tmp_path, data):
    (tmp_path / "checkpoint.json").write_bytes(data)
    with pytest.raises(ValueError, match="checkpoint.json: corrupt checkpoint"):
        run_evolution("binpacking", ScriptedBackend([UNPARSABLE]), tmp_path, samples=1,
                      resume=True, config=evolve_worker.config(evaluate_test=False))
