"""Per-game evaluation adapters: which episodes make up a dataset, and how final infos score.

Each adapter turns a dataset name into ``(env_kwargs, reset options)`` episodes (one per
instance, in the set's order), and the final infos of those episodes into the game's metric,
computed as the heuristics' suites compute it, so RL and heuristics land in one table:

- bin packing: excess of the mean number of bins over the mean L1 bound, in percent
  (`excess_pct`; the bins per instance go through the same `Record` fields as the suite);
- job shop: mean gap of the makespan to the best known upper bound, in percent (`gap_pct`;
  generated instances have none: the gap is then to the best lower bound, as in the suite);
- tensor: the rank found (moves to a zero residual; moves + the residual's rank bound on
  failure, as the suite scores it) and the success rate; datasets are the suite's ``NxMxP`` and
  ``NxMxP-mod2`` (the matmul tensor) plus ``NxMxP[-mod2]:synthetic=R,n=K`` (K random targets of
  rank R, for validation). The model plays with its training coefficient set;
- cap set: the size of the cap set built in F_3^n (datasets ``n3`` ... ``n9``, one greedy
  episode each), verified and scored by `discoverygym.envs.capset.score.score_cap_set`; the
  score to minimise is the shortfall from the best known size in percent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from discoverygym.agents.records import Record

Episode = tuple[dict[str, Any], dict[str, Any] | None]


@dataclass(frozen=True)
class Adapter:
    """How one game's datasets are played and scored."""

    game: str
    episodes_fn: Callable[[str, dict[str, Any]], list[Episode]]
    summarise_fn: Callable[[list[dict[str, Any]], str], dict[str, float]]
    records_fn: Callable[[list[dict[str, Any]], str, str, dict[str, float], float], list[Record]]
    eval_kwargs_fn: Callable[[dict[str, Any]], dict[str, Any]]
    score_fn: Callable[[dict[str, Any]], float]

    def episodes(
        self, dataset: str, env_kwargs: dict[str, Any], limit: int | None = None
    ) -> list[Episode]:
        """The episodes of `dataset` (the first `limit` instances when given)."""
        out = self.episodes_fn(dataset, env_kwargs)
        return out[:limit] if limit else out

    def summarise(self, finals: list[dict[str, Any]], dataset: str) -> dict[str, float]:
        """Validation metrics; ``score`` is the one to minimise."""
        return self.summarise_fn(finals, dataset)

    def records(
        self,
        finals: list[dict[str, Any]],
        dataset: str,
        agent: str,
        compute: dict[str, float],
        seconds: float,
    ) -> list[Record]:
        """The evaluation as `Record`s (the heuristics' metric and bound)."""
        return self.records_fn(finals, dataset, agent, compute, seconds)

    def episode_score(self, final: dict[str, Any]) -> float:
        """One finished episode's cost from its final info (lower is better): the makespan,
        the bins used, the rank; what decoding by sampling minimises per instance."""
        return self.score_fn(final)

    def eval_env_kwargs(self, train_kwargs: dict[str, Any]) -> dict[str, Any]:
        """Env kwargs for evaluation: the training ones minus the training distribution."""
        return self.eval_kwargs_fn(train_kwargs)


def _without(keys: tuple[str, ...]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda kwargs: {k: v for k, v in kwargs.items() if k not in keys}


# --- job shop -------------------------------------------------------------------------------


def _jobshop_episodes(dataset: str, env_kwargs: dict[str, Any]) -> list[Episode]:
    from discoverygym.envs.jobshop.instances import resolve_dataset

    names = resolve_dataset(dataset)
    if isinstance(names, tuple):
        raise ValueError(
            f"{dataset!r} is an endless generator; evaluate on a fixed set such as '{dataset}:seed=0,n=20'"
        )
    kwargs = {k: v for k, v in env_kwargs.items() if k not in ("dataset", "instance")}
    return [({**kwargs, "dataset": dataset}, {"instance": name}) for name in names]


def _jobshop_gaps(finals: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """Gap to the best upper bound (else the best lower bound, e.g. the trivial one of generated
    instances) per instance, as the suite computes it; every schedule is verified by the checker."""
    from discoverygym.envs.jobshop.checker import verified_gap_pct
    from discoverygym.envs.jobshop.instances import load_instance

    measured = [verified_gap_pct(load_instance(f["instance"]), f["starts"], f["makespan"]) for f in finals]
    return np.array([gap for gap, _ in measured]), np.array([upper for _, upper in measured])


def _jobshop_summary(finals: list[dict[str, Any]], dataset: str) -> dict[str, float]:
    gaps, _ = _jobshop_gaps(finals)
    return {
        "gap_pct": float(gaps.mean()),
        "makespan": float(np.mean([f["makespan"] for f in finals])),
        "score": float(gaps.mean()),
    }


def _jobshop_records(
    finals: list[dict[str, Any]],
    dataset: str,
    agent: str,
    compute: dict[str, float],
    seconds: float,
) -> list[Record]:
    gaps, uppers = _jobshop_gaps(finals)
    gap = float(gaps.mean())
    return [
        Record(
            "jobshop",
            dataset,
            agent,
            "rl",
            "gap_pct",
            gap,
            float(uppers.mean()),
            gap,
            seconds,
            compute,
        )
    ]


# --- bin packing ----------------------------------------------------------------------------


def _binpacking_episodes(dataset: str, env_kwargs: dict[str, Any]) -> list[Episode]:
    from discoverygym.envs.binpacking.instances import load_dataset

    data = load_dataset(dataset)  # KeyError lists the known sets
    kwargs = {k: v for k, v in env_kwargs.items() if k not in ("dataset", "instance", "max_bins")}
    return [({**kwargs, "dataset": dataset}, {"instance": name}) for name in data.names]


def _binpacking_bins(finals: list[dict[str, Any]], dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """Bins used and L1 per instance; every packing is verified by the independent checker."""
    from discoverygym.envs.binpacking.checker import check_packing
    from discoverygym.envs.binpacking.instances import load_dataset

    data = load_dataset(dataset)
    bins, l1 = [], []
    for final in finals:
        inst = data.instance(final["instance"])
        report = check_packing(inst.items, inst.capacity, final["assignment"])
        if report.num_bins != final["bins_used"]:
            raise AssertionError(f"{inst.name}: env and checker disagree on the bins used")
        bins.append(report.num_bins)
        l1.append(final["l1"])
    return np.array(bins), np.array(l1)


def _binpacking_summary(finals: list[dict[str, Any]], dataset: str) -> dict[str, float]:
    from discoverygym.envs.binpacking.bounds import excess_pct

    bins, l1 = _binpacking_bins(finals, dataset)
    excess = excess_pct(bins, l1)
    return {"excess_pct": excess, "mean_bins": float(bins.mean()), "score": excess}


def _binpacking_records(
    finals: list[dict[str, Any]],
    dataset: str,
    agent: str,
    compute: dict[str, float],
    seconds: float,
) -> list[Record]:
    from discoverygym.envs.binpacking.bounds import excess_pct

    bins, l1 = _binpacking_bins(finals, dataset)
    excess = excess_pct(bins, l1)
    return [
        Record(
            "binpacking",
            dataset,
            agent,
            "rl",
            "excess_pct",
            excess,
            float(np.mean(l1)),
            excess,
            seconds,
            compute,
        )
    ]


# --- tensor ---------------------------------------------------------------------------------


def _tensor_dataset(dataset: str) -> tuple[int, int, int, str, int, int]:
    """``NxMxP[-mod2][:synthetic=R,n=K]`` -> (n, m, p, field, K, R): K synthetic targets of rank R
    (K = 0: the matmul tensor)."""
    from discoverygym.envs.tensor.datasets import parse_dataset

    name, _, extra = dataset.partition(":")
    n, m, p, field = parse_dataset(name)
    params = dict(part.split("=", 1) for part in extra.split(",") if "=" in part)
    unknown = set(params) - {"synthetic", "n"}
    if unknown or ("n" in params) != ("synthetic" in params):
        raise KeyError(f"tensor dataset {dataset!r}: expected NxMxP[-mod2][:synthetic=R,n=K]")
    return n, m, p, field, int(params.get("n", 0)), int(params.get("synthetic", 0))


def _tensor_episodes(dataset: str, env_kwargs: dict[str, Any]) -> list[Episode]:
    n, m, p, field, count, rank = _tensor_dataset(dataset)
    kwargs = {**env_kwargs, "n": n, "m": m, "p": p, "field": field}
    if not count:
        return [(kwargs, {"target": "matmul"})]
    return [(kwargs, {"target": "synthetic", "rank": rank}) for _ in range(count)]


def _tensor_rank(final: dict[str, Any]) -> float:
    """AlphaTensor's score as a rank: moves on success, moves + the residual's rank bound otherwise."""
    return float(final["steps"] + (0 if "decomposition" in final else final["rank_bound"]))


def _tensor_summary(finals: list[dict[str, Any]], dataset: str) -> dict[str, float]:
    ranks = [_tensor_rank(f) for f in finals]
    success = float(np.mean(["decomposition" in f for f in finals]))
    return {"rank": float(np.mean(ranks)), "success_rate": success, "score": float(np.mean(ranks))}


def _tensor_records(
    finals: list[dict[str, Any]],
    dataset: str,
    agent: str,
    compute: dict[str, float],
    seconds: float,
) -> list[Record]:
    from discoverygym.envs.tensor.known import best_known_rank
    from discoverygym.envs.tensor.tensors import verify_matmul_decomposition

    n, m, p, field, synthetic, _ = _tensor_dataset(dataset)
    if synthetic:
        raise KeyError(
            f"records are for the matmul tensors ('{n}x{m}x{p}'), not synthetic sets like {dataset!r}"
        )
    (final,) = finals
    value = _tensor_rank(final)
    if "decomposition" in final:
        rank = verify_matmul_decomposition(n, m, p, *final["decomposition"], field=field)
        if rank != value:
            raise AssertionError(f"{agent} on {dataset}: env and checker disagree on the rank")
    bound = float(best_known_rank(n, m, p, field))
    gap = 100.0 * (value - bound) / bound
    return [Record("tensor", dataset, agent, "rl", "rank", value, bound, gap, seconds, compute)]


# --- cap set --------------------------------------------------------------------------------


def _capset_episodes(dataset: str, env_kwargs: dict[str, Any]) -> list[Episode]:
    from discoverygym.envs.capset.datasets import parse_dataset

    n = parse_dataset(dataset)  # KeyError lists the known names
    kwargs = {k: v for k, v in env_kwargs.items() if k != "n"}
    return [({**kwargs, "n": n}, None)]  # the game is deterministic: one episode per n


def _capset_scores(finals: list[dict[str, Any]], dataset: str) -> list[Any]:
    """Every final cap set verified and scored by the game's one scoring function."""
    from discoverygym.envs.capset.datasets import parse_dataset
    from discoverygym.envs.capset.score import score_cap_set

    n = parse_dataset(dataset)
    scores = [score_cap_set(n, f["cap_set"]) for f in finals]
    for final, score in zip(finals, scores):
        if score.size != final["size"]:
            raise AssertionError(f"{dataset}: env and checker disagree on the cap set's size")
    return scores


def _capset_summary(finals: list[dict[str, Any]], dataset: str) -> dict[str, float]:
    scores = _capset_scores(finals, dataset)
    gap = float(np.mean([s.gap_pct for s in scores]))
    return {"size": float(np.mean([s.size for s in scores])), "gap_pct": gap, "score": gap}


def _capset_records(
    finals: list[dict[str, Any]],
    dataset: str,
    agent: str,
    compute: dict[str, float],
    seconds: float,
) -> list[Record]:
    from discoverygym.envs.capset.score import METRIC

    scores = _capset_scores(finals, dataset)
    size = float(np.mean([s.size for s in scores]))
    gap = float(np.mean([s.gap_pct for s in scores]))
    best = float(scores[0].best_known)
    return [Record("capset", dataset, agent, "rl", METRIC, size, best, gap, seconds, compute)]


ADAPTERS: dict[str, Adapter] = {
    "tensor": Adapter(
        "tensor",
        _tensor_episodes,
        _tensor_summary,
        _tensor_records,
        _without(("n", "m", "p", "field")),
        _tensor_rank,
    ),
    "binpacking": Adapter(
        "binpacking",
        _binpacking_episodes,
        _binpacking_summary,
        _binpacking_records,
        _without(("dataset", "instance", "max_bins")),
        lambda final: float(final["bins_used"]),
    ),
    "jobshop": Adapter(
        "jobshop",
        _jobshop_episodes,
        _jobshop_summary,
        _jobshop_records,
        _without(("dataset", "instance")),
        lambda final: float(final["makespan"]),
    ),
    "capset": Adapter(
        "capset",
        _capset_episodes,
        _capset_summary,
        _capset_records,
        _without(("n",)),
        lambda final: -float(final["size"]),  # larger cap sets are better
    ),
}


def adapter(game: str) -> Adapter:
    """The adapter of `game`."""
    try:
        return ADAPTERS[game]
    except KeyError:
        raise KeyError(
            f"no RL evaluation adapter for game {game!r}; known: {', '.join(ADAPTERS)}"
        ) from None
