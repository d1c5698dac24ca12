"""Bin packing heuristics played through the gym env: same bins as the evaluator (priority
heuristics) or as plain-Python reference implementations (stateful ones), in both modes."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discoverygym.agents.base import Agent, run_episode
from discoverygym.agents.heuristics import BinPackingPriorityAgent, make_binpacking_agent
from discoverygym.agents.heuristics.binpacking import (
    BINPACKING_AGENTS,
    HarmonicK,
    PriorityAgent,
    SumOfSquares,
    best_fit_priority,
    first_fit_priority,
    make_agent,
    worst_fit_priority,
)
from discoverygym.envs.binpacking import Instance, check_packing, evaluate_priority, load_dataset
from discoverygym.envs.binpacking.env import OnlineBinPackingEnv

DATASETS = ["or1", "t60", "weibull-400:seed=3,count=3"]


def play(agent: Agent, dataset: str, observation: str) -> list[int]:
    env = OnlineBinPackingEnv(dataset=dataset, observation=observation)
    bins = []
    for inst in env.dataset:
        result = run_episode(env, agent, options={"instance": inst.name})
        info = result.final_info
        assert (
            check_packing(inst.items, inst.capacity, info["assignment"]).num_bins
            == info["bins_used"]
        )
        assert result.total_reward == -info["bins_used"] and result.steps == inst.num_items
        bins.append(info["bins_used"])
    return bins


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize(
    "agent, priority, modes",
    [
        ("first_fit", first_fit_priority, ["bins"]),
        ("best_fit", best_fit_priority, ["histogram", "bins"]),
        ("worst_fit", worst_fit_priority, ["histogram", "bins"]),
    ],
)
def test_gym_played_heuristics_match_the_evaluator(
    agent: str, priority, modes: list[str], dataset: str
) -> None:
    expected = evaluate_priority(priority, load_dataset(dataset)).bins_per_instance.tolist()
    for mode in modes:
        assert play(make_agent(agent), dataset, mode) == expected, mode


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("priority", [best_fit_priority, worst_fit_priority, first_fit_priority])
def test_priority_agent_matches_the_evaluator(priority, dataset: str) -> None:
    expected = evaluate_priority(priority, load_dataset(dataset)).bins_per_instance.tolist()
    assert play(PriorityAgent(priority), dataset, "bins") == expected


def test_table_1_through_the_env() -> None:
    bins = play(make_agent("best_fit"), "weibull5k", "histogram")
    l1 = [2012, 1983, 1978, 1986, 1980]  # weibull_5k_bounds.csv
    assert round(100 * (np.mean(bins) - np.mean(l1)) / np.mean(l1), 2) == 3.98


# ----------------------------------------------------------------- plain-Python references


def next_fit_ref(sizes: list[int], capacity: int) -> int:
    bins, current = 0, None
    for s in sizes:
        if current is not None and current >= s:
            current -= s
        else:
            bins, current = bins + 1, capacity - s
    return bins


def harmonic_ref(sizes: list[int], capacity: int, k: int) -> int:
    bins, current = 0, {}
    for s in sizes:
        cls = k
        for i in range(1, k):
            if capacity / (i + 1) < s <= capacity / i:
                cls = i
        if current.get(cls, -1) >= s:
            current[cls] -= s
        else:
            bins, current[cls] = bins + 1, capacity - s
    return bins


def sum_of_squares_ref(sizes: list[int], capacity: int) -> int:
    gaps: list[int] = []

    def cost(g: list[int]) -> int:
        return sum(v * v for level, v in Counter(g).items() if 0 < level < capacity)

    for s in sizes:
        options = sorted({g for g in gaps if g >= s})
        best, best_cost = None, cost(gaps + [capacity - s])
        for g in options:  # smallest gap first; an existing bin wins ties with a new one
            trial = list(gaps)
            trial[trial.index(g)] = g - s
            c = cost(trial)
            if c < best_cost or (c == best_cost and best is None):
                best, best_cost = g, c
        if best is None:
            gaps.append(capacity - s)
        else:
            gaps[gaps.index(best)] = best - s
    return len(gaps)


REFERENCES = {
    "next_fit": next_fit_ref,
    "harmonic_6": lambda sizes, capacity: harmonic_ref(sizes, capacity, 6),
    "sum_of_squares": sum_of_squares_ref,
}


@pytest.mark.parametrize("agent", list(REFERENCES))
@pytest.mark.parametrize("dataset", ["or1", "t60"])
def test_stateful_heuristics_match_references_in_both_modes(agent: str, dataset: str) -> None:
    data = load_dataset(dataset)
    expected = [REFERENCES[agent](inst.sizes.tolist(), inst.grid_capacity) for inst in list(data)]
    for mode in ("histogram", "bins"):
        assert play(make_agent(agent), dataset, mode) == expected, mode


@settings(max_examples=25)
@given(
    st.integers(3, 40).flatmap(
        lambda c: st.tuples(st.just(c), st.lists(st.integers(1, c), min_size=1, max_size=40))
    )
)
def test_every_heuristic_is_valid_and_mode_independent(case) -> None:
    capacity, sizes = case
    inst = Instance.from_items("h", capacity, sizes)
    for name in BINPACKING_AGENTS:
        counts = []
        for mode in make_agent(name).modes:
            env = OnlineBinPackingEnv(instance=inst, observation=mode)
            info = run_episode(env, make_agent(name)).final_info
            check_packing(sizes, capacity, info["assignment"])
            assert not info["illegal_action"]
            counts.append(info["bins_used"])
        assert len(set(counts)) == 1, name
        if name in REFERENCES:
            assert counts[0] == REFERENCES[name](sizes, capacity)


def test_sum_of_squares_beats_best_fit_on_weibull() -> None:
    # Csirik et al.: SS is near-optimal on discrete distributions; a property, not a number.
    dataset = "weibull-2000:seed=5,count=2"
    assert sum(play(SumOfSquares(), dataset, "histogram")) < sum(
        play(make_agent("best_fit"), dataset, "histogram")
    )


def test_agents_follow_the_protocol_and_reject_unsupported_modes() -> None:
    for name in BINPACKING_AGENTS:
        agent = make_agent(name)
        assert isinstance(agent, Agent) and agent.name == name and agent.family == "heuristic"
    env = OnlineBinPackingEnv(dataset="or1", observation="histogram")
    obs, info = env.reset(seed=0)
    for agent in (make_agent("first_fit"), PriorityAgent(best_fit_priority)):
        with pytest.raises(ValueError, match="observation='bins'"):
            agent.act(obs, info)
    with pytest.raises(KeyError, match="known: first_fit, best_fit"):
        make_agent("bestfit")
    with pytest.raises(ValueError, match="k must be an integer >= 1, got 0"):
        HarmonicK(0)
    with pytest.raises(TypeError, match="callable"):
        PriorityAgent(3)
    assert BinPackingPriorityAgent is PriorityAgent and make_binpacking_agent is make_agent


def test_priority_agent_reports_bad_output() -> None:
    env = OnlineBinPackingEnv(dataset="or1", observation="bins")
    obs, info = env.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        PriorityAgent(lambda item, bins: np.zeros(2)).act(obs, info)
    with pytest.raises(ValueError, match="NaN for item 0"):
        PriorityAgent(lambda item, bins: np.full(bins.shape, np.nan)).act(obs, info)
