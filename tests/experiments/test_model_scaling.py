"""The LLM-size study: runs read on both clocks, grouped by model, the better model named."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from discoverygym.experiments.cli import app
from discoverygym.experiments.model_scaling import read_run, summarise, write_report


def fake_run(path, llm, seed, improvements, samples=100, elapsed=600.0, seed_gap=4.0, start=1_000.0):
    """An evolve run folder: `improvements` are (sample, seconds since start, validation gap)."""
    path.mkdir(parents=True)
    at = {sample: (seconds, gap) for sample, seconds, gap in improvements}
    rows = []
    for sample in range(1, samples + 1):
        seconds = elapsed * sample / samples
        row = {"sample": sample, "time": start + seconds, "ok": sample % 3 != 0, "score": -5.0}
        if sample in at:
            row.update(ok=True, time=start + at[sample][0], validation=-at[sample][1], score=-at[sample][1])
        rows.append(row)
    rows.sort(key=lambda r: r["time"])
    best = seed_gap  # the search marks a sample `improved` when its validation beats the best
    for row in rows:
        if "validation" in row and -row["validation"] < best:
            row["improved"], best = True, -row["validation"]
    (path / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (path / "checkpoint.json").write_text(json.dumps({
        "game": "binpacking", "llm": llm, "elapsed_s": elapsed, "config": {"seed": seed},
        "stats": {"seed_validation": -seed_gap, "seed_train": -seed_gap, "elapsed_s": elapsed}}))
    return path


def test_read_run_builds_the_best_so_far_curve_from_the_seed(tmp_path):
    run = read_run(fake_run(tmp_path / "r", "small", 0, [(10, 60.0, 3.0), (20, 120.0, 3.5), (50, 300.0, 1.0)]))
    assert run.llm == "small" and run.seed == 0 and run.total_samples == 100
    # The seed's gap at 0; a worse validation (3.5 after 3.0) is not a step.
    np.testing.assert_allclose(run.gap, [4.0, 3.0, 1.0])
    np.testing.assert_allclose(run.seconds, [0.0, 60.0, 300.0])
    np.testing.assert_allclose(run.at(np.array([0.0, 59.0, 60.0, 299.0, 600.0, 601.0]), "seconds"),
                               [4.0, 4.0, 3.0, 3.0, 1.0, np.nan])
    np.testing.assert_allclose(run.at(np.array([9.0, 10.0, 50.0]), "samples"), [4.0, 3.0, 1.0])
    # Train: 3.5 at sample 20 is no step either (3.0 came first); valid programs every 3rd miss.
    assert run.train_at(100.0) == 3.0 and run.train_at(400.0) == 1.0
    assert run.valid == 67 and run.distinct == 67


def test_the_report_names_the_model_better_at_equal_wall_clock(tmp_path):
    runs = []
    for seed in range(3):  # "fast" improves early on every seed, "slow" late on one only
        runs.append(read_run(fake_run(tmp_path / f"fast{seed}", "fast", seed,
                                      [(5, 30.0 + seed, 2.0 - 0.1 * seed), (40, 200.0, 1.2)])))
        improvements = [(3, 500.0, 0.5)] if seed == 0 else []
        runs.append(read_run(fake_run(tmp_path / f"slow{seed}", "slow", seed, improvements, samples=20)))
    summaries, budget = summarise(runs)
    assert [s.llm for s in summaries] == ["fast", "slow"] and budget["seconds"] == 600.0
    fast, slow = summaries
    assert fast.samples_per_hour == pytest.approx(600.0) and slow.samples_per_hour == pytest.approx(120.0)
    assert np.nanmax(fast.median["seconds"]) == 4.0 and fast.median["seconds"][-1] == pytest.approx(1.2)
    assert slow.median["seconds"][-1] == 4.0 and slow.low["seconds"][-1] == 0.5
    result = write_report(runs, tmp_path / "out")
    assert "fast has the lowest median" in result["reading"]
    assert "the best single run is slow's (0.50 %)" in result["reading"]
    assert "fast has the lowest worst seed" in result["reading"]
    assert (tmp_path / "out" / "models.png").read_bytes()[:4] == b"\x89PNG"
    assert "| fast | 3 |" in (tmp_path / "out" / "models.md").read_text()
    # On the way: at 400 s fast has made both steps and slow none; at 20 samples (slow's
    # total) fast has made only its first step, slow's seed 0 its only one.
    trend = result["trend"]
    assert trend["minutes"] == pytest.approx([200 / 60, 400 / 60, 10.0]) and trend["samples"] == 20
    assert trend["models"]["fast"][1] == {"median": 1.2, "min": 1.2, "max": 1.2}
    assert trend["models"]["slow"][1] == {"median": 4.0, "min": 4.0, "max": 4.0}
    assert trend["models"]["fast"][3] == pytest.approx({"median": 1.9, "min": 1.8, "max": 2.0})
    assert trend["models"]["slow"][3] == {"median": 4.0, "min": 0.5, "max": 4.0}
    assert "| slow | 4.00 [4.00, 4.00] | 4.00 [4.00, 4.00] | 4.00 [0.50, 4.00] | 4.00 [0.50, 4.00] |" in (
        tmp_path / "out" / "models.md").read_text()


def test_runs_of_different_games_or_folders_without_a_run_are_refused(tmp_path):
    with pytest.raises(ValueError, match="checkpoint.json is missing"):
        read_run(tmp_path)
    a = read_run(fake_run(tmp_path / "a", "m", 0, []))
    b = read_run(fake_run(tmp_path / "b", "m", 1, []))
    b.game = "jobshop"
    with pytest.raises(ValueError, match="different games"):
        summarise([a, b])


def test_cli_writes_the_model_report_without_training(tmp_path):
    runs = [fake_run(tmp_path / f"r{i}", "m", i, [(10, 60.0, 3.0)]) for i in range(2)]
    args = ["scaling", "--out", str(tmp_path / "out")]
    for run in runs:
        args += ["--evolve-run", str(run)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "models.md").exists() and not (tmp_path / "out" / "scaling.json").exists()
    bad = CliRunner().invoke(app, ["scaling", "--out", str(tmp_path / "o2"), "--evolve-run", str(tmp_path)])
    assert bad.exit_code == 2 and "not an evolve run folder" in " ".join(bad.output.split())


def test_a_budget_where_nothing_improves_is_read_as_throughput_only(tmp_path):
    runs = [read_run(fake_run(tmp_path / f"{llm}{seed}", llm, seed, [], samples=samples))
            for llm, samples in (("big", 20), ("small", 90)) for seed in range(2)]
    result = write_report(runs, tmp_path / "out")
    assert "no run of any model improved" in result["reading"] and "small wrote the most" in result["reading"]
