"""Matrix multiplication tensors, decompositions and their exact checks (independent of the env).

Convention (AlphaTensor's and AlphaEvolve's): the tensor <n,m,p> of C = A @ B, with A of shape
(n, m) and B of shape (m, p), has shape (n*m, m*p, p*n) and

    T[i*m + j, j*p + k, k*n + i] = 1    for i < n, j < m, k < p,

so mode 1 is vec(A) row-major, mode 2 vec(B) row-major and mode 3 vec(C^T) row-major.
A decomposition is a triple of factor matrices (U, V, W) of shapes (n*m, R), (m*p, R), (p*n, R)
with T = sum_r U[:, r] (x) V[:, r] (x) W[:, r]; R is its rank.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Field = Literal["standard", "mod2"]
FIELDS: tuple[str, ...] = ("standard", "mod2")


class DecompositionError(ValueError):
    """A decomposition that does not reconstruct its tensor (names the first wrong entry)."""


def check_field(field: str) -> Field:
    """Return `field` if it is one of `FIELDS`, else raise naming it."""
    if field not in FIELDS:
        raise ValueError(f"unknown field {field!r}; expected one of {', '.join(FIELDS)}")
    return field  # type: ignore[return-value]


def check_size(n: int, m: int, p: int) -> tuple[int, int, int]:
    """Validate a tensor size: three integers >= 1."""
    for name, value in (("n", n), ("m", m), ("p", p)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"tensor size {name}={value!r} must be an integer >= 1")
    return int(n), int(m), int(p)


def matmul_tensor(n: int, m: int, p: int, dtype: type = np.int64) -> np.ndarray:
    """The tensor <n,m,p> of shape (n*m, m*p, p*n) in AlphaTensor's convention."""
    n, m, p = check_size(n, m, p)
    tensor = np.zeros((n * m, m * p, p * n), dtype=dtype)
    i, j, k = np.meshgrid(np.arange(n), np.arange(m), np.arange(p), indexing="ij")
    tensor[(i * m + j).ravel(), (j * p + k).ravel(), (k * n + i).ravel()] = 1
    return tensor


def reconstruct(u: np.ndarray, v: np.ndarray, w: np.ndarray) -> np.ndarray:
    """sum_r u[:, r] (x) v[:, r] (x) w[:, r], exactly for integer factors (as int64).

    Float and complex factors are summed in float64/complex128, exact for the dyadic
    coefficients (0.5, 0.125, ...) of the shipped decompositions at these sizes.
    """
    u, v, w = np.asarray(u), np.asarray(v), np.asarray(w)
    if u.ndim != 2 or v.ndim != 2 or w.ndim != 2 or not (u.shape[1] == v.shape[1] == w.shape[1]):
        raise ValueError(
            f"factor matrices must be 2-D with the same number of columns (the rank); "
            f"got shapes {u.shape}, {v.shape}, {w.shape}"
        )
    b, c, rank = v.shape[0], w.shape[0], u.shape[1]
    kind = np.result_type(u, v, w)
    if np.issubdtype(kind, np.integer):
        bound = float(rank) * _maxabs(u) * _maxabs(v) * _maxabs(w)
        if bound < 2.0**52:  # float64 BLAS is exact here, and far faster than int einsum
            khatri_rao = (
                v.astype(np.float64)[:, None, :] * w.astype(np.float64)[None, :, :]
            ).reshape(b * c, rank)
            return (
                np.rint(u.astype(np.float64) @ khatri_rao.T)
                .astype(np.int64)
                .reshape(u.shape[0], b, c)
            )
        return np.einsum("ar,br,cr->abc", u.astype(object), v.astype(object), w.astype(object))
    khatri_rao = (v[:, None, :] * w[None, :, :]).reshape(b * c, rank)
    return (u @ khatri_rao.T).reshape(u.shape[0], b, c)


def _maxabs(x: np.ndarray) -> float:
    return float(np.abs(x).max(initial=0))


def _exact(array: np.ndarray) -> np.ndarray:
    """Integers stay int64; dyadic floats (0.5, 0.125, ...) are exact in float64/complex128."""
    array = np.asarray(array)
    if np.issubdtype(array.dtype, np.complexfloating):
        return array.astype(np.complex128)
    if np.issubdtype(array.dtype, np.floating):
        if np.all(array == np.round(array)):
            return np.round(array).astype(np.int64)
        return array.astype(np.float64)
    return array.astype(np.int64)


def _first_wrong(got: np.ndarray, want: np.ndarray, field: Field) -> tuple[int, ...] | None:
    diff = got - want
    if field == "mod2":
        real = np.real(diff)
        wrong = (np.imag(diff) != 0) | (real != np.round(real)) | (np.round(real) % 2 != 0)
    else:
        wrong = diff != 0
    bad = np.argwhere(wrong)
    return tuple(int(x) for x in bad[0]) if len(bad) else None


def verify_decomposition(
    target: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    w: np.ndarray,
    field: Field = "standard",
) -> int:
    """Check exactly that (u, v, w) reconstructs `target`; return the rank, raise otherwise.

    "standard" compares exactly in the integers (or dyadic rationals / Gaussian dyadics, which
    float64 and complex128 represent exactly at these sizes), "mod2" compares modulo 2.
    A failure raises `DecompositionError` naming the first wrong entry (index, got, wanted).
    """
    check_field(field)
    target = np.asarray(target)
    u, v, w = _exact(u), _exact(v), _exact(w)
    expected = (target.shape[0], target.shape[1], target.shape[2]) if target.ndim == 3 else None
    if expected is None:
        raise ValueError(f"target must be a 3-D tensor, got shape {target.shape}")
    shapes = (
        u.shape[0] if u.ndim == 2 else None,
        v.shape[0] if v.ndim == 2 else None,
        w.shape[0] if w.ndim == 2 else None,
    )
    if shapes != expected:
        raise ValueError(
            f"factor shapes {u.shape}, {v.shape}, {w.shape} do not match the target's shape "
            f"{target.shape}: expected ({expected[0]}, R), ({expected[1]}, R), ({expected[2]}, R)"
        )
    got = reconstruct(u, v, w)
    index = _first_wrong(got, target, field)
    if index is not None:
        raise DecompositionError(
            f"decomposition of rank {u.shape[1]} does not reconstruct the tensor ({field}): "
            f"first wrong entry T{list(index)} = {got[index].item()!r} "
            f"{'(mod 2) ' if field == 'mod2' else ''}but the target has {target[index].item()!r}"
        )
    return int(u.shape[1])


def verify_matmul_decomposition(
    n: int, m: int, p: int, u: np.ndarray, v: np.ndarray, w: np.ndarray, field: Field = "standard"
) -> int:
    """`verify_decomposition` against `matmul_tensor(n, m, p)`; returns the rank."""
    return verify_decomposition(matmul_tensor(n, m, p), u, v, w, field)


def gf2_rank(matrix: np.ndarray) -> int:
    """Rank over GF(2) of an integer matrix (entries taken modulo 2)."""
    return int(gf2_ranks(np.asarray(matrix)[None])[0])


def gf2_ranks(matrices: np.ndarray) -> np.ndarray:
    """Ranks over GF(2) of a stack of integer matrices (batch Gaussian elimination)."""
    a = (np.asarray(matrices, dtype=np.int64) % 2).astype(np.uint8)
    batch, rows, cols = a.shape
    rank = np.zeros(batch, dtype=np.int64)
    if a.size == 0:
        return rank
    everyone = np.arange(batch)
    for col in range(cols):
        # a row at or below the current rank with a 1 in this column, per matrix
        below = np.arange(rows)[None, :] >= rank[:, None]
        candidates = (a[:, :, col] == 1) & below
        has = candidates.any(axis=1)
        if not has.any():
            continue
        b = everyone[has]
        pivot = candidates[has].argmax(axis=1)
        r = rank[has]
        # swap the pivot row into position r
        prow = a[b, pivot].copy()
        a[b, pivot] = a[b, r]
        a[b, r] = prow
        # clear this column in every other row
        mask = a[b, :, col].astype(bool)
        mask[np.arange(len(b)), r] = False
        a[b] ^= mask[:, :, None].astype(np.uint8) * prow[:, None, :]
        rank[has] += 1
    return rank


def slice_rank_sums(tensor: np.ndarray, field: Field = "standard") -> tuple[int, int, int]:
    """For each mode, the sum of the matrix ranks of the tensor's slices along that mode.

    All slices of the three modes go through one batched call: they are zero-padded to a
    common shape (padding does not change a rank). Ranks over the reals use SVD with numpy's
    `matrix_rank` tolerance (exact for integer matrices this small), over GF(2) a batched
    Gaussian elimination.
    """
    check_field(field)
    tensor = np.asarray(tensor)
    if field == "mod2":
        tensor = tensor % 2
    dims = tensor.shape
    rows, cols = max(dims), max(dims)
    batch = np.zeros((sum(dims), rows, cols), dtype=np.float64 if field == "standard" else np.int64)
    owner = np.repeat(np.arange(3), dims)
    start = 0
    for axis in range(3):
        slices = np.moveaxis(tensor, axis, 0)
        batch[start : start + dims[axis], : slices.shape[1], : slices.shape[2]] = slices
        start += dims[axis]
    nonzero = batch.reshape(len(batch), -1).any(axis=1)
    ranks = np.zeros(len(batch), dtype=np.int64)
    if nonzero.any():
        live = batch[nonzero]
        if field == "mod2":
            ranks[nonzero] = gf2_ranks(live)
        else:
            singular = np.linalg.svd(live, compute_uv=False)
            tol = singular[:, :1] * max(rows, cols) * np.finfo(np.float64).eps
            ranks[nonzero] = (singular > tol).sum(axis=1)
    sums = np.bincount(owner, weights=ranks, minlength=3).astype(np.int64)
    return int(sums[0]), int(sums[1]), int(sums[2])


def rank_upper_bound(tensor: np.ndarray, field: Field = "standard") -> int:
    """AlphaTensor's upper bound on rank(tensor): the sum of the matrix ranks of its slices.

    The slices are taken along each of the three modes and the smallest sum is returned (every
    mode gives a valid bound: each rank-k slice is k rank-one terms). Ranks are over the reals
    ("standard"; integer slices this small have exact SVD ranks) or over GF(2) ("mod2").
    """
    return min(slice_rank_sums(tensor, field))
