"""The cap set game's metric: the size of a verified cap set, next to the best known size.

`score_cap_set(n, vectors)` is the one scoring function for every player of the game (an env
episode's final ``info["cap_set"]``, a construction's decisions, an evolved program's
output): it verifies the vectors with the independent checker and never trusts a size it is
given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from discoverygym.envs.capset.bounds import bound, gap_pct
from discoverygym.envs.capset.checker import verify
from discoverygym.envs.capset.geometry import check_n

__all__ = ["METRIC", "CapSetScore", "score_cap_set"]

METRIC = "size"


@dataclass(frozen=True)
class CapSetScore:
    """A verified cap set's size, the best known size, the gap in percent, and whether the size
    is optimal (True/False where the optimum is proven, n <= 6; None where it is not)."""

    n: int
    size: int
    best_known: int
    gap_pct: float
    optimal: bool | None


def score_cap_set(n: int, vectors: Any) -> CapSetScore:
    """Verify `vectors` as a cap set of F_3^n (`CapSetError` if not) and score its size."""
    n = check_n(n)
    size = verify(n, vectors)
    best = bound(n)
    optimal = (size == best.size) if best.optimal else None
    return CapSetScore(n, size, best.size, gap_pct(size, n), optimal)
