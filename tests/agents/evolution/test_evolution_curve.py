"""The progress curve read back from a run's log."""

from __future__ import annotations

import json

import pytest

from discoverygym.agents.evolution.curve import plot_curve, progress_curve, valid_fraction_by_window


def write_log(run_dir, rows):
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "samples.jsonl", "w") as handle:
        for index, row in enumerate(rows, start=1):
            handle.write(json.dumps({"sample": index, "time": 100.0 + index, **row}) + "\n")
        handle.write('{"sample": 99, "ti')  # a torn last line (killed mid-write) is skipped


ROWS = [
    {"ok": True, "score": -4.0, "improved": True, "validation": -4.1},
    {"ok": False, "score": None, "error": "NaN"},
    {"ok": True, "score": -4.2},
    {"ok": True, "score": -3.9, "validation": -4.2},  # better on train, not on validation
    {"ok": True, "score": -3.5, "improved": True, "validation": -3.6},
    {"ok": False, "duplicate": True},
]


def test_curve_steps_at_improvements(tmp_path):
    write_log(tmp_path, ROWS)
    points = progress_curve(tmp_path)
    assert [(p["sample"], p["best_train"], p["best_validation"]) for p in points] == [
        (1, -4.0, -4.1), (4, -3.9, -4.1), (5, -3.5, -3.6), (6, -3.5, -3.6)]
    assert points[-1]["seconds"] == 5.0
    assert valid_fraction_by_window(tmp_path, window=4) == [(4, 0.75), (6, 0.5)]
    # From the seed: the curve starts at its scores; a sample worse than it is no step.
    seeded = progress_curve(tmp_path, seed={"train": -4.05, "validation": -4.2})
    assert [(p["sample"], p["best_train"], p["best_validation"]) for p in seeded] == [
        (0, -4.05, -4.2), (1, -4.0, -4.1), (4, -3.9, -4.1), (5, -3.5, -3.6), (6, -3.5, -3.6)]
    above_all = progress_curve(tmp_path, seed={"train": -3.0})
    assert [p["best_train"] for p in above_all] == [-3.0] * 4
    assert [p["sample"] for p in above_all] == [0, 1, 5, 6]  # validation steps only


def test_plot_and_empty_log(tmp_path):
    write_log(tmp_path / "run", ROWS)
    out = plot_curve(tmp_path / "run", tmp_path / "curve.png",
                     seed_scores={"train": -4.0, "validation": None})
    assert out.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="no samples"):
        progress_curve(tmp_path / "empty")
