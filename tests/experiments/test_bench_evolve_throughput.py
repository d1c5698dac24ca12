"""The evolution throughput benchmark's count of distinct valid programs, from a run's log."""

from __future__ import annotations

import json

from discoverygym.agents.evolution.samplelog import SampleLog
from discoverygym.experiments.bench.evolve_throughput import log_summary, signature


def test_distinct_programs_are_new_valid_behaviours_in_sample_order(tmp_path):
    log = SampleLog(tmp_path)
    a, b = {"x": -4.0, "y": -3.0}, {"x": -4.0, "y": -2.5}
    for record in [
        {"sample": 3, "ok": True, "score": -3.5, "scores": a},  # the same behaviour as sample 1
        {"sample": 1, "ok": True, "score": -3.5, "scores": a},
        {"sample": 2, "ok": False, "score": None, "error": "NaN", "scores": None},
        {"sample": 4, "ok": True, "score": -3.25, "scores": b},
        {"sample": 5, "ok": False, "score": None, "duplicate": True},
        {"sample": 6, "ok": True, "score": -3.25, "scores": {"y": -2.5 + 1e-13, "x": -4.0}},
    ]:
        log.append(record)
    (tmp_path / "checkpoint.json").write_text(json.dumps(
        {"stats": {"elapsed_s": 1800.0, "best_validation": -3.1, "seed_validation": -3.4}}))
    summary = log_summary(tmp_path)
    assert summary == {"samples": 6, "valid": 4, "distinct": 2, "seconds": 1800.0,
                       "best_validation": -3.1, "seed_validation": -3.4}
    assert signature({"y": 1.0, "x": 2.0}) == (("x", 2.0), ("y", 1.0))
