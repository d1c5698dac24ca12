"""An independent cap set checker: no three distinct members on a line.

It uses nothing from the env, the construction or the vector tables; give it `n` and the
vectors (any iterable of length-n sequences of the integers 0, 1, 2, or an integer array of
shape (k, n)). Three distinct vectors a, b, c of F_3^n lie on a line exactly when
a + b + c = 0 (mod 3), so a set is a cap set when for no two members a, b the third point
-(a + b) mod 3 is a member too.

`verify(n, vectors)` returns the size or raises `CapSetError` with the reason (the member and
entry at fault, the repeated vector, or the three members on a line and their positions);
`find_line` returns the first line found, or None. The check costs O(k^2 n) with k vectors,
vectorised one member at a time; at most `MAX_VECTORS` vectors are accepted (every cap set of
n <= 9 is far smaller) and n from 1 to `MAX_CHECK_N` (indices fit int64).
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = ["MAX_CHECK_N", "MAX_VECTORS", "CapSetError", "find_line", "verify"]

MAX_CHECK_N = 39  # 3^39 < 2^63
MAX_VECTORS = 20_000


class CapSetError(ValueError):
    """The vectors are not a cap set of F_3^n; the message names the members at fault."""


def _check_n(n: Any) -> int:
    if isinstance(n, bool):
        raise CapSetError(f"n must be an integer from 1 to {MAX_CHECK_N}, got {n!r}")
    try:
        value = operator.index(n)
    except TypeError:
        raise CapSetError(f"n must be an integer from 1 to {MAX_CHECK_N}, got {n!r}") from None
    if not 1 <= value <= MAX_CHECK_N:
        raise CapSetError(f"n must be an integer from 1 to {MAX_CHECK_N}, got {value}")
    return value


def _as_array(n: int, vectors: Any) -> np.ndarray:
    """The vectors as an int64 array of shape (k, n), every entry checked."""
    if isinstance(vectors, np.ndarray):
        if vectors.ndim != 2 or vectors.shape[1] != n:
            raise CapSetError(f"expected an array of shape (k, {n}), got shape {vectors.shape}")
        if vectors.shape[0] > MAX_VECTORS:
            raise CapSetError(
                f"{vectors.shape[0]} vectors is over the checker's limit of {MAX_VECTORS}"
            )
        if vectors.dtype.kind not in "iu":
            raise CapSetError(f"expected an integer array, got dtype {vectors.dtype}")
        array = vectors.astype(np.int64)
        bad = np.argwhere((array < 0) | (array > 2))
        if bad.size:
            i, j = (int(x) for x in bad[0])
            raise CapSetError(f"member {i} has entry {array[i, j]} at position {j}; entries are 0, 1, 2")
        return array
    if isinstance(vectors, (str, bytes)) or not isinstance(vectors, Iterable):
        raise CapSetError(
            f"expected a sequence of vectors, got {type(vectors).__name__}"
        )
    rows: list[list[int]] = []
    for i, vector in enumerate(vectors):
        if i >= MAX_VECTORS:
            raise CapSetError(f"more than {MAX_VECTORS} vectors is over the checker's limit")
        if isinstance(vector, (str, bytes)) or not isinstance(vector, (Sequence, np.ndarray)):
            raise CapSetError(f"member {i} is {vector!r}; expected a sequence of {n} entries")
        if len(vector) != n:
            raise CapSetError(f"member {i} has {len(vector)} entries; expected n = {n}")
        row = []
        for j, entry in enumerate(vector):
            if isinstance(entry, (bool, np.bool_)) or not isinstance(entry, (int, np.integer)):
                raise CapSetError(
                    f"member {i} has entry {entry!r} at position {j}; entries are the integers 0, 1, 2"
                )
            if not 0 <= entry <= 2:
                raise CapSetError(
                    f"member {i} has entry {entry} at position {j}; entries are 0, 1, 2"
                )
            row.append(int(entry))
        rows.append(row)
    return np.array(rows, dtype=np.int64).reshape(len(rows), n)


def _line(n: int, array: np.ndarray) -> tuple[int, int, int] | None:
    """Positions (i, j, m) of three members on a line (i < j, the third at m), else None.

    Raises `CapSetError` on a repeated vector (a line needs three distinct points)."""
    weights = np.array([3**e for e in range(n - 1, -1, -1)], dtype=np.int64)
    codes = array @ weights
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    repeated = np.flatnonzero(sorted_codes[1:] == sorted_codes[:-1])
    if repeated.size:
        first, second = sorted(int(order[r]) for r in (repeated[0], repeated[0] + 1))
        raise CapSetError(
            f"members {first} and {second} are the same vector {array[first].tolist()}"
        )
    for i in range(len(array) - 1):
        third = (-(array[i] + array[i + 1 :])) % 3 @ weights
        where = np.searchsorted(sorted_codes, third)
        where[where == len(sorted_codes)] = 0
        hits = np.flatnonzero(sorted_codes[where] == third)
        if hits.size:
            j = i + 1 + int(hits[0])
            return i, j, int(order[where[hits[0]]])
    return None


def find_line(n: int, vectors: Any) -> tuple[int, int, int] | None:
    """The positions of three distinct members on a line (the first two in order), or None."""
    n = _check_n(n)
    return _line(n, _as_array(n, vectors))


def verify(n: int, vectors: Any) -> int:
    """The size of the cap set `vectors` in F_3^n; `CapSetError` with the reason otherwise."""
    n = _check_n(n)
    array = _as_array(n, vectors)
    line = _line(n, array)
    if line is not None:
        i, j, m = line
        a, b, c = (array[x].tolist() for x in (i, j, m))
        raise CapSetError(
            f"members {i}, {j} and {m} lie on a line: {a} + {b} + {c} = 0 (mod 3)"
        )
    return len(array)
