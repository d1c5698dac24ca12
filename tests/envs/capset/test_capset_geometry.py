"""The vector tables: FunSearch's order, indices, and the third-point look-up tables."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from discoverygym.envs.capset.geometry import all_vectors, index_of, third_table, vector_of


@pytest.mark.parametrize("n", [1, 2, 5, 9])
def test_all_vectors_is_itertools_product_order(n) -> None:
    table = all_vectors(n)
    assert table.shape == (3**n, n) and table.dtype == np.int8 and not table.flags.writeable
    assert [tuple(v) for v in table.tolist()] == list(itertools.product((0, 1, 2), repeat=n))
    assert np.array_equal(index_of(table, n), np.arange(3**n))
    assert vector_of(3**n - 1, n) == (2,) * n


@pytest.mark.parametrize("digits", [0, 1, 2, 3, 4, 5])
def test_third_table_is_the_third_point_of_the_line(digits) -> None:
    table = third_table(digits)
    vectors = list(itertools.product((0, 1, 2), repeat=digits))
    rng = np.random.default_rng(digits)
    for x, y in rng.integers(len(vectors), size=(200, 2)):
        third = tuple((-(a + b)) % 3 for a, b in zip(vectors[x], vectors[y]))
        assert vectors[table[x, y]] == third
    assert np.array_equal(table, table.T)
    assert np.array_equal(np.diag(table), np.arange(len(vectors)))  # -(2a) = a (mod 3)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"shape \(k, 3\), got shape \(2, 2\)"):
        index_of(np.zeros((2, 2)), 3)
    with pytest.raises(ValueError, match="entries must be 0, 1 or 2"):
        index_of(np.array([[0, 3, 0]]), 3)
    with pytest.raises(ValueError, match="index 27 is outside 0..26"):
        vector_of(27, 3)
    with pytest.raises(ValueError, match="0 to 5 digits, got 6"):
        third_table(6)
