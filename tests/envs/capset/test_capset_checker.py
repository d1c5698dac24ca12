"""The independent checker: FunSearch's set verifies; every kind of bad set is named."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from discoverygym.envs.capset.checker import MAX_VECTORS, CapSetError, find_line, verify
from discoverygym.envs.capset.known import known_cap_set
from hypothesis import given
from hypothesis import strategies as st


def brute_force_has_line(vectors: list[tuple[int, ...]]) -> bool:
    """Three distinct members summing to 0 mod 3, by trying every triple."""
    return any(
        all((x + y + z) % 3 == 0 for x, y, z in zip(a, b, c))
        for a, b, c in itertools.combinations(vectors, 3)
    )


def test_funsearch_n8_set_is_a_cap_set_of_512() -> None:
    vectors = known_cap_set(8)
    assert verify(8, vectors) == 512
    assert verify(8, vectors.tolist()) == 512  # lists of lists too
    assert find_line(8, vectors) is None


def test_adding_any_vector_to_funsearch_set_makes_a_line() -> None:
    """The 512-vector set is complete: every other vector of F_3^8 completes a line."""
    vectors = known_cap_set(8)
    members = {tuple(v) for v in vectors.tolist()}
    rng = np.random.default_rng(0)
    outsiders = [v for v in itertools.product((0, 1, 2), repeat=8) if v not in members]
    for index in rng.choice(len(outsiders), size=20, replace=False):
        extended = np.vstack([vectors, np.array(outsiders[index], dtype=np.int8)])
        with pytest.raises(CapSetError, match="lie on a line"):
            verify(8, extended)


def test_a_line_is_named_with_its_members() -> None:
    vectors = [(0, 0), (1, 1), (0, 1), (2, 2)]  # (0,0) + (1,1) + (2,2) = 0
    assert find_line(2, vectors) == (0, 1, 3)
    with pytest.raises(CapSetError, match=r"members 0, 1 and 3 lie on a line: \[0, 0\] \+ \[1, 1\] \+ \[2, 2\]"):
        verify(2, vectors)


def test_empty_and_small_sets() -> None:
    assert verify(3, []) == 0
    assert verify(3, np.zeros((0, 3), dtype=np.int64)) == 0
    assert verify(1, [(0,), (1,)]) == 2
    with pytest.raises(CapSetError, match="line"):
        verify(1, [(0,), (1,), (2,)])


@pytest.mark.parametrize(
    ("n", "vectors", "message"),
    [
        (2, [(0, 0), (0, 0)], "members 0 and 1 are the same vector"),
        (2, [(0, 1), (1, 0), (0, 1)], "members 0 and 2 are the same vector"),
        (2, [(0, 3)], "member 0 has entry 3 at position 1"),
        (2, [(0, -1)], "member 0 has entry -1"),
        (2, [(0, 1.0)], "member 0 has entry 1.0 at position 1; entries are the integers"),
        (2, [(True, 0)], "member 0 has entry True"),
        (2, [(0, "1")], "entry '1'"),
        (2, [(0, 1, 2)], "member 0 has 3 entries; expected n = 2"),
        (2, [(0,)], "member 0 has 1 entries"),
        (2, ["01"], "member 0 is '01'"),
        (2, [5], "member 0 is 5"),
        (2, "0102", "expected a sequence of vectors, got str"),
        (2, 7, "expected a sequence of vectors, got int"),
        (2, np.zeros((3, 3), dtype=np.int64), r"shape \(k, 2\), got shape \(3, 3\)"),
        (2, np.zeros(4, dtype=np.int64), r"got shape \(4,\)"),
        (2, np.zeros((2, 2), dtype=np.float64), "integer array, got dtype float64"),
        (2, np.array([[0, 1], [4, 0]]), "member 1 has entry 4 at position 0"),
        (0, [], "n must be an integer from 1 to 39, got 0"),
        (40, [], "got 40"),
        (2.0, [], "got 2.0"),
        (True, [], "got True"),
        ("3", [], "got '3'"),
    ],
)
def test_bad_input_is_named(n, vectors, message) -> None:
    with pytest.raises(CapSetError, match=message):
        verify(n, vectors)


def test_too_many_vectors_are_refused_before_the_quadratic_check() -> None:
    with pytest.raises(CapSetError, match=f"limit of {MAX_VECTORS}"):
        verify(12, np.zeros((MAX_VECTORS + 1, 12), dtype=np.int8))
    with pytest.raises(CapSetError, match=f"more than {MAX_VECTORS}"):
        verify(12, ((0,) * 12 for _ in range(MAX_VECTORS + 1)))


def test_large_n_codes_do_not_overflow() -> None:
    """n = 39: 3^38 * 2 + ... fits int64; a real line at that size is still found."""
    a = np.array([2] * 39)
    b = np.array([1] * 39)
    c = np.array([0] * 39)  # 2 + 1 + 0 = 0 mod 3
    assert verify(39, np.stack([a, b])) == 2
    assert find_line(39, np.stack([a, c, b])) == (0, 1, 2)


@given(
    n=st.integers(1, 4),
    data=st.data(),
)
def test_agrees_with_brute_force(n, data) -> None:
    everything = list(itertools.product((0, 1, 2), repeat=n))
    picks = data.draw(st.lists(st.integers(0, len(everything) - 1), unique=True, max_size=12))
    vectors = [everything[i] for i in picks]
    line = find_line(n, vectors)
    assert (line is not None) == brute_force_has_line(vectors)
    if line is None:
        assert verify(n, vectors) == len(vectors)
    else:
        i, j, m = line
        assert len({i, j, m}) == 3 and i < j
        assert all((x + y + z) % 3 == 0 for x, y, z in zip(vectors[i], vectors[j], vectors[m]))
        with pytest.raises(CapSetError):
            verify(n, vectors)
