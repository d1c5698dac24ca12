"""Hensel lifting of mod-2 schemes to schemes with coefficients in {-1, 0, 1} over the integers.

A mod-2 scheme (U, V, W) with 0/1 entries is lifted to (U + 2X, V + 2Y, W + 2Z) modulo 4,
with X, Y, Z supported on the nonzero entries (so each 1 becomes 1 or 3 = -1 mod 4). The
condition sum (U+2X)(x)(V+2Y)(x)(W+2Z) = T (mod 4) is linear over GF(2) in (X, Y, Z):

    sum_r X_r (x) V_r (x) W_r + U_r (x) Y_r (x) W_r + U_r (x) V_r (x) Z_r = (T - sum U(x)V(x)W) / 2.

Random solutions of that system give sign patterns; a pattern is accepted only when it
reconstructs T exactly over the integers (Kauers & Moosbauer 2022 lift their mod-2 schemes
the same way, Hensel step by step).
"""

from __future__ import annotations

import random

import numpy as np

from discoverygym.envs.tensor.tensors import reconstruct


def _eliminate(rows: list[int], nvars: int) -> tuple[list[tuple[int, int]], bool]:
    """Gauss-Jordan over GF(2) on rows packed as ints (bit nvars = right-hand side).
    Returns the (pivot column, row) pairs and whether the system is consistent."""
    pivots: list[tuple[int, int]] = []
    rows = [r for r in rows if r]
    for col in range(nvars):
        bit = 1 << col
        for idx, row in enumerate(rows):  # noqa: B007 (idx is the pivot row after the loop)
            if row & bit:
                break
        else:
            continue
        pivot = rows.pop(idx)
        rows = [r ^ pivot if r & bit else r for r in rows]
        pivots = [(c, r ^ pivot if r & bit else r) for c, r in pivots]
        pivots.append((col, pivot))
    consistent = all(r == 0 for r in rows)  # leftover rows are 0 = rhs
    return pivots, consistent


def lift_mod2(
    target: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    w: np.ndarray,
    *,
    tries: int = 32,
    rng: random.Random | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """A {-1,0,1} scheme reconstructing `target` exactly whose reduction mod 2 is (u, v, w),
    or None when `tries` random sign patterns valid modulo 4 all fail over the integers."""
    rng = rng or random.Random(0)
    u, v, w = (np.asarray(x, dtype=np.int64) % 2 for x in (u, v, w))
    target = np.asarray(target, dtype=np.int64)
    residual = target - reconstruct(u, v, w)
    if np.any(residual % 2):
        raise ValueError("lift_mod2 needs a scheme that is valid modulo 2")
    rhs = ((residual // 2) % 2).ravel()
    factors = (u, v, w)
    unknowns = [(mode, a, r) for mode, f in enumerate(factors) for a, r in zip(*np.nonzero(f))]
    nvars = len(unknowns)
    columns = np.zeros((rhs.size, nvars), dtype=np.uint8)
    for col, (mode, a, r) in enumerate(unknowns):
        parts = [f[:, r] for f in factors]
        unit = np.zeros_like(parts[mode])
        unit[a] = 1
        parts[mode] = unit
        columns[:, col] = np.einsum("a,b,c->abc", *parts).ravel() % 2
    weights = [1 << k for k in range(nvars)] + [1 << nvars]
    packed = np.concatenate([columns, rhs[:, None].astype(np.uint8)], axis=1)
    rows = sorted(
        {int(sum(weights[k] for k in np.flatnonzero(row))) for row in packed if row.any()}
    )
    pivots, consistent = _eliminate(rows, nvars)
    if not consistent:
        return None
    pivot_cols = {c for c, _ in pivots}
    free = [k for k in range(nvars) if k not in pivot_cols]
    for _ in range(tries):
        assignment = 0
        for k in free:
            if rng.random() < 0.5:
                assignment |= 1 << k
        for col, row in pivots:
            rhs_bit = (row >> nvars) & 1
            parity = bin(row & assignment & ~(1 << col)).count("1") & 1
            if rhs_bit ^ parity:
                assignment |= 1 << col
        lifted = [f.copy() for f in factors]
        for k, (mode, a, r) in enumerate(unknowns):
            if (assignment >> k) & 1:
                lifted[mode][a, r] = -1
        if np.array_equal(reconstruct(*lifted), target):
            return lifted[0], lifted[1], lifted[2]
    return None
