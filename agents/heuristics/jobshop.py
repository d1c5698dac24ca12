"""Job-shop dispatching rules, the `PriorityAgent` interface, and the CP-SAT limit agent.

Every rule is a priority function ``priority(job_features, machine_features) -> scores`` over the
observation of `discoverygym.envs.jobshop.JobShopEnv` (``obs["jobs"]`` (J, 8), ``obs["machines"]``
(M, 4); columns in `JOB_FEATURES`/`MACHINE_FEATURES`). `PriorityAgent` dispatches the legal job
with the highest score. **Tie-breaking**: among equal scores the lowest job index wins
(``argmax`` returns the first maximum); NaN scores count as -inf.

Rules (features: 0 next_duration, 2 remaining_work, 3 remaining_ops, 4 ready_time,
5 earliest_start):

* SPT: shortest next operation first.         * LPT: longest next operation first.
* MWKR: most work remaining (incl. the next operation) first. * LWKR: least work remaining first.
* MOPNR: most operations remaining first.     * FIFO: the job that became ready first (smallest ready time).
* random: uniform among legal jobs (seeded).

The named rules (`RULES`, `rule_agent`) are **non-delay** dispatching rules: the rule only ranks the
unfinished jobs whose next operation can start earliest (minimal ``earliest_start``); the others
score -inf (`non_delay`). This is the classic rule implementation and reproduces the published
Taillard 15x15 figures (SPT 25.9 %, MWKR 19.2 %, MOPNR 20.5 % here against 26.1/19.1/20.4 %).
The bare scores over every unfinished job (`BASE_RULES`, "global" dispatching, L2D-style) are much
worse for SPT/LPT/LWKR (SPT 56.9 %, MWKR 27.0 %, MOPNR 26.2 % on Taillard 15x15).
Unfinished jobs are recognisable from the features alone (``remaining_ops > 0``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from discoverygym.envs.jobshop.env import JOB_FEATURES

PriorityFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
_DUR, _WORK, _OPS, _READY, _EST = (
    JOB_FEATURES.index(n) for n in ("next_duration", "remaining_work", "remaining_ops", "ready_time", "earliest_start")
)


def spt(job_features: np.ndarray, machine_features: np.ndarray) -> np.ndarray:
    """Shortest processing time of the next operation."""
    return -job_features[:, _DUR]


def lpt(job_features: np.ndarray, machine_features: np.ndarray) -> np.ndarray:
    """Longest processing time of the next operation."""
    return job_features[:, _DUR]


def mwkr(job_features: np.ndarray, machine_features: np.ndarray) -> np.ndarray:
    """Most work remaining."""
    return job_features[:, _WORK]


def lwkr(job_features: np.ndarray, machine_features: np.ndarray) -> np.ndarray:
    """Least work remaining."""
    return -job_features[:, _WORK]


def mopnr(job_features: np.ndarray, machine_features: np.ndarray) -> np.ndarray:
    """Most operations remaining."""
    return job_features[:, _OPS]


def fifo(job_features: np.ndarray, machine_features: np.ndarray) -> np.ndarray:
    """First in, first out: the earliest ready time (end of the job's last placed operation)."""
    return -job_features[:, _READY]


def non_delay(priority: PriorityFn) -> PriorityFn:
    """`priority` restricted to the unfinished jobs whose next operation starts earliest (others -inf)."""

    def restricted(job_features: np.ndarray, machine_features: np.ndarray) -> np.ndarray:
        unfinished = job_features[:, _OPS] > 0
        scores = np.asarray(priority(job_features, machine_features), dtype=np.float64)
        if not unfinished.any():
            return scores
        est = job_features[:, _EST]
        candidates = unfinished & (est == est[unfinished].min())
        return np.where(candidates, scores, -np.inf)

    restricted.__name__ = f"non_delay_{priority.__name__}"
    restricted.__doc__ = f"Non-delay {priority.__name__.upper()}: {priority.__doc__}"
    return restricted


BASE_RULES: dict[str, PriorityFn] = {"spt": spt, "lpt": lpt, "mwkr": mwkr, "lwkr": lwkr, "mopnr": mopnr, "fifo": fifo}
RULES: dict[str, PriorityFn] = {name: non_delay(fn) for name, fn in BASE_RULES.items()}


def choose(scores: np.ndarray, mask: np.ndarray) -> int:
    """The legal index with the highest score (lowest index on ties; NaN counts as -inf)."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != mask.shape:
        raise ValueError(f"priority returned shape {scores.shape}, expected one score per job {mask.shape}")
    masked = np.where(mask.astype(bool) & ~np.isnan(scores), scores, -np.inf)
    best = int(masked.argmax())
    if not mask[best]:  # every legal score was NaN or -inf: first legal job
        best = int(np.flatnonzero(mask)[0])
    return best


class PriorityAgent:
    """Dispatch the legal job with the highest ``priority(obs["jobs"], obs["machines"])`` score.

    This is the interface the LLM-evolution issue evolves: any function of the two feature
    matrices returning one score per job (padded/finished jobs are masked out afterwards).
    """

    def __init__(self, priority: PriorityFn, name: str = "priority", family: str = "heuristic") -> None:
        self.priority = priority
        self.name = name
        self.family = family

    def reset(self) -> None:
        pass

    def act(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> int:
        mask = info.get("action_mask", obs["action_mask"])
        return choose(self.priority(obs["jobs"], obs["machines"]), mask)


class RandomJobAgent:
    """Uniformly random legal job (seeded at construction; the stream continues across episodes)."""

    family = "heuristic"

    def __init__(self, seed: int = 0, name: str = "random") -> None:
        self.name = name
        self.rng = np.random.default_rng(seed)

    def reset(self) -> None:
        pass

    def act(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> int:
        legal = np.flatnonzero(info.get("action_mask", obs["action_mask"]))
        return int(legal[self.rng.integers(len(legal))])


def rule_agent(name: str) -> PriorityAgent | RandomJobAgent:
    """The rule agent called `name` (``spt``, ``lpt``, ``mwkr``, ``lwkr``, ``mopnr``, ``fifo``, ``random``)."""
    key = name.lower()
    if key == "random":
        return RandomJobAgent()
    if key not in RULES:
        raise KeyError(f"unknown dispatching rule {name!r}; known: {', '.join([*RULES, 'random'])}")
    return PriorityAgent(RULES[key], name=key)


class CpSatAgent:
    """The limit: solve the episode's instance with CP-SAT, then dispatch its operations in order
    of the solver's start times (ties: lower job index). With the env's earliest-start placement
    every operation then starts no later than in the solver's schedule, so the env's makespan is
    at most CP-SAT's. Warm-started with the MWKR rule's schedule. Needs ``info["instance"]`` to be
    a loadable name (true for shipped and generated instances).
    """

    family = "limit"

    def __init__(self, time_limit_s: float = 5.0, workers: int = 2, name: str = "cpsat") -> None:
        self.time_limit_s = time_limit_s
        self.workers = workers
        self.name = name
        self.last_result = None
        self._order: list[int] = []

    def reset(self) -> None:
        self._order = []
        self.last_result = None

    def plan(self, instance) -> list[int]:
        """Solve `instance` and return the job dispatch order."""
        from discoverygym.envs.jobshop.cpsat import solve_cpsat

        hint = rule_schedule(instance, "mwkr")
        result = solve_cpsat(instance, time_limit_s=self.time_limit_s, workers=self.workers, hint=hint)
        self.last_result = result
        jobs, ops = np.indices(result.starts.shape)
        order = np.lexsort((jobs.ravel(), ops.ravel(), result.starts.ravel()))
        return jobs.ravel()[order].tolist()[::-1]  # reversed: pop() from the end

    def act(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> int:
        if not self._order:
            if "instance" not in info:
                raise ValueError("CpSatAgent needs info['instance'] (the env's reset info) on its first act")
            from discoverygym.envs.jobshop.instances import JobShopInstance, load_instance

            instance = info["instance"]
            self._order = self.plan(instance if isinstance(instance, JobShopInstance) else load_instance(instance))
        return self._order.pop()


def rule_schedule(instance, rule: str | PriorityFn) -> np.ndarray:
    """The schedule (starts, jobs x operations) a rule builds on `instance` in `JobShopEnv`."""
    from discoverygym.envs.jobshop.env import JobShopEnv

    agent = rule_agent(rule) if isinstance(rule, str) else PriorityAgent(rule)
    env = JobShopEnv(instance=instance)
    obs, info = env.reset(seed=0)
    agent.reset()
    terminated = False
    while not terminated:
        obs, _, terminated, _, info = env.step(agent.act(obs, info))
    return info["starts"]
