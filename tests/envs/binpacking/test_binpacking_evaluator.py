"""The evaluator: FunSearch's Table 1 exactly, FunSearch's loop item for item, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from discoverygym.agents.heuristics.binpacking import (
    best_fit_priority,
    first_fit_priority,
    worst_fit_priority,
)
from discoverygym.envs.binpacking import (
    Instance,
    PriorityError,
    check_packing,
    evaluate_priority,
    load_dataset,
    pack_instance,
    reference_pack,
)

# FunSearch (Romera-Paredes et al., Nature 2024), Table 1: excess bins over L1 in percent.
TABLE_1 = {
    "first_fit": {"or1": 6.42, "or2": 6.45, "or3": 5.74, "or4": 5.23, "weibull5k": 4.23},
    "best_fit": {"or1": 5.81, "or2": 6.06, "or3": 5.37, "or4": 4.94, "weibull5k": 3.98},
}
PRIORITIES = {"first_fit": first_fit_priority, "best_fit": best_fit_priority}


@pytest.mark.parametrize("heuristic, dataset", [(h, d) for h in TABLE_1 for d in TABLE_1[h]])
def test_funsearch_table_1_is_reproduced_exactly(heuristic: str, dataset: str) -> None:
    result = evaluate_priority(PRIORITIES[heuristic], load_dataset(dataset))
    assert round(result.excess_pct, 2) == TABLE_1[heuristic][dataset]
    assert result.excess_pct == pytest.approx(
        100 * (result.mean_bins - result.mean_l1) / result.mean_l1
    )
    assert len(result.bins_per_instance) == len(load_dataset(dataset))


def test_result_fields() -> None:
    data = load_dataset("or1")
    result = evaluate_priority(best_fit_priority, data)
    assert result.mean_l1 == pytest.approx(49.05)
    assert result.instance_names == tuple(data.names)
    assert result.bins_per_instance.dtype == np.int64 and result.num_items == 20 * 120
    for inst, assignment, bins in zip(data, result.assignments, result.bins_per_instance):
        assert check_packing(inst.items, inst.capacity, assignment).num_bins == bins


def _funsearch_loop(priority, items: list, capacity) -> np.ndarray:
    """FunSearch's notebook loop, returning the bin of every item (test-local reference)."""
    bins = np.array([capacity for _ in range(len(items))])
    out = []
    for item in items:
        valid = np.nonzero((bins - item) >= 0)[0]
        best = valid[np.argmax(priority(item, bins[valid]))]
        bins[best] -= item
        out.append(best)
    return np.array(out)


def funsearch_or_heuristic(item: float, bins: np.ndarray) -> np.ndarray:
    """A priority that looks at other bins (argmin): the shape of FunSearch's OR heuristic."""
    score = 1000 * np.ones(bins.shape)
    score -= bins * (bins - item)
    index = np.argmin(bins)
    score[index] *= item
    score[index] -= (bins[index] - item) ** 4
    return score


def funsearch_weibull_heuristic(item: float, bins: np.ndarray) -> np.ndarray:
    """Neighbour differences: puts items into empty bins other than the first (holes)."""
    score = (bins - max(bins)) ** 2 / item + bins**2 / (item**2)
    score += bins**2 / item**3
    score[bins > item] = -score[bins > item]
    score[1:] -= score[:-1]
    return score


def last_bin(item: float, bins: np.ndarray) -> np.ndarray:
    return np.arange(len(bins))


@pytest.mark.parametrize(
    "priority",
    [
        first_fit_priority,
        best_fit_priority,
        worst_fit_priority,
        funsearch_or_heuristic,
        funsearch_weibull_heuristic,
        last_bin,
    ],
)
@pytest.mark.parametrize("dataset", ["or1", "t60"])
def test_same_packing_as_funsearchs_loop(priority, dataset: str) -> None:
    for inst in list(load_dataset(dataset))[:4]:
        with np.errstate(all="ignore"):
            expected = (
                _funsearch_loop(priority, inst.items.tolist(), inst.capacity)
                if dataset != "t60"
                else None
            )
            got = pack_instance(priority, inst)
        if expected is not None:  # t60 has decimal sizes: FunSearch's float loop is not exact there
            assert np.array_equal(got, expected)
            assert np.unique(got).size == reference_pack(
                priority, inst.items.tolist(), inst.capacity
            )
        check_packing(inst.items, inst.capacity, got)


sizes_and_capacity = st.integers(5, 60).flatmap(
    lambda c: st.tuples(st.just(c), st.lists(st.integers(1, c), min_size=1, max_size=60))
)
coefficients = st.tuples(*[st.integers(-3, 3)] * 4)


@given(sizes_and_capacity, coefficients)
def test_random_priorities_match_the_funsearch_loop(case, coef) -> None:
    capacity, sizes = case
    a, b, c, d = coef

    def priority(item, bins):
        return a * bins + b * bins**2 + c * item * bins + d * np.arange(len(bins)) % 3

    inst = Instance.from_items("h", capacity, sizes)
    got = pack_instance(priority, inst)
    assert np.array_equal(got, _funsearch_loop(priority, sizes, capacity))
    check_packing(sizes, capacity, got)
    if d == 0:  # each bin scored on its own: the first empty bin stands for all of them
        assert np.array_equal(got, pack_instance(priority, inst, empty_bins="first"))


def test_t60_gets_decimal_sizes_and_exact_fits() -> None:
    seen = []

    def spy(item, bins):
        seen.append((item, bins.dtype))
        return -(bins - item)

    inst = load_dataset("t60")[0]
    result = evaluate_priority(spy, inst)
    assert seen[0] == (36.6, np.float64) and result.bins_per_instance.tolist() == [20]
    seen.clear()
    evaluate_priority(spy, load_dataset("or1")[0])
    assert seen[0] == (42, np.int64) and isinstance(seen[0][0], int)


def _nth_call(n: int, value):
    calls = []

    def priority(item, bins):
        calls.append(item)
        return value(bins) if len(calls) == n + 1 else -(bins - item)

    return priority


@pytest.mark.parametrize(
    "value, expected",
    [
        (lambda bins: np.full(bins.shape, np.nan), "NaN for item 3"),
        (lambda bins: np.zeros(len(bins) + 1), r"shape \(\d+,\) for item 3"),
        (lambda bins: np.zeros((len(bins), 1)), "for item 3"),
        (lambda bins: np.array(["a"] * len(bins)), "dtype <U1 for item 3"),
        (lambda bins: 1 / 0, "ZeroDivisionError: division by zero on item 3"),
    ],
)
def test_bad_priorities_name_the_item(value, expected: str) -> None:
    with pytest.raises(PriorityError, match=expected) as error:
        evaluate_priority(_nth_call(3, value), load_dataset("or1"))
    assert "u120_00" in str(error.value)


def test_lists_and_bools_are_accepted() -> None:
    inst = load_dataset("or1")[0]
    as_list = evaluate_priority(lambda item, bins: (-(bins - item)).tolist(), inst)
    assert (
        as_list.bins_per_instance.tolist()
        == evaluate_priority(best_fit_priority, inst).bins_per_instance.tolist()
    )
    evaluate_priority(lambda item, bins: bins == bins.min(), inst)


def test_bad_empty_bins_value() -> None:
    with pytest.raises(ValueError, match="'some'"):
        evaluate_priority(best_fit_priority, load_dataset("or1"), empty_bins="some")
