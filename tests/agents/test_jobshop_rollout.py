"""Rollout over a dispatching rule (`jobshop_rollout`): the linear rules are the rules they name,
the rollout is never worse than its base rule, and every schedule passes the checker."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discoverygym.agents.base import run_episode
from discoverygym.agents.heuristics.jobshop import choose, rule_agent
from discoverygym.agents.heuristics.jobshop_rollout import (
    LINEAR_RULES,
    RolloutDispatcher,
    linear_rule,
    rule_weights,
)
from discoverygym.envs.jobshop.checker import check_schedule
from discoverygym.envs.jobshop.env import JobShopEnv
from discoverygym.envs.jobshop.instances import load_instance


class LinearAgent:
    """The base rule alone, as an agent (what the rollout's copies play)."""

    family = "heuristic"

    def __init__(self, rule: str) -> None:
        self.weights = rule_weights(rule)

    def reset(self) -> None:
        pass

    def act(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> int:
        return int(linear_rule(obs["jobs"][None], self.weights)[0])


def schedule(agent: Any, name: str) -> dict[str, Any]:
    return run_episode(JobShopEnv(instance=load_instance(name)), agent, seed=0).final_info


@given(seed=st.integers(0, 10**6), size=st.sampled_from([(4, 3), (6, 6), (8, 5)]))
@settings(max_examples=15, deadline=None)
def test_linear_mwkr_is_the_non_delay_mwkr_rule(seed: int, size: tuple[int, int]) -> None:
    name = f"random-{size[0]}x{size[1]}:seed={seed}"
    assert np.array_equal(schedule(LinearAgent("mwkr"), name)["starts"], schedule(rule_agent("mwkr"), name)["starts"])


@pytest.mark.parametrize(("rule", "program"), [("evolved", "evolved_jobshop_qwen05b_cont"),
                                               ("evolved2", "evolved_jobshop_qwen05b_cont2")])
def test_linear_evolved_is_the_shipped_evolved_program(rule: str, program: str) -> None:
    """`LINEAR_RULES["evolved"]` is `evolved_jobshop_qwen05b_cont.py` written as weights: along the
    program's own schedules, the linear rule's job always has the program's best score, up to
    float32 rounding (the program sums in float32, in its own order: near-ties may differ)."""
    from discoverygym.agents.evolution.export import load_function, models_dir

    priority = load_function(models_dir() / f"{program}.py", "jobshop")
    weights = rule_weights(rule)
    for name in ("ta01", "ft10", "la16", "random-15x15:seed=7", "random-20x5:seed=8"):
        env = JobShopEnv(instance=load_instance(name))
        obs, _ = env.reset(seed=0)
        done = False
        while not done:
            scores = np.asarray(priority(obs["jobs"], obs["machines"]), dtype=np.float64)
            best = choose(scores, obs["action_mask"])
            mine = int(linear_rule(obs["jobs"][None], weights)[0])
            assert scores[mine] >= scores[best] - 1e-6 * max(1.0, abs(scores[best])), name
            obs, _, done, _, _ = env.step(best)


@given(seed=st.integers(0, 10**6), rule=st.sampled_from(sorted(LINEAR_RULES)))
@settings(max_examples=10, deadline=None)
def test_rollout_is_feasible_and_never_worse_than_its_rule(seed: int, rule: str) -> None:
    name = f"random-6x5:seed={seed}"
    inst = load_instance(name)
    rolled, base = schedule(RolloutDispatcher(rule), name), schedule(LinearAgent(rule), name)
    assert check_schedule(inst, rolled["starts"]) == rolled["makespan"] <= base["makespan"]


def reference_rollout(name: str, rule: str) -> np.ndarray:
    """The rollout written plainly, as its definition: at each decision, deep copies of one
    single env try every legal job and the rule finishes each; smallest makespan, ties to the
    rule. Returns the start times."""
    import copy

    weights = rule_weights(rule)
    env = JobShopEnv(instance=load_instance(name))
    obs, _ = env.reset(seed=0)
    done, info = False, {}
    while not done:
        base = int(linear_rule(obs["jobs"][None], weights)[0])
        spans = {}
        for job in np.flatnonzero(obs["action_mask"]).tolist():
            trial = copy.deepcopy(env)
            o, _, end, _, i = trial.step(job)
            while not end:
                o, _, end, _, i = trial.step(int(linear_rule(o["jobs"][None], weights)[0]))
            spans[job] = i["makespan"]
        best = min(spans.values())
        choice = base if spans[base] == best else min(j for j, m in spans.items() if m == best)
        obs, _, done, _, info = env.step(choice)
    return info["starts"]


@given(seed=st.integers(0, 10**6), rule=st.sampled_from(sorted(LINEAR_RULES)))
@settings(max_examples=8, deadline=None)
def test_rollout_is_its_definition(seed: int, rule: str) -> None:
    """The batched rollout over saved schedules dispatches as the plain definition does."""
    name = f"random-5x4:seed={seed}"
    assert np.array_equal(schedule(RolloutDispatcher(rule), name)["starts"], reference_rollout(name, rule))


def test_rollout_improves_on_its_rule_on_ft10_and_replays_alike() -> None:
    agent = RolloutDispatcher("evolved")
    first, base = schedule(agent, "ft10"), schedule(LinearAgent("evolved"), "ft10")
    assert first["makespan"] < base["makespan"]
    env = JobShopEnv(dataset="ft06,ft10")  # the agent follows the episode's instance across resets
    for name in ("ft06", "ft10"):
        again = run_episode(env, agent, seed=0, options={"instance": name}).final_info
        if name == "ft10":
            assert np.array_equal(again["starts"], first["starts"])


@pytest.mark.parametrize(
    ("rule", "message"),
    [("spt", "unknown rollout rule 'spt'; known: mwkr, evolved, evolved2"),
     ({"work": 1.0}, "unknown job feature 'work'; known: next_duration")],
)
def test_bad_rules_are_named(rule: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RolloutDispatcher(rule)


def test_a_step_without_the_reset_info_is_refused() -> None:
    env = JobShopEnv(instance=load_instance("ft06"))
    obs, _ = env.reset(seed=0)
    with pytest.raises(ValueError, match="needs an episode's reset info"):
        RolloutDispatcher().act(obs, {"action_mask": obs["action_mask"]})
