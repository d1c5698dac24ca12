"""Cap set agents: FunSearch's priority greedy (2^n with the constant priority), random
greedy, and the limit replaying FunSearch's 512-vector set."""

from __future__ import annotations

import numpy as np
import pytest
from discoverygym.agents.base import run_episode
from discoverygym.agents.heuristics.capset import (
    KnownCapSetAgent,
    PriorityAgent,
    RandomGreedy,
    make_agent,
)
from discoverygym.envs.capset.checker import verify
from discoverygym.envs.capset.construction import greedy_cap_set
from discoverygym.envs.capset.env import CapSetEnv


@pytest.mark.parametrize("n", [3, 4, 5, 6, 7, 8])
def test_constant_priority_gives_two_to_the_n_in_the_env(n) -> None:
    result = run_episode(CapSetEnv(n=n), PriorityAgent(), seed=0)
    assert result.total_reward == result.steps == 2**n
    assert verify(n, result.final_info["cap_set"]) == 2**n


def test_priority_agent_plays_the_construction_of_its_priority() -> None:
    weights = np.random.default_rng(0).normal(size=5)

    def priority(el, n):
        return float(np.dot(weights[:n], el) + 0.1 * el.count(1))

    agent = PriorityAgent(priority, name="mine")
    for n in (3, 5):
        info = run_episode(CapSetEnv(n=n), agent).final_info
        assert np.array_equal(info["cap_set"], greedy_cap_set(n, priority))
    assert set(agent._cache) == {3, 5}  # priorities computed once per n


def test_random_greedy_is_seeded_and_maximal() -> None:
    def play(seed):
        return run_episode(CapSetEnv(n=5), RandomGreedy(seed)).final_info["cap_set"]

    assert np.array_equal(play(1), play(1))
    assert not np.array_equal(play(1), play(2))
    sizes = [len(play(s)) for s in range(5)]
    assert all(verify(5, play(s)) == size for s, size in enumerate(sizes))
    assert max(sizes) <= 45


def test_limit_replays_funsearch_set() -> None:
    agent = KnownCapSetAgent(8)
    result = run_episode(CapSetEnv(n=8), agent)
    assert result.total_reward == 512 and result.final_info["gap_pct"] == 0.0
    assert agent.family == "limit"
    result = run_episode(CapSetEnv(n=8), agent)  # reset() starts over
    assert result.steps == 512
    with pytest.raises(KeyError, match=r"no cap set is shipped for n = 5; shipped: n = \[8\]"):
        KnownCapSetAgent(5)
    with pytest.raises(ValueError, match="plays n = 8, the env has n = 7"):
        run_episode(CapSetEnv(n=7), agent)


def test_make_agent() -> None:
    assert make_agent("greedy").name == "greedy"
    assert isinstance(make_agent("random", seed=3), RandomGreedy)
    with pytest.raises(KeyError, match="known: greedy, random"):
        make_agent("best_fit")


def test_acting_with_no_legal_vector_raises() -> None:
    with pytest.raises(RuntimeError, match="no legal vector"):
        PriorityAgent().act(None, {"action_mask": np.zeros(27, dtype=np.int8), "n": 3})


def test_neg_inf_priorities_come_last_in_the_env() -> None:
    """The construction never adds a vector of priority -inf; the game goes on while any vector
    is legal, so the agent adds them last, after the construction's set."""

    def priority(el, n):
        return float("-inf") if el[0] == 0 else -float(sum(el))

    construction = greedy_cap_set(3, priority)
    played = run_episode(CapSetEnv(n=3), PriorityAgent(priority)).final_info["cap_set"]
    assert np.array_equal(played[: len(construction)], construction)
    assert all(v[0] == 0 for v in played[len(construction) :].tolist())
    assert verify(3, played) == len(played)
