"""FunSearch's greedy cap set construction, driven by a `priority(el, n)` function.

Every vector ``el`` of F_3^n (a tuple of ints, in ``itertools.product((0, 1, 2), repeat=n)``
order) gets ``priority(el, n)``; then, repeatedly, the vector of highest priority that is not
blocked is added (ties to the lowest index) and every vector that would complete a line with
it and a member, ``-(a + el) mod 3`` for each member a, is blocked. It stops when no vector is
left. A priority of ``-inf`` means "never add" (as in FunSearch's skeleton, which marks blocked
vectors with -inf); NaN or a value that is not a real number raises `PriorityError`.

The construction returns its decisions, the chosen vectors in order (int8, shape (k, n)),
never a score: whoever runs an untrusted priority (the evolution sandbox) hands these back and
the parent verifies them with `checker.verify` and scores them itself. This module imports only
the standard library, numpy and `geometry`, so that it can run as it is in a sandboxed child.

With a constant priority the construction gives 2^n vectors for n = 3..8 (FunSearch's
notebook; the tests check it).
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Callable

import numpy as np

from discoverygym.envs.capset.geometry import MAX_N, check_n

__all__ = [
    "MAX_N",
    "Priority",
    "PriorityError",
    "constant_priority",
    "greedy_cap_set",
    "greedy_from_priorities",
    "priorities_of",
]

Priority = Callable[[tuple[int, ...], int], float]


class PriorityError(ValueError):
    """A priority function returned something that is not a usable number."""


def constant_priority(el: tuple[int, ...], n: int) -> float:
    """FunSearch's seed program: every vector has the same priority."""
    return 0.0


def priorities_of(n: int, priority: Priority) -> np.ndarray:
    """``priority(el, n)`` of every vector, float64 of shape (3^n,)."""
    n = check_n(n)
    out = np.empty(3**n, dtype=np.float64)
    for i, el in enumerate(itertools.product((0, 1, 2), repeat=n)):
        value = priority(el, n)
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise PriorityError(
                f"priority({el}, {n}) returned {value!r} ({type(value).__name__}); expected a number"
            )
        value = float(value)
        if math.isnan(value):
            raise PriorityError(f"priority({el}, {n}) returned NaN")
        out[i] = value
    return out


def greedy_from_priorities(n: int, priorities: np.ndarray) -> np.ndarray:
    """The greedy cap set of the given per-vector priorities; the vectors in the order chosen."""
    n = check_n(n)
    scores = np.array(priorities, dtype=np.float64)
    if scores.shape != (3**n,):
        raise ValueError(f"expected {3**n} priorities (one per vector), got shape {scores.shape}")
    if np.isnan(scores).any():
        raise PriorityError(f"priority of vector {int(np.flatnonzero(np.isnan(scores))[0])} is NaN")
    digits = np.array(list(itertools.product((0, 1, 2), repeat=n)), dtype=np.int8)
    weights = 3 ** np.arange(n - 1, -1, -1, dtype=np.int64)
    chosen = np.empty((3**n, n), dtype=np.int8)
    size = 0
    while True:
        best = int(np.argmax(scores))
        if scores[best] == -np.inf:
            break
        vector = digits[best]
        thirds = ((-(chosen[:size] + vector)) % 3).astype(np.int64) @ weights
        scores[thirds] = -np.inf
        scores[best] = -np.inf
        chosen[size] = vector
        size += 1
    return chosen[:size].copy()


def greedy_cap_set(n: int, priority: Priority = constant_priority) -> np.ndarray:
    """FunSearch's construction with `priority`: the chosen vectors in order, int8 (k, n)."""
    return greedy_from_priorities(n, priorities_of(n, priority))
