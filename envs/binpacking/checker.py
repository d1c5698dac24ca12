"""An independent packing checker: every item placed exactly once, no bin over capacity.

It uses nothing from the env or the evaluator; give it the items, the capacity and the bin of
every item (`assignment[i]` = bin index of item i, in arrival order).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["PackingError", "PackingReport", "check_packing"]


class PackingError(ValueError):
    """The packing is invalid; the message names the item or bin at fault."""


@dataclass(frozen=True)
class PackingReport:
    """A valid packing: the number of non-empty bins and the load of each of them."""

    num_bins: int
    loads: dict[int, float]


def check_packing(
    items: Sequence[float] | np.ndarray,
    capacity: float,
    assignment: Sequence[int] | np.ndarray,
    *,
    rel_tol: float = 1e-9,
) -> PackingReport:
    """Check a packing and return its report; raise `PackingError` if it is invalid.

    Integer sizes are summed exactly; other sizes with `math.fsum` and a tolerance of
    `rel_tol * capacity` (decimal sizes such as 33.3 are not exact in binary).
    """
    items = list(np.asarray(items).ravel().tolist())
    bins = (
        assignment.ravel().tolist()
        if isinstance(assignment, np.ndarray)
        else [int(b) if isinstance(b, np.integer) else b for b in assignment]
    )
    if len(bins) != len(items):
        raise PackingError(
            f"{len(items)} items but {len(bins)} assignments: every item must be placed exactly once"
        )
    contents: dict[int, list[float]] = {}
    for i, (size, b) in enumerate(zip(items, bins)):
        if not isinstance(b, int) or isinstance(b, bool) or b < 0:
            raise PackingError(f"item {i} is assigned to {b!r}; expected a bin index >= 0")
        if not size > 0:
            raise PackingError(f"item {i} has size {size!r}; expected a positive size")
        contents.setdefault(b, []).append(size)
    exact = all(isinstance(x, int) for x in items) and float(capacity).is_integer()
    tolerance = 0 if exact else rel_tol * float(capacity)
    loads = {}
    for b, sizes in sorted(contents.items()):
        load = sum(sizes) if exact else math.fsum(sizes)
        if load > capacity + tolerance:
            raise PackingError(
                f"bin {b} holds {load} > capacity {capacity} (items of sizes {sizes})"
            )
        loads[b] = load
    return PackingReport(num_bins=len(contents), loads=loads)
