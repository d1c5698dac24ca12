"""The scaling study: power-law fits recover known exponents; the tiny study runs end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from discoverygym.experiments.scaling import (
    evolution_curve,
    fit_power_law,
    reading,
    run_scaling,
    tiny_grids,
)


@given(a=st.floats(1.0, 50.0), b=st.floats(-1.0, 1.0), noise=st.floats(0.0, 0.05))
def test_fit_recovers_the_exponent(a: float, b: float, noise: float) -> None:
    x = np.geomspace(2, 200, 12)  # gaps stay above the log-axis floor
    y = a * x ** (-b) * np.exp(np.random.default_rng(0).normal(0, noise, x.size))
    law = fit_power_law(x, y, resamples=300)
    assert abs(law.b - b) < 0.05
    assert law.b_low - 1e-9 <= law.b <= law.b_high + 1e-9


def test_fit_needs_three_distinct_points() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        fit_power_law([1.0, 1.0, 1.0], [2.0, 3.0, 4.0])


def test_reading_says_when_there_is_no_trend() -> None:
    flat = fit_power_law(np.geomspace(1, 100, 8), [3, 3.1, 2.9, 3, 3.05, 2.95, 3, 3.02])
    assert "No reliable trend" in reading(flat, "steps")
    steep = fit_power_law(np.geomspace(1, 100, 8), 10 * np.geomspace(1, 100, 8) ** -0.5)
    assert "divides the gap by about 1.41" in reading(steep, "steps")


def test_evolution_curve_is_the_best_so_far_at_each_improvement(tmp_path: Path) -> None:
    rows = [{"ok": True, "score": -5.0, "validation": -5.5}, {"ok": False, "score": None},
            {"ok": True, "score": -4.0}, {"ok": True, "score": -4.5, "validation": -4.2}]
    log = tmp_path / "samples.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in rows))
    x, gap = evolution_curve(log)  # the improvements (and the last sample)
    assert x.tolist() == [1, 4] and gap.tolist() == [5.5, 4.2]
    x, gap = evolution_curve(log, split="train")
    assert x.tolist() == [1, 3, 4] and gap.tolist() == [5.0, 4.0, 4.0]


def test_tiny_study_end_to_end(tmp_path: Path) -> None:
    log = tmp_path / "run" / "samples.jsonl"
    log.parent.mkdir()
    log.write_text("".join(json.dumps({"ok": True, "score": -s, "validation": -s}) + "\n" for s in (5, 4, 3, 2.5)))
    results = run_scaling(tmp_path / "out", tiny_grids(["binpacking"]), evolve_logs=[log])
    assert len(results["rl"]) == 4 and {p["width"] for p in results["rl"]} == {8, 32}
    assert all(p["cpu_seconds"] > 0 and np.isfinite(p["gap"]) for p in results["rl"])
    assert "binpacking/all" in results["fits"] and "evolution/run" in results["fits"]
    report = (tmp_path / "out" / "scaling.md").read_text()
    assert "## RL on binpacking" in report and "exponent b" in report
    assert (tmp_path / "out" / "scaling.png").read_bytes()[:4] == b"\x89PNG"


def test_reuse_reanalyses_without_training(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    points = [{"game": "binpacking", "width": w, "steps": s, "cpu_seconds": float(s) / 100, "gap": 10.0 * s ** -0.3}
              for w in (8, 32) for s in (1_000, 4_000, 16_000)]
    (out / "scaling.json").write_text(json.dumps({"rl": points, "seconds": 12.0}))
    results = run_scaling(out, tiny_grids(["binpacking"]), reuse=True)
    assert results["rl"] == points and abs(results["fits"]["binpacking/all"]["b"] - 0.3) < 1e-6
    assert not (out / "runs").exists(), "nothing was trained"
