"""The bin packing suite, `discoverygym evaluate` / `compare` on it, and the benchmark smoke test."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from discoverygym.experiments.bench import binpacking as bench
from discoverygym.experiments.cli import app
from discoverygym.experiments.suites import get_suite, shipped_agents
from discoverygym.experiments.suites.binpacking import SUITE

DEFAULT_DATASETS, FULL_DATASETS = list(SUITE.default_datasets), list(SUITE.full_datasets)


def test_suite_is_registered_with_documented_sets_and_agents() -> None:
    assert get_suite("binpacking") is SUITE and SUITE.env_id == "discoverygym/OnlineBinPacking-v0"
    assert SUITE.datasets() == DEFAULT_DATASETS == ["or1", "or2", "or3", "or4", "weibull5k"]
    assert set(DEFAULT_DATASETS) < set(SUITE.datasets(full=True)) == set(FULL_DATASETS)
    assert {"t60", "weibull-10k:seed=0", "weibull-100k:seed=0"} <= set(FULL_DATASETS)
    assert SUITE.agent_names()[:8] == [
        "first_fit",
        "best_fit",
        "worst_fit",
        "next_fit",
        "harmonic_6",
        "sum_of_squares",
        "rollout_best_fit",
        "limit",
    ]
    assert set(SUITE.agent_names()[8:]) == set(shipped_agents("binpacking"))
    assert "ppo_binpacking" in SUITE.agent_names()  # the shipped RL model


def test_shipped_rl_and_evolved_agents_score_like_the_heuristics() -> None:
    (rl,) = SUITE.evaluate("ppo_binpacking", "or1")
    assert (rl.family, rl.metric, rl.dataset) == ("rl", "excess_pct", "or1")
    assert rl.compute["env_steps"] > 0 and rl.compute["cpu_seconds"] > 0
    (best_fit,) = SUITE.evaluate("best_fit", "or1")
    assert rl.bound == best_fit.bound
    evolved = [name for name in SUITE.agent_names() if name.startswith("evolved:")]
    assert evolved, "an evolved program is shipped"
    (record,) = SUITE.evaluate(evolved[0], "or1")
    assert record.family == "evolved" and record.compute["llm_samples"] > 0


def test_records_reproduce_table_1_and_the_limit() -> None:
    (best,) = SUITE.evaluate("best_fit", "or1")
    assert (best.game, best.dataset, best.agent, best.family, best.metric) == (
        "binpacking",
        "or1",
        "best_fit",
        "heuristic",
        "excess_pct",
    )
    assert (
        round(best.value, 2) == 5.81
        and best.gap == best.value
        and best.bound == pytest.approx(49.05)
    )
    assert best.seconds > 0
    (limit,) = SUITE.evaluate("limit", "or2")
    # mean optimum 101.60 against mean L1 101.55 (shared/data/README.md)
    assert limit.family == "limit" and limit.value == pytest.approx(100 * 0.05 / 101.55)


def test_unknown_names_list_the_known_ones() -> None:
    with pytest.raises(KeyError, match="known: first_fit"):
        SUITE.evaluate("random", "or1")
    with pytest.raises(KeyError, match="Known: or1"):
        SUITE.evaluate("best_fit", "or9")


def test_cli_evaluate_prints_the_table() -> None:
    out = CliRunner().invoke(
        app,
        [
            "evaluate",
            "--game",
            "binpacking",
            "--agent",
            "first_fit",
            "--dataset",
            "or1",
            "--dataset",
            "t60",
        ],
    )
    assert out.exit_code == 0, out.output
    assert "6.42" in out.output and "t60" in out.output
    bad = CliRunner().invoke(
        app, ["evaluate", "--game", "binpacking", "--agent", "first_fit", "--dataset", "or7"]
    )
    assert bad.exit_code != 0 and "or7" in bad.output


def test_cli_compare_on_binpacking(tmp_path: Path) -> None:
    out = CliRunner().invoke(
        app,
        [
            "compare",
            "--game",
            "binpacking",
            "--agent",
            "best_fit",
            "--agent",
            "limit",
            "--out",
            str(tmp_path),
        ],
    )
    assert out.exit_code == 0, out.output
    with (tmp_path / "summary.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["dataset"], r["agent"]) for r in rows} == {
        (d, a) for d in DEFAULT_DATASETS for a in ("best_fit", "limit")
    }
    weibull = next(r for r in rows if r["dataset"] == "weibull5k" and r["agent"] == "best_fit")
    assert round(float(weibull["value"]), 2) == 3.98
    assert (tmp_path / "binpacking.png").exists() and "| weibull5k |" in (
        tmp_path / "report.md"
    ).read_text()


def test_bench_quick_prints_every_figure_with_its_ratio(capsys: pytest.CaptureFixture[str]) -> None:
    bench.run(quick=True)
    out = capsys.readouterr().out
    for label in (
        "histogram obs",
        "bins obs",
        "evaluate_priority",
        "FunSearch notebook loop",
        "ratio",
    ):
        assert label in out
