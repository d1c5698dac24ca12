"""The cap set suite (evaluate/compare rows) and the cap set benchmark (smoke)."""

from __future__ import annotations

import pytest
from discoverygym.envs.capset.datasets import parse_dataset
from discoverygym.experiments.bench import capset as bench
from discoverygym.experiments.suites import GAMES, get_suite
from discoverygym.experiments.suites.capset import SUITE


def test_suite_lists() -> None:
    assert "capset" in GAMES and get_suite("capset") is SUITE
    assert SUITE.datasets() == ["n3", "n4", "n5", "n6", "n7", "n8"]
    assert SUITE.datasets(full=True)[-1] == "n9"
    assert SUITE.agent_names()[:3] == ["greedy", "random", "limit"]
    assert parse_dataset("n8") == 8


@pytest.mark.parametrize(("dataset", "best"), [("n3", 9), ("n6", 112), ("n8", 512)])
def test_every_agent_scores_size_next_to_best_known(dataset, best) -> None:
    n = int(dataset[1:])
    records = {a: SUITE.evaluate(a, dataset)[0] for a in ("greedy", "random", "limit")}
    for record in records.values():
        assert (record.game, record.metric, record.bound) == ("capset", "size", best)
        assert record.gap == pytest.approx(100 * (best - record.value) / best)
    assert records["greedy"].value == 2**n and records["greedy"].family == "heuristic"
    assert records["limit"].value == best and records["limit"].gap == 0.0
    assert records["limit"].family == "limit"
    assert 2 ** (n - 1) < records["random"].value <= best


def test_unknown_names_list_the_known_ones() -> None:
    with pytest.raises(KeyError, match="greedy, random, limit"):
        SUITE.evaluate("first_fit", "n3")
    for bad in ("n10", "8", "n0", "3x3"):
        with pytest.raises(KeyError, match="n1, n2, n3"):
            SUITE.evaluate("greedy", bad)


def test_bench_quick_smoke(capsys) -> None:
    bench.run(quick=True)
    out = capsys.readouterr().out
    assert out.count("steps/s") >= 2 and "naive" in out
    assert bench.naive_episode(3) == 8  # the pure-Python reference plays the same game
