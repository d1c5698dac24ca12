"""Per-game scoring of an evolved function, run inside the sandbox child.

Each game has `<game>_prepare(names) -> data` (loads the datasets; runs before the sandbox
forbids file access) and `<game>_score(fn, data) -> (score, scores)` (higher is better;
`scores` has one entry per instance: the score signature), plus `<game>_agent(fn)` building an
`Agent` from a trusted evolved callable for `evaluate` / `compare`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def binpacking_prepare(names: tuple[str, ...]) -> list[tuple[str, Any]]:
    from discoverygym.envs.binpacking import evaluate_priority, load_dataset  # noqa: F401

    return [(name, load_dataset(name)) for name in names]


def binpacking_score(fn: Callable, data: list[tuple[str, Any]]) -> tuple[float, dict[str, float]]:
    """Minus the excess over L1 (%) averaged over datasets; per instance: minus the bins used."""
    from discoverygym.envs.binpacking import evaluate_priority

    per_dataset, scores = [], {}
    for name, dataset in data:
        result = evaluate_priority(fn, dataset)
        per_dataset.append(-float(result.excess_pct))
        names = getattr(result, "instance_names", None) or range(len(result.bins_per_instance))
        for instance, bins in zip(names, np.asarray(result.bins_per_instance).ravel()):
            scores[f"{name}/{instance}"] = -float(bins)
    return float(np.mean(per_dataset)), scores


def binpacking_agent(fn: Callable):
    from discoverygym.agents.heuristics.binpacking import PriorityAgent

    return PriorityAgent(fn)


def jobshop_prepare(names: tuple[str, ...]) -> list[tuple[str, Any]]:
    import discoverygym.agents.base  # noqa: F401 - imported before the sandbox denies file access
    import discoverygym.agents.heuristics.jobshop  # noqa: F401
    from discoverygym.envs.jobshop import load_dataset

    return [(name, load_dataset(name)) for name in names]


def jobshop_score(fn: Callable, data: list[tuple[str, Any]]) -> tuple[float, dict[str, float]]:
    """Minus the mean makespan gap (%) to the best upper bound (else the trivial lower bound)."""
    from discoverygym.agents.base import run_episode
    from discoverygym.agents.heuristics.jobshop import PriorityAgent
    from discoverygym.envs.jobshop.env import JobShopEnv

    gaps, scores = [], {}
    for name, instances in data:
        for instance in instances:
            result = run_episode(JobShopEnv(instance=instance), PriorityAgent(fn), seed=0)
            makespan = float(result.final_info["makespan"])
            bound = float(instance.upper_bound or instance.best_lower_bound)
            gap = 100.0 * (makespan - bound) / bound
            gaps.append(gap)
            scores[f"{name}/{instance.name}"] = -gap
    return -float(np.mean(gaps)), scores


def jobshop_agent(fn: Callable):
    from discoverygym.agents.heuristics.jobshop import PriorityAgent

    return PriorityAgent(fn)


def tensor_prepare(names: tuple[str, ...]) -> list[tuple[str, Any]]:
    """Parse `<n>x<m>x<p>:<field>:seed=<s>:budget=<seconds>` and look up the target ranks."""
    import discoverygym.agents.heuristics.tensor_lift  # noqa: F401 - before file access ends
    import discoverygym.agents.heuristics.tensor_search  # noqa: F401
    from discoverygym.envs.tensor.known import best_known_rank

    data = []
    for name in names:
        dims, field, *options = name.split(":")
        params = dict(option.split("=", 1) for option in options)
        n, m, p = (int(x) for x in dims.split("x"))
        target = best_known_rank(n, m, p, field)
        data.append((name, (n, m, p, field, int(params.get("seed", 0)),
                            float(params.get("budget", 2.0)), target)))
    return data


def tensor_score(fn: Callable, data: list[tuple[str, Any]]) -> tuple[float, dict[str, float]]:
    """Minus the mean of (rank reached + fraction of the budget used) over the walks."""
    from discoverygym.agents.heuristics.tensor_search import score_proposal

    scores = {}
    for name, (n, m, p, field, seed, budget, target) in data:
        scores[name] = float(score_proposal(fn, n, m, p, field, time_budget=budget,
                                            seeds=(seed,), target_rank=target))
    return float(np.mean(list(scores.values()))), scores


def tensor_namespace() -> dict[str, Any]:
    """Names a tensor candidate may use without importing them."""
    from discoverygym.agents.heuristics.tensor_search import Flip

    return {"Flip": Flip}


def tensor_agent(fn: Callable):
    """The tensor game's evolved part is a search routine, not an env policy: the proposal."""
    return fn
