"""FunSearch's greedy construction: 2^n with the constant priority, the same sets as a naive
reference, decisions that verify, bad priorities named."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from discoverygym.envs.capset.checker import verify
from discoverygym.envs.capset.construction import (
    PriorityError,
    constant_priority,
    greedy_cap_set,
    greedy_from_priorities,
    priorities_of,
)
from hypothesis import given
from hypothesis import strategies as st


def naive_greedy(n: int, scores: list[float]) -> list[tuple[int, ...]]:
    """FunSearch's procedure in pure Python: highest priority first (ties: lowest index),
    skipping blocked vectors and those of priority -inf."""
    everything = list(itertools.product((0, 1, 2), repeat=n))
    order = sorted(range(len(everything)), key=lambda i: (-scores[i], i))
    members: list[tuple[int, ...]] = []
    blocked: set[tuple[int, ...]] = set()
    for i in order:
        v = everything[i]
        if scores[i] == -math.inf or v in blocked:
            continue
        for a in members:
            blocked.add(tuple((-(x + y)) % 3 for x, y in zip(a, v)))
        members.append(v)
        blocked.add(v)
    return members


def is_complete(n: int, vectors: np.ndarray) -> bool:
    """No vector outside the set can be added without making a line."""
    members = {tuple(v) for v in vectors.tolist()}
    thirds = {tuple((-(x + y)) % 3 for x, y in zip(a, b)) for a in members for b in members if a != b}
    return all(v in members or v in thirds for v in itertools.product((0, 1, 2), repeat=n))


@pytest.mark.parametrize("n", [3, 4, 5, 6, 7, 8])
def test_constant_priority_gives_two_to_the_n(n) -> None:
    """FunSearch's notebook: the seed program (constant priority) gives 2^n."""
    vectors = greedy_cap_set(n, constant_priority)
    assert verify(n, vectors) == 2**n
    assert vectors.dtype == np.int8 and vectors.shape == (2**n, n)


@pytest.mark.parametrize("n", [3, 4])
def test_constant_priority_sets_are_complete(n) -> None:
    assert is_complete(n, greedy_cap_set(n))


@given(n=st.integers(1, 4), data=st.data())
def test_same_set_and_order_as_the_naive_reference(n, data) -> None:
    values = st.one_of(st.integers(-3, 3).map(float), st.just(-math.inf), st.floats(-1e9, 1e9))
    scores = data.draw(st.lists(values, min_size=3**n, max_size=3**n))
    vectors = greedy_from_priorities(n, np.array(scores))
    assert [tuple(v) for v in vectors.tolist()] == naive_greedy(n, scores)
    assert verify(n, vectors) == len(vectors)
    if not any(s == -math.inf for s in scores):
        assert is_complete(n, vectors)


def test_priority_sees_tuples_of_ints_in_funsearch_order() -> None:
    seen = []

    def record(el, n):
        seen.append((el, n))
        return sum(el)

    priorities_of(2, record)
    assert seen == [((a, b), 2) for a in range(3) for b in range(3)]
    assert all(type(x) is int for el, _ in seen for x in el)


def test_a_priority_decides_the_set() -> None:
    """Preferring vectors with many 1s and 2s differs from the constant priority at n = 4."""
    vectors = greedy_cap_set(4, lambda el, n: float(sum(x != 0 for x in el)))
    assert verify(4, vectors) == len(vectors)
    assert tuple(vectors[0]) == (1, 1, 1, 1)


def test_neg_inf_vectors_are_never_added() -> None:
    vectors = greedy_cap_set(3, lambda el, n: -math.inf if el[0] == 0 else 0.0)
    assert len(vectors) and all(v[0] != 0 for v in vectors.tolist())
    assert greedy_cap_set(3, lambda el, n: -math.inf).shape == (0, 3)


@pytest.mark.parametrize(
    ("priority", "message"),
    [
        (lambda el, n: math.nan, r"priority\(\(0, 0\), 2\) returned NaN"),
        (lambda el, n: "high", "returned 'high' \\(str\\); expected a number"),
        (lambda el, n: None, "returned None"),
        (lambda el, n: True, "returned True \\(bool\\)"),
        (lambda el, n: [1.0], "returned \\[1.0\\]"),
        (lambda el, n: 1j, "returned 1j"),
    ],
)
def test_bad_priorities_are_named(priority, message) -> None:
    with pytest.raises(PriorityError, match=message):
        greedy_cap_set(2, priority)


def test_numpy_numbers_are_accepted() -> None:
    assert len(greedy_cap_set(3, lambda el, n: np.float32(sum(el)))) >= 1
    assert len(greedy_cap_set(3, lambda el, n: np.int64(el[0]))) >= 1


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="expected 9 priorities"):
        greedy_from_priorities(2, np.zeros(8))
    with pytest.raises(PriorityError, match="priority of vector 3 is NaN"):
        greedy_from_priorities(2, np.array([0, 0, 0, np.nan, 0, 0, 0, 0, 0]))
    with pytest.raises(ValueError, match="from 1 to 9, got 10"):
        greedy_cap_set(10)
    with pytest.raises(TypeError, match="got '3'"):
        greedy_cap_set("3")
