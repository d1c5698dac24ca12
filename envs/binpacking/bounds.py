"""Lower bounds on the number of bins (L1, Martello-Toth L2), known optima, and the excess metric."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from discoverygym.envs.binpacking.instances import Instance

__all__ = ["InstanceBounds", "excess_pct", "instance_bounds", "l1_bound", "l2_bound"]


def l1_bound(sizes: np.ndarray, capacity: int) -> int:
    """L1 = ceil(sum(sizes) / capacity), exact on integer sizes."""
    return int(-(-int(np.sum(sizes, dtype=np.int64)) // int(capacity)))


def l2_bound(sizes: np.ndarray, capacity: int) -> int:
    """Martello & Toth's L2 bound (1990) on integer sizes, vectorised over alpha.

    L2 = max over 0 <= alpha <= C/2 of |J1| + |J2| + max(0, ceil((sum J3 - (|J2| C - sum J2)) / C))
    with J1 = {s > C - alpha}, J2 = {C - alpha >= s > C/2}, J3 = {C/2 >= s >= alpha}; it suffices
    to try alpha = 0 and alpha = every distinct size <= C/2. L2 >= L1 (alpha = 0 gives L1).
    """
    c = int(capacity)
    s = np.sort(np.asarray(sizes, dtype=np.int64))
    prefix = np.concatenate(([0], np.cumsum(s)))
    n = s.size
    alphas = np.unique(np.concatenate(([0], s[s <= c // 2])))
    half = np.searchsorted(s, c // 2, side="right")  # first index with s > C/2
    upper = np.searchsorted(s, c - alphas, side="right")  # first index with s > C - alpha
    low = np.searchsorted(s, alphas, side="left")  # first index with s >= alpha
    n1 = n - upper
    n2 = upper - half
    sum2 = prefix[upper] - prefix[half]
    sum3 = prefix[half] - prefix[low]
    residual = sum3 - (n2 * c - sum2)
    extra = np.maximum(0, -(-residual // c))
    return int(np.max(n1 + n2 + extra))


@dataclass(frozen=True)
class InstanceBounds:
    """Bounds of one instance: L1 <= L2 <= optimum (when known)."""

    l1: int
    l2: int
    optimum: int | None

    @property
    def best_lower(self) -> int:
        """The optimum when known, else L2."""
        return self.optimum if self.optimum is not None else self.l2


def instance_bounds(instance: Instance) -> InstanceBounds:
    """L1, L2 and the proven optimum (BPPLib, None if unknown) of `instance`."""
    return InstanceBounds(
        l1=l1_bound(instance.sizes, instance.grid_capacity),
        l2=l2_bound(instance.sizes, instance.grid_capacity),
        optimum=instance.optimum,
    )


def excess_pct(bins: Sequence[float] | np.ndarray, l1: Sequence[float] | np.ndarray) -> float:
    """FunSearch's metric: (mean bins - mean L1) / mean L1, in percent."""
    mean_bins, mean_l1 = float(np.mean(bins)), float(np.mean(l1))
    return 100.0 * (mean_bins - mean_l1) / mean_l1
