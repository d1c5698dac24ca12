"""Per-game scoring protocol: the untrusted child decides, the trusted parent verifies and scores.

A candidate never reports a score. For each game `<game>` this module defines:

- `<game>_prepare(names) -> data` (child, before the sandbox locks down): load the datasets.
- `<game>_decide(fn, data) -> decisions` (child, untrusted): play the candidate `fn` on every
  instance and return only its decisions as plain JSON (dicts, lists, ints): one entry per
  dataset name, in the game's schema below.
- `<game>_verify(data, decisions) -> (score, scores)` (parent, trusted; `data` from its own
  `<game>_prepare`): check the schema,
  replay the decisions through the game's independent checker and compute the score
  (higher is better) and `scores`, one value per instance (the score signature). Anything
  malformed, forged or inconsistent raises `DecisionError` naming the dataset, instance and
  value at fault; the sandbox turns it into `EvalResult(ok=False, error=...)`.
- `<game>_namespace()` (optional, child): trusted helpers a candidate may use unimported.
- `<game>_agent(fn)`: an `Agent` from a trusted evolved callable, for `evaluate` / `compare`.

Schemas (`decisions[name]` for each dataset name):

- binpacking: one list per instance, `assignment[i]` = bin index of item i (in arrival order),
  `0 <= bin < number of items`; verified with `envs.binpacking.checker.check_packing`.
  Score: minus FunSearch's excess over L1 (%), averaged over datasets; per instance: minus bins.
- jobshop: one list per instance, the dispatch order (job index per step, J*O steps); replayed
  in `JobShopEnv` (every dispatch must be legal), the schedule checked with
  `envs.jobshop.checker.verified_gap_pct`. Score: minus the mean gap (%).
- tensor: `{"u", "v", "w"}` integer factor matrices (rows nm, mp, pn) of the walk's best
  scheme and `"attempts"`, the candidate flips used; verified exactly with
  `verify_matmul_decomposition`. Score: minus (rank + attempts / budget), mean over walks.
  The attempts are the one number taken from the child: clipped to the budget and required
  to equal it when the target rank was not reached, they move a score by less than one rank.

- capset: per dataset `n<d>`, the chosen vectors in the order the greedy construction added
  them, each as its index in `itertools.product((0, 1, 2), repeat=n)` order; verified with the
  independent checker (`envs.capset.score.score_cap_set`: distinct, in range, no three on a
  line). Score: minus the mean gap (%) of the size to the best known size; per dataset: the size.

Adding a game means writing these functions and naming them in the game's `GameSpec.scorer`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


class DecisionError(ValueError):
    """Decisions that do not fit the game's schema or fail its checker."""


def _expect_names(decisions: Any, names: list[str]) -> dict:
    if not isinstance(decisions, dict):
        raise DecisionError(f"decisions must be a mapping of dataset name to decisions, "
                            f"got {type(decisions).__name__}")
    if set(decisions) != set(names):
        raise DecisionError(f"decisions are for datasets {sorted(map(str, decisions))}, "
                            f"expected {sorted(names)}")
    return decisions


def _int_list(value: Any, where: str, length: int, low: int, high: int) -> np.ndarray:
    """`value` as an int64 array of `length` entries in [low, high) (DecisionError otherwise)."""
    if not isinstance(value, list):
        raise DecisionError(f"{where}: expected a list of integers, got {type(value).__name__}")
    if len(value) != length:
        raise DecisionError(f"{where}: {len(value)} entries, expected {length}")
    for k, entry in enumerate(value):
        if type(entry) is not int:
            raise DecisionError(f"{where}: entry {k} is {entry!r}, expected an integer")
    array = np.asarray(value, dtype=np.int64) if value else np.zeros(0, np.int64)
    bad = np.flatnonzero((array < low) | (array >= high))
    if bad.size:
        raise DecisionError(f"{where}: entry {bad[0]} is {array[bad[0]]}, "
                            f"expected {low} <= value < {high}")
    return array


# ------------------------------------------------------------------------------ bin packing
def binpacking_prepare(names: tuple[str, ...]) -> list[tuple[str, Any]]:
    from discoverygym.envs.binpacking import evaluate_priority, load_dataset  # noqa: F401

    return [(name, load_dataset(name)) for name in names]


def binpacking_decide(fn: Callable, data: list[tuple[str, Any]]) -> dict[str, list[list[int]]]:
    """The bin of every item of every instance, packed by FunSearch's protocol."""
    from discoverygym.envs.binpacking.evaluator import pack_instance

    return {name: [pack_instance(fn, instance).tolist() for instance in dataset]
            for name, dataset in data}


def binpacking_verify(data: list[tuple[str, Any]], decisions: Any) -> tuple[float, dict[str, float]]:
    """Check every packing; minus the excess over L1 (%) averaged over datasets."""
    from discoverygym.envs.binpacking.bounds import excess_pct, l1_bound
    from discoverygym.envs.binpacking.checker import PackingError, check_packing

    decisions = _expect_names(decisions, [name for name, _ in data])
    per_dataset, scores = [], {}
    for name, dataset in data:
        instances = tuple(dataset)
        packings = decisions[name]
        if not isinstance(packings, list) or len(packings) != len(instances):
            count = len(packings) if isinstance(packings, list) else type(packings).__name__
            raise DecisionError(f"{name}: {count} packings, expected one per instance "
                                f"({len(instances)})")
        bins, l1 = [], []
        for instance, assignment in zip(instances, packings):
            where = f"{name}/{instance.name}"
            n = instance.num_items
            array = _int_list(assignment, where, n, 0, max(n, 1))
            try:
                report = check_packing(instance.sizes, instance.grid_capacity, array)
            except PackingError as error:
                raise DecisionError(f"{where}: {error}") from None
            bins.append(report.num_bins)
            l1.append(l1_bound(instance.sizes, instance.grid_capacity))
            scores[where] = -float(report.num_bins)
        per_dataset.append(-float(excess_pct(bins, l1)))
    return float(np.mean(per_dataset)), scores


def binpacking_agent(fn: Callable):
    from discoverygym.agents.heuristics.binpacking import PriorityAgent

    return PriorityAgent(fn)


# -------------------------------------------------------------------------------- job shop
def jobshop_prepare(names: tuple[str, ...]) -> list[tuple[str, Any]]:
    import discoverygym.agents.base
    import discoverygym.agents.heuristics.jobshop  # noqa: F401
    from discoverygym.envs.jobshop import load_dataset

    return [(name, load_dataset(name)) for name in names]


def jobshop_decide(fn: Callable, data: list[tuple[str, Any]]) -> dict[str, list[list[int]]]:
    """The dispatch order (job per step) of the rule on every instance."""
    from discoverygym.agents.heuristics.jobshop import PriorityAgent
    from discoverygym.envs.jobshop.env import JobShopEnv

    agent, decisions = PriorityAgent(fn), {}
    for name, instances in data:
        orders = []
        for instance in instances:
            env = JobShopEnv(instance=instance)
            obs, info = env.reset(seed=0)
            order, done = [], instance.num_jobs * instance.num_operations == 0
            while not done:
                action = agent.act(obs, info)
                order.append(int(action))
                obs, _, done, _, info = env.step(action)
            orders.append(order)
        decisions[name] = orders
    return decisions


def jobshop_verify(data: list[tuple[str, Any]], decisions: Any) -> tuple[float, dict[str, float]]:
    """Replay every dispatch order, check the schedule; minus the mean gap (%) to the bound."""
    from discoverygym.envs.jobshop.checker import ScheduleError, verified_gap_pct
    from discoverygym.envs.jobshop.env import JobShopEnv

    decisions = _expect_names(decisions, [name for name, _ in data])
    gaps, scores = [], {}
    for name, instances in data:
        orders = decisions[name]
        if not isinstance(orders, list) or len(orders) != len(instances):
            count = len(orders) if isinstance(orders, list) else type(orders).__name__
            raise DecisionError(f"{name}: {count} dispatch orders, expected one per instance "
                                f"({len(instances)})")
        for instance, order in zip(instances, orders):
            where = f"{name}/{instance.name}"
            steps = instance.num_jobs * instance.num_operations
            order = _int_list(order, where, steps, 0, max(instance.num_jobs, 1)).tolist()
            env = JobShopEnv(instance=instance)
            env.reset(seed=0)
            remaining = [instance.num_operations] * instance.num_jobs
            for step, job in enumerate(order):
                if remaining[job] == 0:
                    raise DecisionError(f"{where}: step {step} dispatches job {job}, "
                                        "which has no operation left")
                remaining[job] -= 1
                env.step(job)
            try:
                gap, _ = verified_gap_pct(instance, env.starts, env.makespan_lower_bound)
            except (ScheduleError, AssertionError) as error:
                raise DecisionError(f"{where}: {error}") from None
            gaps.append(gap)
            scores[where] = -float(gap)
    return -float(np.mean(gaps)), scores


def jobshop_agent(fn: Callable):
    from discoverygym.agents.heuristics.jobshop import PriorityAgent

    return PriorityAgent(fn)


# ---------------------------------------------------------------------------------- tensor
def tensor_dataset(name: str) -> tuple[int, int, int, str, int, int, int]:
    """Parse `<n>x<m>x<p>:<field>:seed=<s>:attempts=<candidate flips>` into
    (n, m, p, field, seed, attempts, target rank); ValueError naming the bad part."""
    from discoverygym.envs.tensor.known import best_known_rank
    from discoverygym.envs.tensor.tensors import check_field

    try:
        dims, field, *options = name.split(":")
        params = dict(option.split("=", 1) for option in options)
        n, m, p = (int(x) for x in dims.split("x"))
    except ValueError:
        raise ValueError(f"tensor dataset {name!r}: expected "
                         "'<n>x<m>x<p>:<field>:seed=<s>:attempts=<N>'") from None
    unknown = set(params) - {"seed", "attempts"}
    if unknown:
        hint = (" (time budgets made the fitness depend on the machine; give the budget in "
                "candidate flips: attempts=<N>)" if "budget" in unknown else "")
        raise ValueError(f"tensor dataset {name!r}: unknown option(s) {sorted(unknown)}; "
                         f"known: seed, attempts{hint}")
    check_field(field)
    attempts = int(params.get("attempts", 100_000))
    if attempts < 1:
        raise ValueError(f"tensor dataset {name!r}: attempts must be >= 1, got {attempts}")
    return n, m, p, field, int(params.get("seed", 0)), attempts, best_known_rank(n, m, p, field)


def tensor_dataset_name(n: int, m: int, p: int, field: str, seed: int, attempts: int) -> str:
    """The dataset name `tensor_dataset` parses: one walk of <n,m,p> in `field` from `seed`
    with a budget of `attempts` candidate flips."""
    return f"{n}x{m}x{p}:{field}:seed={seed}:attempts={attempts}"


def tensor_prepare(names: tuple[str, ...]) -> list[tuple[str, Any]]:
    """Parse the dataset names and look up the target ranks."""
    import discoverygym.agents.heuristics.tensor_lift
    import discoverygym.agents.heuristics.tensor_search  # noqa: F401

    return [(name, tensor_dataset(name)) for name in names]


def tensor_decide(fn: Callable, data: list[tuple[str, Any]]) -> dict[str, dict[str, Any]]:
    """One walk per dataset entry: its best scheme and the candidate flips it used."""
    from discoverygym.agents.heuristics.tensor_search import DRAW_LIMIT, flip_graph_search

    decisions = {}
    for name, (n, m, p, field, seed, attempts, target) in data:
        result = flip_graph_search(n, m, p, field, time_budget=None, attempt_budget=attempts,
                                   target_rank=target, seed=seed, propose=fn,
                                   draw_limit=DRAW_LIMIT)
        u, v, w = result.decomposition
        decisions[name] = {"u": u.tolist(), "v": v.tolist(), "w": w.tolist(),
                           "attempts": min(int(result.candidates), attempts)}
    return decisions


def _factor(value: Any, where: str, rows: int, rank: int | None) -> np.ndarray:
    if not isinstance(value, list) or len(value) != rows:
        raise DecisionError(f"{where}: expected {rows} rows")
    width = rank if rank is not None else (len(value[0]) if value and isinstance(value[0], list)
                                           else -1)
    out = np.zeros((rows, max(width, 0)), np.int64)
    for r, row in enumerate(value):
        out[r] = _int_list(row, f"{where} row {r}", width, -1024, 1025)
    return out


def tensor_verify(data: list[tuple[str, Any]], decisions: Any) -> tuple[float, dict[str, float]]:
    """Verify every scheme exactly; minus the mean of (rank + attempts used / attempts)."""
    from discoverygym.agents.heuristics.tensor_search import proposal_fitness
    from discoverygym.envs.tensor.tensors import DecompositionError, verify_matmul_decomposition

    decisions = _expect_names(decisions, [name for name, _ in data])
    scores = {}
    for name, (n, m, p, field, _, budget, target) in data:
        entry = decisions[name]
        if not isinstance(entry, dict) or set(entry) != {"u", "v", "w", "attempts"}:
            raise DecisionError(f"{name}: expected keys attempts, u, v, w")
        used = entry["attempts"]
        if type(used) is not int or not 0 <= used <= budget:
            raise DecisionError(f"{name}: attempts {used!r} outside 0..{budget}")
        u = _factor(entry["u"], f"{name} u", n * m, None)
        rank = u.shape[1]
        if not 0 < rank <= n * m * p:
            raise DecisionError(f"{name}: rank {rank} outside 1..{n * m * p}")
        v = _factor(entry["v"], f"{name} v", m * p, rank)
        w = _factor(entry["w"], f"{name} w", p * n, rank)
        try:
            verify_matmul_decomposition(n, m, p, u, v, w, field=field)
        except (DecompositionError, ValueError) as error:
            raise DecisionError(f"{name}: not a scheme for <{n},{m},{p}> ({field}): "
                                f"{error}") from None
        if rank > target and used != budget:
            raise DecisionError(f"{name}: rank {rank} above the target {target} after {used} "
                                f"of {budget} attempts (a walk stops early only at the target)")
        scores[name] = float(proposal_fitness(rank, used, budget))
    return float(np.mean(list(scores.values()))), scores


def tensor_namespace() -> dict[str, Any]:
    """Names a tensor candidate may use without importing them."""
    from discoverygym.agents.heuristics.tensor_search import Flip

    return {"Flip": Flip}


def tensor_agent(fn: Callable):
    """The tensor game's evolved part is a search routine, not an env policy: the proposal."""
    return fn


# -------------------------------------------------------------------------------- cap set
def capset_prepare(names: tuple[str, ...]) -> list[tuple[str, int]]:
    """`n<d>` dataset names -> (name, n) (KeyError listing the known names)."""
    import discoverygym.envs.capset.construction  # noqa: F401 - before the sandbox locks down
    from discoverygym.envs.capset.datasets import parse_dataset

    return [(name, parse_dataset(name)) for name in names]


def capset_decide(fn: Callable, data: list[tuple[str, int]]) -> dict[str, list[int]]:
    """FunSearch's greedy construction with the candidate's priority: the chosen vectors."""
    from discoverygym.envs.capset.construction import greedy_cap_set

    decisions = {}
    for name, n in data:
        vectors = greedy_cap_set(n, fn).astype(np.int64)
        decisions[name] = (vectors @ (3 ** np.arange(n - 1, -1, -1))).tolist()
    return decisions


def capset_verify(data: list[tuple[str, int]], decisions: Any) -> tuple[float, dict[str, float]]:
    """Check each set with the independent checker; minus the mean gap (%) to the best known."""
    from discoverygym.envs.capset.checker import CapSetError
    from discoverygym.envs.capset.geometry import all_vectors
    from discoverygym.envs.capset.score import score_cap_set

    decisions = _expect_names(decisions, [name for name, _ in data])
    gaps, scores = [], {}
    for name, n in data:
        chosen = decisions[name]
        length = len(chosen) if isinstance(chosen, list) else -1
        indices = _int_list(chosen, name, length, 0, 3**n)
        if len(set(indices.tolist())) != len(indices):
            raise DecisionError(f"{name}: a vector is chosen twice")
        try:
            result = score_cap_set(n, all_vectors(n)[indices])
        except CapSetError as error:
            raise DecisionError(f"{name}: {error}") from None
        gaps.append(result.gap_pct)
        scores[name] = float(result.size)
    return -float(np.mean(gaps)), scores


def capset_agent(fn: Callable):
    """An env agent playing the greedy construction with the evolved priority."""
    from discoverygym.agents.heuristics.capset import PriorityAgent

    return PriorityAgent(fn)
