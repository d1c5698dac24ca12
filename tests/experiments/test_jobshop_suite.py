"""The job-shop suite and benchmark: records with checked schedules, known-name errors, smoke bench."""

from __future__ import annotations

import pytest

from discoverygym.experiments.suites import get_suite


def test_suite_records_and_names() -> None:
    suite = get_suite("jobshop")
    assert suite.env_id == "discoverygym/JobShop-v0"
    assert suite.datasets() == ["ft06", "ft10", "la-10x10", "taillard-15x15"]
    assert suite.datasets(full=True)[:3] == ["ft", "la", "taillard-15x15"] and len(suite.datasets(full=True)) == 10
    assert {"spt", "lpt", "mwkr", "lwkr", "mopnr", "fifo", "random", "cpsat", "ppo_jobshop"} <= set(suite.agent_names())
    (record,) = suite.evaluate("mwkr", "ft06")
    assert (record.game, record.dataset, record.agent, record.family, record.metric) == (
        "jobshop", "ft06", "mwkr", "heuristic", "gap_pct"
    )
    assert record.bound == 55 and record.value == record.gap and record.gap >= 0
    (limit,) = suite.evaluate("cpsat", "ft06")
    assert limit.family == "limit" and limit.gap == 0.0
    with pytest.raises(KeyError, match="mwkr"):
        suite.evaluate("mwr", "ft06")
    with pytest.raises(KeyError, match="taillard-15x15"):
        suite.evaluate("spt", "taillard-15x16")


def test_bench_quick_prints_ratios(capsys: pytest.CaptureFixture[str]) -> None:
    from discoverygym.experiments.bench import jobshop

    jobshop.run(quick=True)
    out = capsys.readouterr().out
    assert "plain Python dispatch loop" in out and "1.00x" in out


def test_generated_sets_and_the_shipped_rl_model() -> None:
    suite = get_suite("jobshop")
    (rule,) = suite.evaluate("mwkr", "random-8x4:seed=3,n=2")
    assert rule.dataset == "random-8x4:seed=3,n=2" and rule.gap >= 0
    (rl,) = suite.evaluate("ppo_jobshop", "ft06")
    assert rl.family == "rl" and rl.bound == 55 and rl.compute["env_steps"] > 0


def test_rollouts_are_played_on_request_only() -> None:
    """The rollouts (`rollout_mwkr`, `rollout_evolved`, `rollout_evolved2`) are evaluated when
    named (checked schedules) but are not in `compare`'s list: their cost is quadratic in the
    instance size."""
    from discoverygym.experiments.suites.jobshop import ON_REQUEST, SUITE

    assert set(ON_REQUEST) == {"rollout_mwkr", "rollout_evolved", "rollout_evolved2"}
    assert not set(ON_REQUEST) & set(SUITE.agent_names())
    (rollout,) = SUITE.evaluate("rollout_mwkr", "ft06")
    (mwkr,) = SUITE.evaluate("mwkr", "ft06")
    assert rollout.family == "heuristic" and 0 <= rollout.gap <= mwkr.gap
    with pytest.raises(KeyError, match="known: spt, .*, rollout_mwkr, rollout_evolved, rollout_evolved2"):
        SUITE.make_agent("rollout_spt")
