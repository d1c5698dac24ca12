"""The largest cap set sizes known in F_3^n, n = 1..9 (optimal up to n = 6).

The table and its sources are those of the project's data snapshot
(``shared/data/capset/README.md``); see ``data/PROVENANCE.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

from discoverygym.envs.capset.geometry import check_n

__all__ = ["BOUNDS", "CapSetBound", "best_known", "bound", "gap_pct"]


@dataclass(frozen=True)
class CapSetBound:
    """The largest known cap set size in dimension `n`; `optimal`: proven to be the largest."""

    n: int
    size: int
    optimal: bool
    source: str


BOUNDS: dict[int, CapSetBound] = {
    b.n: b
    for b in (
        CapSetBound(1, 2, True, "trivial"),
        CapSetBound(2, 4, True, "trivial (exhaustive)"),
        CapSetBound(3, 9, True, "classical (exhaustive)"),
        CapSetBound(4, 20, True, "Pellegrino 1970"),
        CapSetBound(5, 45, True, "Edel, Ferret, Landjev, Storme 2002"),
        CapSetBound(6, 112, True, "Potechin 2008"),
        CapSetBound(7, 236, False, "Edel"),
        CapSetBound(8, 512, False, "FunSearch (Romera-Paredes et al., Nature 2023); previously 496"),
        CapSetBound(9, 1082, False, "best known, as listed in the data snapshot"),
    )
}


def bound(n: int) -> CapSetBound:
    """The table's entry for `n` (ValueError naming n outside 1..9)."""
    return BOUNDS[check_n(n)]


def best_known(n: int) -> int:
    """The largest known cap set size in F_3^n."""
    return bound(n).size


def gap_pct(size: float, n: int) -> float:
    """How far `size` is below the best known size, in percent: 100 (best - size) / best.

    0 at the best known size, 100 for the empty set; negative would be a new record.
    """
    best = best_known(n)
    return 100.0 * (best - float(size)) / best
