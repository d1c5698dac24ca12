"""Bounds: L1/L2/optimum against the vendored tables, L2 against brute force, L2 <= optimum."""

from __future__ import annotations

import csv
import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from discoverygym.envs.binpacking import (
    excess_pct,
    instance_bounds,
    l1_bound,
    l2_bound,
    load_dataset,
)
from discoverygym.envs.binpacking.instances import data_path

FILE_TO_SET = {
    "binpack1.txt": "or1",
    "binpack2.txt": "or2",
    "binpack3.txt": "or3",
    "binpack4.txt": "or4",
    "binpack5.txt": "t60",
}


def test_bounds_match_the_vendored_table_for_every_orlib_instance() -> None:
    with data_path("bounds.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 100
    for row in rows:
        inst = load_dataset(FILE_TO_SET[row["file"]])[row["instance"]]
        bounds = instance_bounds(inst)
        assert (bounds.l1, bounds.l2, bounds.optimum) == (
            int(row["l1_lower_bound"]),
            int(row["l2_lower_bound"]),
            int(row["optimum"]),
        ), row["instance"]


def test_bounds_match_the_weibull_table() -> None:
    with data_path("weibull_5k_bounds.csv").open() as handle:
        rows = {r["instance"]: r for r in csv.DictReader(handle)}
    data = load_dataset("weibull5k")
    for inst in data:
        bounds = instance_bounds(inst)
        assert bounds.l1 == int(rows[inst.name]["l1_lower_bound"]) and bounds.l2 == int(
            rows[inst.name]["l2_lower_bound"]
        )
        assert bounds.optimum is None and bounds.best_lower == bounds.l2
    assert np.mean([instance_bounds(i).l1 for i in data]) == pytest.approx(1987.8)


def test_u250_13_is_the_only_instance_with_optimum_above_l2() -> None:
    above = [
        inst.name
        for name in ("or1", "or2", "or3", "or4", "t60")
        for inst in load_dataset(name)
        if instance_bounds(inst).optimum > instance_bounds(inst).l2
    ]
    assert above == ["u250_13"]


def _l2_brute(sizes: list[int], capacity: int) -> int:
    best = 0
    for alpha in range(0, capacity // 2 + 1):
        j1 = [s for s in sizes if s > capacity - alpha]
        j2 = [s for s in sizes if capacity - alpha >= s > capacity / 2]
        j3 = [s for s in sizes if capacity / 2 >= s >= alpha]
        extra = max(0, -(-(sum(j3) - (len(j2) * capacity - sum(j2))) // capacity))
        best = max(best, len(j1) + len(j2) + extra)
    return best


def _optimum_brute(sizes: list[int], capacity: int) -> int:
    for k in range(1, len(sizes) + 1):
        for labels in itertools.product(range(k), repeat=len(sizes)):
            loads = [0] * k
            for s, b in zip(sizes, labels):
                loads[b] += s
            if max(loads) <= capacity:
                return k
    raise AssertionError("unreachable")


@given(
    st.integers(2, 60).flatmap(
        lambda c: st.tuples(st.just(c), st.lists(st.integers(1, c), min_size=1, max_size=40))
    )
)
def test_l2_equals_brute_force_over_every_alpha(case: tuple[int, list[int]]) -> None:
    capacity, sizes = case
    l1, l2 = l1_bound(np.array(sizes), capacity), l2_bound(np.array(sizes), capacity)
    assert l2 == _l2_brute(sizes, capacity)
    assert l1 == -(-sum(sizes) // capacity) <= l2 <= len(sizes)


@given(
    st.integers(2, 20).flatmap(
        lambda c: st.tuples(st.just(c), st.lists(st.integers(1, c), min_size=1, max_size=6))
    )
)
def test_l2_never_exceeds_the_optimum(case: tuple[int, list[int]]) -> None:
    capacity, sizes = case
    assert l2_bound(np.array(sizes), capacity) <= _optimum_brute(sizes, capacity)


def test_excess_is_relative_to_the_mean_l1() -> None:
    assert excess_pct([11, 13], [10, 10]) == pytest.approx(20.0)
    assert excess_pct(np.array([49.05]), np.array([49.05])) == 0.0
