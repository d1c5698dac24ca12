"""Rollout over a dispatching rule: each legal job is tried, the rule finishes the schedule.

A rollout algorithm (Bertsekas, Tsitsiklis & Wu, "Rollout algorithms for combinatorial
optimization", J. Heuristics 1997) improves a base heuristic by looking one decision ahead. In
job-shop dispatching the state is deterministic, so no sampling is needed:

- at each decision every legal job is dispatched in a copy of the schedule, and the base rule
  completes each copy; the job whose completed schedule has the smallest makespan is kept;
- ties go to the base rule's own choice, so the rollout is never worse than its base rule
  (the base rule's completion is one of the candidates at every step);
- the copies are the sub-envs of one `JobShopVectorEnv` (one per legal job) and the base rule is
  evaluated on all of them in one numpy call per step.

The base rules are non-delay linear rules (`LINEAR_RULES`): among the unfinished jobs whose next
operation can start earliest, the highest ``weights . job_features`` wins (lowest index on ties),
the convention of `discoverygym.agents.heuristics.jobshop`:

- ``mwkr``: most work remaining (``RULES["mwkr"]``);
- ``evolved``: `experiments/models/evolved_jobshop_qwen05b_cont.py` (evolved by Qwen2.5-Coder
  0.5B) written as its weights: 2.25 remaining work - 6 next duration + 0.25 ready time +
  1.25 machine ready time, plus 1.25 earliest start, equal among the non-delay candidates.
  ``tests/agents/test_jobshop_rollout.py`` checks that it chooses as the program does;
- ``evolved2``: `experiments/models/evolved_jobshop_qwen05b_cont2.py`, the same rule evolved
  further: 3 remaining work - 9 next duration + 2 machine ready time (+ 2 earliest start).

Cost: the copies start from the saved schedule (`JobShopVectorEnv.get_state` / `set_state`)
and play the rest of it, and the copy that dispatched the chosen job becomes the next saved
schedule. So an episode of J jobs x O operations costs (J O)^2 / 2 steps of a J-wide batch:
quadratic in the size (an expert for demonstrations and instances up to about 20x20, not a
dispatcher for 100x20).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from discoverygym.envs.jobshop.env import JOB_FEATURES
from discoverygym.envs.jobshop.instances import JobShopInstance, load_instance

__all__ = ["LINEAR_RULES", "RolloutDispatcher", "linear_rule", "rollout_choice"]

#: Non-delay linear dispatching rules: weights by job feature name (`JOB_FEATURES`).
LINEAR_RULES: dict[str, dict[str, float]] = {
    "mwkr": {"remaining_work": 1.0},
    "evolved": {
        "next_duration": -6.0,
        "remaining_work": 2.25,
        "ready_time": 0.25,
        "earliest_start": 1.25,
        "machine_ready": 1.25,
    },
    "evolved2": {
        "next_duration": -9.0,
        "remaining_work": 3.0,
        "earliest_start": 2.0,
        "machine_ready": 2.0,
    },
}
_OPS, _EST = JOB_FEATURES.index("remaining_ops"), JOB_FEATURES.index("earliest_start")


def rule_weights(rule: str | dict[str, float]) -> np.ndarray:
    """The weight vector over `JOB_FEATURES` of a rule name or a ``{feature: weight}`` dict."""
    if isinstance(rule, str):
        if rule not in LINEAR_RULES:
            raise ValueError(f"unknown rollout rule {rule!r}; known: {', '.join(LINEAR_RULES)}")
        rule = LINEAR_RULES[rule]
    unknown = sorted(set(rule) - set(JOB_FEATURES))
    if unknown:
        raise ValueError(f"unknown job feature {unknown[0]!r}; known: {', '.join(JOB_FEATURES)}")
    return np.array([float(rule.get(name, 0.0)) for name in JOB_FEATURES])


def linear_rule(jobs: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The non-delay linear rule's job for each row of `jobs` (N, J, 8): among the unfinished
    jobs with the smallest earliest start, the highest ``jobs @ weights`` (lowest index on ties).
    Rows with no unfinished job get job 0."""
    unfinished = jobs[..., _OPS] > 0
    est = np.where(unfinished, jobs[..., _EST], np.inf)
    candidates = unfinished & (est <= est.min(axis=-1, keepdims=True))
    return np.where(candidates, jobs @ weights, -np.inf).argmax(axis=-1)


def rollout_choice(
    venv: Any, obs: dict[str, np.ndarray], weights: np.ndarray
) -> tuple[int, dict[str, Any] | None, np.ndarray]:
    """The rollout's job in the state every sub-env of `venv` is in (a `JobShopVectorEnv` with
    at least as many sub-envs as the instance has jobs, all in the same state; `obs` its
    observations, as `set_state` returns them).

    Every legal job is dispatched in its own sub-env, then `weights`' rule completes every
    sub-env; the smallest makespan wins, ties to the rule's own choice. Returns (job, the
    sub-envs' states just after their first dispatch, the legal jobs in sub-env order); a
    forced move returns (job, None, legal) without playing anything.
    """
    legal = np.flatnonzero(obs["action_mask"][0])
    if len(legal) == 1:
        return int(legal[0]), None, legal
    base = int(linear_rule(obs["jobs"][:1], weights)[0])
    actions = np.full(venv.num_envs, legal[0], dtype=np.int64)
    actions[: len(legal)] = legal
    obs, _, terminated, _, info = venv.step(actions)
    children = venv.get_state()
    while not terminated.all():
        obs, _, terminated, _, info = venv.step(linear_rule(obs["jobs"], weights))
    makespans = np.asarray(info["makespan"], dtype=np.int64)[: len(legal)]
    best = makespans.min()
    if makespans[np.flatnonzero(legal == base)[0]] == best:
        return base, children, legal
    return int(legal[makespans.argmin()]), children, legal


class RolloutDispatcher:
    """A job-shop agent: rollout over a non-delay linear rule (see the module docstring).

    It plays `JobShopEnv` episodes through the usual ``reset``/``act`` interface: the instance
    comes from the reset info (``info["instance"]``: a benchmark name or a generated
    ``random-JxM:seed=S``), and the agent keeps the jobs it dispatched. So it must see every
    step of an episode, starting at the reset.
    """

    family = "heuristic"

    def __init__(self, rule: str | dict[str, float] = "evolved", name: str | None = None) -> None:
        self.weights = rule_weights(rule)
        self.name = name or f"rollout_{rule if isinstance(rule, str) else 'linear'}"
        self._instance: JobShopInstance | None = None
        self._venv: Any = None
        self._state: dict[str, Any] | None = None  # the schedule so far: row `_row` of a state
        self._row = 0
        self._children: tuple[dict[str, Any], np.ndarray] | None = None

    def reset(self) -> None:
        self._children = None

    def start(self, instance: JobShopInstance) -> None:
        """Begin an episode on `instance` (``act`` does it on seeing a reset info)."""
        from discoverygym.envs.jobshop.vector import JobShopVectorEnv

        if self._instance is None or self._instance.name != instance.name:
            self._instance = instance
            if self._venv is not None:
                self._venv.close()
            self._venv = JobShopVectorEnv(num_envs=instance.num_jobs, instance=instance)
        self._venv.reset()  # its one instance: `self._instance`
        self._state, self._row, self._children = self._venv.get_state(), 0, None

    def act(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> int:
        action = self.advise(obs, info)
        self.played(action)
        return action

    def advise(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> int:
        """The rollout's job in the current state, without playing it: `played` must follow
        with the job actually dispatched (DAgger labels the states another policy visits)."""
        if "instance" in info:  # the reset info: a new episode
            name = info["instance"]
            same = self._instance is not None and self._instance.name == name
            self.start(self._instance if same else load_instance(name))
        elif self._instance is None:
            raise ValueError("RolloutDispatcher needs an episode's reset info (its 'instance') first")
        copies = self._venv.set_state(self._state, source=self._row)
        job, children, legal = rollout_choice(self._venv, copies, self.weights)
        self._children = None if children is None else (children, legal)
        return job

    def played(self, action: int) -> None:
        """Record the job dispatched in the current state (the env's rule for illegal actions is
        not applied here: pass a legal job). The schedule moves on to the copy that dispatched
        it during `advise`, or is stepped once when there was none."""
        if self._venv is None:
            raise ValueError("RolloutDispatcher needs an episode's reset info (its 'instance') first")
        if self._children is not None and int(action) in self._children[1]:
            children, legal = self._children
            self._state, self._row = children, int(np.flatnonzero(legal == int(action))[0])
        else:
            self._venv.set_state(self._state, source=self._row)
            self._venv.step(np.full(self._venv.num_envs, int(action), dtype=np.int64))
            self._state, self._row = self._venv.get_state(), 0
        self._children = None
