"""The matmul tensor convention, exact reconstruction checks and the rank bound."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discoverygym.agents.heuristics.tensor_search import naive_decomposition
from discoverygym.envs.tensor.tensors import (
    DecompositionError,
    gf2_rank,
    matmul_tensor,
    rank_upper_bound,
    reconstruct,
    slice_rank_sums,
    verify_decomposition,
    verify_matmul_decomposition,
)

sizes = st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4))


@given(sizes, st.integers(0, 2**32 - 1))
@settings(max_examples=30, deadline=None)
def test_tensor_contracts_to_the_matrix_product(size, seed) -> None:
    """sum_ab T[a,b,c] vecA[a] vecB[b] = vec(C^T)[c] for C = A @ B (AlphaTensor's convention)."""
    n, m, p = size
    rng = np.random.default_rng(seed)
    a, b = rng.integers(-5, 6, (n, m)), rng.integers(-5, 6, (m, p))
    got = np.einsum("abc,a,b->c", matmul_tensor(n, m, p), a.ravel(), b.ravel())
    np.testing.assert_array_equal(got, (a @ b).T.ravel())


def test_shape_and_entries() -> None:
    t = matmul_tensor(2, 3, 4)
    assert t.shape == (6, 12, 8) and t.sum() == 24
    assert t[1 * 3 + 2, 2 * 4 + 3, 3 * 2 + 1] == 1


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "2"])
def test_bad_sizes_name_the_value(bad) -> None:
    with pytest.raises(ValueError, match=f"m={bad!r}"):
        matmul_tensor(2, bad, 2)


def test_naive_decomposition_reconstructs() -> None:
    for size in [(1, 1, 1), (2, 3, 4), (3, 3, 3)]:
        assert verify_matmul_decomposition(*size, *naive_decomposition(*size)) == int(np.prod(size))


def test_wrong_decomposition_names_first_wrong_entry() -> None:
    u, v, w = naive_decomposition(2, 2, 2)
    w = w.copy()
    w[0, 0] = 2  # the term A00*B00 now adds 2 to T[0,0,0]
    with pytest.raises(
        DecompositionError, match=r"first wrong entry T\[0, 0, 0\] = 2 .*target has 1"
    ):
        verify_matmul_decomposition(2, 2, 2, u, v, w)
    # 2 = 0 mod 2 differs from 1 as well
    with pytest.raises(DecompositionError, match="mod 2"):
        verify_matmul_decomposition(2, 2, 2, u, v, w, field="mod2")
    w[0, 0] = 3  # 3 = 1 mod 2
    assert verify_matmul_decomposition(2, 2, 2, u, v, w, field="mod2") == 8


def test_shape_mismatch_and_unknown_field() -> None:
    u, v, w = naive_decomposition(2, 2, 2)
    with pytest.raises(ValueError, match=r"expected \(4, R\)"):
        verify_matmul_decomposition(2, 2, 2, u[:3], v, w)
    with pytest.raises(ValueError, match="'mod3'"):
        verify_matmul_decomposition(2, 2, 2, u, v, w, field="mod3")


def test_reconstruct_exact_for_dyadic_and_complex() -> None:
    u = np.array([[0.5, 0.5j]])
    v = np.array([[2.0, -2j]])
    w = np.array([[1.0, 1.0]])
    assert reconstruct(u, v, w)[0, 0, 0] == 2.0
    verify_decomposition(np.full((1, 1, 1), 2), u, v, w)


@given(st.integers(0, 2**32 - 1), st.integers(1, 6), st.integers(1, 6))
@settings(max_examples=60, deadline=None)
def test_gf2_rank_at_most_rational_rank(seed, rows, cols) -> None:
    a = np.random.default_rng(seed).integers(0, 2, (rows, cols))
    r2 = gf2_rank(a)
    assert r2 <= np.linalg.matrix_rank(a.astype(float)) <= min(rows, cols)
    # adding a GF(2) combination of existing rows keeps the rank
    assert gf2_rank(np.vstack([a, (a[0] + a[-1]) % 2])) == r2


def test_gf2_rank_known_cases() -> None:
    assert gf2_rank(np.array([[1, 1], [1, 1]])) == 1
    assert gf2_rank(np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]])) == 2  # det = 2: rank 3 over Q
    assert np.linalg.matrix_rank(np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]])) == 3


@pytest.mark.parametrize("field", ["standard", "mod2"])
def test_rank_bound_of_matmul_is_naive_rank(field) -> None:
    for size in [(2, 2, 2), (2, 3, 4), (3, 3, 3)]:
        assert rank_upper_bound(matmul_tensor(*size), field) == int(np.prod(size))


@given(st.integers(0, 2**32 - 1), st.sampled_from(["standard", "mod2"]))
@settings(max_examples=40, deadline=None)
def test_rank_bound_properties(seed, field) -> None:
    """A rank-one term's slice sums are (|supp u|, |supp v|, |supp w|); per mode the slice sums
    are subadditive; the bound is 0 exactly for the zero tensor."""
    rng = np.random.default_rng(seed)
    coeffs = np.array([0, 1] if field == "mod2" else [-2, -1, 0, 1, 2])
    u, v, w = (coeffs[rng.integers(len(coeffs), size=(d, 2))] for d in (4, 6, 6))
    t1 = np.einsum("a,b,c->abc", u[:, 0], v[:, 0], w[:, 0])
    t2 = np.einsum("a,b,c->abc", u[:, 1], v[:, 1], w[:, 1])
    supports = [
        int(np.count_nonzero(x[:, 0] % 2 if field == "mod2" else x[:, 0])) for x in (u, v, w)
    ]
    expected = 0 if min(supports) == 0 else supports
    assert slice_rank_sums(t1, field) == (tuple(expected) if expected else (0, 0, 0))
    total = (t1 + t2) % 2 if field == "mod2" else t1 + t2
    for k in range(3):
        assert (
            slice_rank_sums(total, field)[k]
            <= slice_rank_sums(t1, field)[k] + slice_rank_sums(t2, field)[k]
        )
    assert (rank_upper_bound(total, field) == 0) == (not np.any(total))
