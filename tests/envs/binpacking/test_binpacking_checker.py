"""The independent packing checker rejects every kind of invalid packing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from discoverygym.envs.binpacking import PackingError, check_packing


def test_valid_packing_report() -> None:
    report = check_packing([5, 5, 3], 10, [0, 0, 7])
    assert report.num_bins == 2 and report.loads == {0: 10, 7: 3}


def test_decimal_sizes_that_fill_a_bin_exactly() -> None:
    assert check_packing([33.3, 33.3, 33.4], 100.0, [0, 0, 0]).num_bins == 1


@pytest.mark.parametrize(
    "items, assignment, expected",
    [
        ([5, 6], [0, 0], "bin 0 holds 11 > capacity 10"),
        ([5, 6], [0], "2 items but 1 assignments"),
        ([5, 6], [0, 1, 2], "2 items but 3 assignments"),
        ([5, 6], [0, -1], "item 1 is assigned to -1"),
        ([5, 6], [0, 1.5], "item 1 is assigned to 1.5"),
        ([5, 0], [0, 1], "item 1 has size 0"),
        ([33.4, 33.4, 33.4], [0, 0, 0], "bin 0 holds"),
    ],
)
def test_invalid_packings_are_rejected(items, assignment, expected: str) -> None:
    capacity = 100.0 if isinstance(items[0], float) else 10
    with pytest.raises(PackingError, match=expected):
        check_packing(items, capacity, assignment)


@given(st.lists(st.integers(1, 10), min_size=1, max_size=30))
def test_one_item_per_bin_is_always_valid(items: list[int]) -> None:
    assert check_packing(items, 10, list(range(len(items)))).num_bins == len(items)
