"""Score a FunSearch-style priority function exactly as FunSearch does.

Protocol (FunSearch's `bin_packing.ipynb`): for an instance of n items, n empty bins are
pre-allocated; for each item in arrival order, `priority(item, bins)` receives the item and the
remaining capacities of the bins in which it fits, in bin-index order (empty bins included),
and the item goes into the bin with the highest priority (the first one on ties, `np.argmax`).
The bins used are those no longer empty; the excess is (mean bins - mean L1) / mean L1 in %.

`item` is passed as a Python number and `bins` as an int64 array when the instance is integral
(as in FunSearch), float64 otherwise; fits are decided on the exact integer grid.

Speed: bins beyond the highest one used so far are all empty, so only that prefix is scanned
and the empty tail is filled with the capacity; the arrays handed to `priority` are the same
as in FunSearch's loop (`reference_pack` below, used by the tests and the benchmark), and the
output checks cost O(1) on the fast path (numpy's argmax returns the first NaN, if any).
``empty_bins="first"`` (opt-in) hands only the first empty bin to `priority`: several times
faster on large instances, exact only for priorities that score each bin on its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from discoverygym.envs.binpacking.bounds import excess_pct, l1_bound
from discoverygym.envs.binpacking.instances import Dataset, Instance

__all__ = [
    "EvaluationResult",
    "PriorityError",
    "Priority",
    "evaluate_priority",
    "pack_instance",
    "reference_pack",
]

Priority = Callable[[float, np.ndarray], np.ndarray]


class PriorityError(RuntimeError):
    """The priority function failed; the message names the instance and the item index."""


@dataclass(frozen=True)
class EvaluationResult:
    """The score of a priority function on a dataset (per-instance arrays in dataset order)."""

    dataset: str
    instance_names: tuple[str, ...]
    bins_per_instance: np.ndarray
    l1_per_instance: np.ndarray
    assignments: tuple[np.ndarray, ...] = field(repr=False)
    seconds: float = 0.0

    @property
    def mean_bins(self) -> float:
        return float(np.mean(self.bins_per_instance))

    @property
    def mean_l1(self) -> float:
        return float(np.mean(self.l1_per_instance))

    @property
    def excess_pct(self) -> float:
        """(mean bins - mean L1) / mean L1 in percent (FunSearch's Table 1 metric)."""
        return excess_pct(self.bins_per_instance, self.l1_per_instance)

    @property
    def num_items(self) -> int:
        return int(sum(a.size for a in self.assignments))


def _check_scores(scores: object, expected: int, instance: Instance, index: int) -> np.ndarray:
    """Slow path of the output check: a clear error naming the item, or the scores as an array."""
    try:
        array = np.asarray(scores)
    except Exception as error:  # noqa: BLE001 - any conversion failure is the function's fault
        raise PriorityError(
            f"priority returned a value that is not an array for item {index} of instance {instance.name!r}: {error}"
        ) from None
    if array.shape != (expected,):
        raise PriorityError(
            f"priority returned shape {array.shape} for item {index} of instance {instance.name!r}; "
            f"expected ({expected},), one score per bin passed"
        )
    if array.dtype.kind not in _REAL_KINDS:
        raise PriorityError(
            f"priority returned dtype {array.dtype} for item {index} of instance {instance.name!r}; expected real numbers"
        )
    return array


_REAL_KINDS = "fiub"


def pack_instance(
    priority: Priority, instance: Instance, empty_bins: Literal["all", "first"] = "all"
) -> np.ndarray:
    """Pack one instance with FunSearch's protocol; return the bin index of every item.

    ``empty_bins="first"`` passes only the first empty bin instead of all of them: faster, and
    the same packing for any priority that scores each bin from its own remaining capacity,
    but not for priorities that look at other bins (FunSearch's evolved Weibull function does).
    """
    if empty_bins not in ("all", "first"):
        raise ValueError(f"empty_bins must be 'all' or 'first', got {empty_bins!r}")
    all_empty = empty_bins == "all"
    n, cap, scale = instance.num_items, instance.grid_capacity, instance.scale
    sizes = instance.sizes.tolist()
    items = instance.items.tolist()
    dtype = np.int64 if scale == 1 else np.float64
    empty_value = cap if scale == 1 else cap / scale
    rem = np.full(n, cap, dtype=np.int64)
    assignment = np.empty(n, dtype=np.int64)
    ndarray = np.ndarray
    hi = 0  # every bin at index >= hi is still empty
    for t in range(n):
        size = sizes[t]
        head = rem[:hi]
        fits = (head >= size).nonzero()[0]
        m = fits.size
        bins = np.empty(m + (n - hi if all_empty else 1), dtype)
        if scale == 1:
            head.take(fits, out=bins[:m])
        else:
            np.divide(head.take(fits), scale, out=bins[:m])
        bins[m:] = empty_value
        try:
            scores = priority(items[t], bins)
        except Exception as error:  # noqa: BLE001 - re-raised with the item index
            raise PriorityError(
                f"priority raised {type(error).__name__}: {error} on item {t} (size {items[t]}) "
                f"of instance {instance.name!r}"
            ) from error
        if (
            type(scores) is not ndarray
            or scores.shape != bins.shape
            or scores.dtype.kind not in _REAL_KINDS
        ):
            scores = _check_scores(scores, bins.size, instance, t)
        j = int(scores.argmax())
        if scores.dtype.kind == "f" and scores[j] != scores[j]:  # argmax returns the first NaN
            raise PriorityError(
                f"priority returned NaN for item {t} (size {items[t]}) of instance {instance.name!r}"
            )
        b = int(fits[j]) if j < m else hi + (j - m)
        rem[b] -= size
        assignment[t] = b
        if b >= hi:
            hi = b + 1
    return assignment


def evaluate_priority(
    priority: Priority, dataset: Dataset | Instance, *, empty_bins: Literal["all", "first"] = "all"
) -> EvaluationResult:
    """Score `priority` on every instance of `dataset` with FunSearch's protocol.

    Raises `PriorityError` naming the instance and item index when `priority` raises or returns
    the wrong shape, a non-numeric array or NaN. `empty_bins`: see `pack_instance`.

    >>> result = evaluate_priority(lambda item, bins: -(bins - item), load_dataset("or3"))
    >>> round(result.excess_pct, 2)
    5.37
    """
    instances = (dataset,) if isinstance(dataset, Instance) else tuple(dataset)
    name = dataset.name
    start = time.perf_counter()
    assignments = tuple(pack_instance(priority, inst, empty_bins) for inst in instances)
    seconds = time.perf_counter() - start
    return EvaluationResult(
        dataset=name,
        instance_names=tuple(inst.name for inst in instances),
        bins_per_instance=np.array([np.unique(a).size for a in assignments], dtype=np.int64),
        l1_per_instance=np.array(
            [l1_bound(inst.sizes, inst.grid_capacity) for inst in instances], dtype=np.int64
        ),
        assignments=assignments,
        seconds=seconds,
    )


def reference_pack(priority: Priority, items: list, capacity: float) -> int:
    """FunSearch's notebook loop, verbatim in spirit: the straightforward reference.

    Returns the number of bins used. Used by the tests (exactness) and the benchmark (speed).
    """
    bins = np.array([capacity for _ in range(len(items))])
    for item in items:
        valid = np.nonzero((bins - item) >= 0)[0]
        best = valid[np.argmax(priority(item, bins[valid]))]
        bins[best] -= item
    return int((bins != capacity).sum())
