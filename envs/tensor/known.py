"""The shipped decompositions (AlphaTensor, AlphaEvolve) and the best-known ranks table.

Files in `data/` (see data/PROVENANCE.md): `factorizations_r_nopickle.npz` (standard
arithmetic), `factorizations_f2_nopickle.npz` (mod 2), `alphaevolve_decompositions.npz`
(standard; some complex or with entries in 0.5*Z) and `best_known_ranks.csv`.
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np

from discoverygym.envs.tensor.tensors import Field, check_field, check_size

DATA = Path(__file__).resolve().parent / "data"
SOURCES: dict[str, str] = {
    "alphatensor": "factorizations_r_nopickle.npz",
    "alphatensor_mod2": "factorizations_f2_nopickle.npz",
    "alphaevolve": "alphaevolve_decompositions.npz",
}
Decomposition = tuple[np.ndarray, np.ndarray, np.ndarray]


def size_key(n: int, m: int, p: int) -> str:
    """The npz key prefix "n,m,p"."""
    return f"{n},{m},{p}"


def parse_size(text: str) -> tuple[int, int, int]:
    """Parse "2x2x3" (or "2,2,3") into (2, 2, 3); errors name the text."""
    parts = text.replace(",", "x").lower().split("x")
    try:
        n, m, p = (int(x) for x in parts)
    except ValueError:
        raise ValueError(
            f"tensor size {text!r} is not of the form 'NxMxP' (e.g. '2x2x3')"
        ) from None
    return check_size(n, m, p)


@cache
def _load(source: str) -> dict[str, Decomposition]:
    if source not in SOURCES:
        near = difflib.get_close_matches(source, SOURCES, n=3)
        raise KeyError(f"unknown source {source!r}; known: {', '.join(SOURCES)} (close: {near})")
    with np.load(DATA / SOURCES[source], allow_pickle=False) as archive:
        keys = sorted({name.split("/")[0] for name in archive.files})
        return {k: (archive[f"{k}/u"], archive[f"{k}/v"], archive[f"{k}/w"]) for k in keys}


def shipped(source: str) -> dict[str, Decomposition]:
    """Every decomposition of `source` ("alphatensor", "alphatensor_mod2", "alphaevolve"),
    keyed "n,m,p"; arrays are copies, in the file's dtype."""
    return {k: (u.copy(), v.copy(), w.copy()) for k, (u, v, w) in _load(source).items()}


def known_decomposition(
    n: int, m: int, p: int, field: Field = "standard", coefficients: Sequence[int] | None = None
) -> Decomposition:
    """The lowest-rank shipped decomposition of <n,m,p> valid in `field`, as (U, V, W).

    "mod2" uses AlphaTensor's mod-2 factorizations and, where lower or the only one,
    any integer decomposition (integer schemes are valid modulo 2; 0.5 or complex ones are
    not). "standard" picks among AlphaTensor's and AlphaEvolve's (which may be complex or
    use 0.5). With `coefficients`, only decompositions whose entries all lie in that set are
    considered (then returned as int64). Raises KeyError listing the shipped sizes when none
    exists.
    """
    check_field(field)
    n, m, p = check_size(n, m, p)
    if (n, m, p) != tuple(sorted((n, m, p))):  # files hold n <= m <= p; use the symmetries
        size = tuple(sorted((n, m, p)))
        return permute_decomposition(
            *known_decomposition(*size, field, coefficients), size, (n, m, p)
        )
    key = size_key(n, m, p)
    candidates: list[Decomposition] = []
    if field == "mod2":
        if key in _load("alphatensor_mod2"):
            candidates.append(_load("alphatensor_mod2")[key])
        for source in ("alphatensor", "alphaevolve"):
            dec = _load(source).get(key)
            if dec is not None and all(_is_integer(x) for x in dec):
                candidates.append(tuple(np.round(np.real(x)).astype(np.int64) % 2 for x in dec))
    else:
        candidates += [
            src[key] for src in (_load("alphatensor"), _load("alphaevolve")) if key in src
        ]
    if coefficients is not None:
        allowed = np.asarray(sorted(coefficients))
        candidates = [
            tuple(np.round(np.real(x)).astype(np.int64) for x in d)
            for d in candidates
            if all(_is_integer(x) and np.isin(np.real(x), allowed).all() for x in d)
        ]
    if not candidates:
        sizes = sorted(
            set(_load("alphatensor")) | set(_load("alphaevolve")) | set(_load("alphatensor_mod2"))
        )
        within = (
            "" if coefficients is None else f" with coefficients in {tuple(sorted(coefficients))}"
        )
        raise KeyError(
            f"no shipped decomposition of <{key}> ({field}){within}; shipped sizes: {' '.join(sizes)}"
        )
    u, v, w = min(candidates, key=lambda d: d[0].shape[1])
    return u.copy(), v.copy(), w.copy()


def _cyclic(
    dec: Decomposition, size: tuple[int, int, int]
) -> tuple[Decomposition, tuple[int, int, int]]:
    """<n,m,p> -> <m,p,n>: T<m,p,n>[b, c, a] = T<n,m,p>[a, b, c], so (U, V, W) -> (V, W, U)."""
    u, v, w = dec
    n, m, p = size
    return (v, w, u), (m, p, n)


def _transpose(
    dec: Decomposition, size: tuple[int, int, int]
) -> tuple[Decomposition, tuple[int, int, int]]:
    """<n,m,p> -> <p,m,n> from (AB)^T = B^T A^T: rows re-indexed, roles of U and V swapped."""
    u, v, w = dec
    n, m, p = size
    i, j, k = np.meshgrid(np.arange(n), np.arange(m), np.arange(p), indexing="ij")
    new_u = np.zeros((p * m,) + v.shape[1:], dtype=v.dtype)
    new_v = np.zeros((m * n,) + u.shape[1:], dtype=u.dtype)
    new_w = np.zeros((n * p,) + w.shape[1:], dtype=w.dtype)
    new_u[(k * m + j).ravel()] = v[(j * p + k).ravel()]
    new_v[(j * n + i).ravel()] = u[(i * m + j).ravel()]
    new_w[(i * p + k).ravel()] = w[(k * n + i).ravel()]
    return (new_u, new_v, new_w), (p, m, n)


def permute_decomposition(
    u: np.ndarray,
    v: np.ndarray,
    w: np.ndarray,
    size: tuple[int, int, int],
    to: tuple[int, int, int],
) -> Decomposition:
    """A decomposition of <n,m,p> turned into one of the permuted size `to` (same rank)."""
    if sorted(size) != sorted(to):
        raise ValueError(f"<{size_key(*to)}> is not a permutation of <{size_key(*size)}>")
    frontier = [((u, v, w), tuple(size))]
    seen = {tuple(size)}
    while frontier:
        dec, current = frontier.pop()
        if current == tuple(to):
            return dec[0].copy(), dec[1].copy(), dec[2].copy()
        for move in (_cyclic, _transpose):
            new_dec, new_size = move(dec, current)
            if new_size not in seen:
                seen.add(new_size)
                frontier.append((new_dec, new_size))
    raise AssertionError("unreachable: cyclic shifts and transposition generate all 6 orders")


def _is_integer(array: np.ndarray) -> bool:
    return bool(np.all(np.imag(array) == 0) and np.all(np.real(array) == np.round(np.real(array))))


@cache
def best_known_table() -> dict[tuple[int, int, int], dict[str, str]]:
    """Rows of best_known_ranks.csv keyed by the ordered triple (n, m, p)."""
    with (DATA / "best_known_ranks.csv").open(newline="") as handle:
        return {(int(r["n"]), int(r["m"]), int(r["p"])): r for r in csv.DictReader(handle)}


def best_known_rank(n: int, m: int, p: int, field: Field = "standard") -> int:
    """Best-known rank of <n,m,p> ("standard": characteristic 0, "mod2": characteristic 2).

    Sizes up to 5 come from the table; larger ones from the shipped decompositions (a known
    upper bound, not necessarily the record). Raises KeyError when neither has the size.
    """
    check_field(field)
    n, m, p = check_size(n, m, p)
    row = best_known_table().get((n, m, p))
    if row is not None:
        return int(row["rank_standard" if field == "standard" else "rank_mod2"])
    try:
        return int(known_decomposition(n, m, p, field)[0].shape[1])
    except KeyError:
        raise KeyError(
            f"no best-known rank for <{n},{m},{p}> ({field}): the table covers 2..5 and the "
            f"shipped decompositions are listed by `shipped(source)`"
        ) from None


def strassen() -> Decomposition:
    """Strassen's 1969 rank-7 scheme for <2,2,2> in this package's convention, as (U, V, W).

    M1 = (A11 + A22)(B11 + B22), M2 = (A21 + A22) B11, M3 = A11 (B12 - B22),
    M4 = A22 (B21 - B11), M5 = (A11 + A12) B22, M6 = (A21 - A11)(B11 + B12),
    M7 = (A12 - A22)(B21 + B22); C11 = M1 + M4 - M5 + M7, C12 = M3 + M5, C21 = M2 + M4,
    C22 = M1 - M2 + M3 + M6. Rows: U by A11, A12, A21, A22; V by B11, B12, B21, B22;
    W by C11, C21, C12, C22 (the third mode is C transposed).
    """
    u = np.array(
        [
            [1, 0, 1, 0, 1, -1, 0],
            [0, 0, 0, 0, 1, 0, 1],
            [0, 1, 0, 0, 0, 1, 0],
            [1, 1, 0, 1, 0, 0, -1],
        ]
    )
    v = np.array(
        [
            [1, 1, 0, -1, 0, 1, 0],
            [0, 0, 1, 0, 0, 1, 0],
            [0, 0, 0, 1, 0, 0, 1],
            [1, 0, -1, 0, 1, 0, 1],
        ]
    )
    w = np.array(
        [
            [1, 0, 0, 1, -1, 0, 1],
            [0, 1, 0, 1, 0, 0, 0],
            [0, 0, 1, 0, 1, 0, 0],
            [1, -1, 1, 0, 0, 1, 0],
        ]
    )
    return u.astype(np.int64), v.astype(np.int64), w.astype(np.int64)
