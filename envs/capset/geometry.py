"""The geometry of F_3^n: its vectors, their indices (FunSearch's order), third points of lines.

Vector i is the i-th vector of ``itertools.product((0, 1, 2), repeat=n)``: its base-3 digits,
most significant first, so ``i = sum(v[k] * 3 ** (n - 1 - k))``. The digit table of every n is
built once and cached read-only.
"""

from __future__ import annotations

import functools
import itertools
import operator
from typing import Any

import numpy as np

__all__ = [
    "MAX_N",
    "MIN_N",
    "all_vectors",
    "check_n",
    "index_of",
    "powers",
    "third_table",
    "vector_of",
]

MIN_N = 1
MAX_N = 9  # the bounds table ends at 9; the game's state is 2 * 3^n bytes (39 KiB at n = 9)


def check_n(n: Any) -> int:
    """`n` as an int, or ValueError naming it and the supported range."""
    if isinstance(n, bool):
        raise TypeError(f"n must be an integer from {MIN_N} to {MAX_N}, got {n!r}")
    try:
        value = operator.index(n)
    except TypeError:
        raise TypeError(f"n must be an integer from {MIN_N} to {MAX_N}, got {n!r}") from None
    if not MIN_N <= value <= MAX_N:
        raise ValueError(f"n must be an integer from {MIN_N} to {MAX_N}, got {value}")
    return value


@functools.cache
def powers(n: int) -> np.ndarray:
    """``3 ** (n-1), ..., 3, 1`` (int64, read-only): ``vectors @ powers(n)`` are their indices."""
    out = 3 ** np.arange(check_n(n) - 1, -1, -1, dtype=np.int64)
    out.flags.writeable = False
    return out


@functools.cache
def all_vectors(n: int) -> np.ndarray:
    """Every vector of F_3^n in FunSearch's order, shape (3^n, n), int8, read-only."""
    table = np.array(list(itertools.product((0, 1, 2), repeat=check_n(n))), dtype=np.int8)
    table.flags.writeable = False
    return table


def index_of(vectors: np.ndarray, n: int) -> np.ndarray:
    """The indices (int64) of the rows of `vectors`, shape (k, n) with entries in {0, 1, 2}."""
    array = np.asarray(vectors)
    if array.ndim != 2 or array.shape[1] != n:
        raise ValueError(f"expected vectors of shape (k, {n}), got shape {array.shape}")
    if array.size and (array.min() < 0 or array.max() > 2):
        raise ValueError("vector entries must be 0, 1 or 2")
    return array.astype(np.int64) @ powers(n)


def vector_of(index: int, n: int) -> tuple[int, ...]:
    """The vector with index `index` as a tuple of ints."""
    size = 3 ** check_n(n)
    if not 0 <= index < size:
        raise ValueError(f"vector index {index} is outside 0..{size - 1} for n = {n}")
    return tuple(int(x) for x in all_vectors(n)[index])


@functools.cache
def third_table(digits: int) -> np.ndarray:
    """``T[x, y]``: the index of -(x + y) mod 3 (digitwise) for vectors x, y of `digits` digits
    given by their indices; int64 (3^d, 3^d), read-only. The env splits a vector of F_3^n
    into its first ``n // 2`` and last ``n - n // 2`` digits, so that the third point of a line
    is two table lookups (at n = 9 the larger table has 243^2 entries, 472 KB)."""
    if isinstance(digits, bool) or not isinstance(digits, int) or not 0 <= digits <= 5:
        raise ValueError(f"third_table takes 0 to 5 digits, got {digits!r}")
    if digits == 0:
        table = np.zeros((1, 1), dtype=np.int64)
    else:
        v = all_vectors(digits).astype(np.int64)
        table = ((-(v[:, None, :] + v[None, :, :])) % 3) @ powers(digits)
    table.flags.writeable = False
    return table
