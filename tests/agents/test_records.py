"""Records round-trip through CSV and JSON with the documented schema."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from discoverygym.agents.records import (
    COLUMNS,
    Record,
    read_csv,
    relative_gap_pct,
    write_csv,
    write_json,
)

SCHEMA = ("game", "dataset", "agent", "family", "metric", "value", "bound", "gap", "seconds", "compute")


def test_columns_are_the_documented_schema() -> None:
    assert COLUMNS == SCHEMA


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@given(
    value=finite,
    bound=st.none() | finite,
    compute=st.dictionaries(st.sampled_from(["env_steps", "cpu_seconds", "llm_samples"]), finite, max_size=3),
)
def test_csv_round_trip(tmp_path_factory, value: float, bound: float | None, compute: dict) -> None:
    record = Record("binpacking", "or1", "best_fit", "heuristic", "excess_pct", value, bound,
                    relative_gap_pct(value, bound), 0.5, compute)
    path = tmp_path_factory.mktemp("csv") / "s.csv"
    write_csv([record], path)
    assert read_csv(path) == [record]


def test_json_is_a_list_of_records(tmp_path: Path) -> None:
    record = Record("tensor", "2x2x2", "naive", "heuristic", "rank", 8.0, 7.0, relative_gap_pct(8.0, 7.0))
    write_json([record], tmp_path / "s.json")
    (loaded,) = json.loads((tmp_path / "s.json").read_text())
    assert set(loaded) == set(SCHEMA)
    assert abs(loaded["gap"] - 100 / 7) < 1e-12


def test_gap_needs_a_bound() -> None:
    assert relative_gap_pct(5.0, None) is None
    assert relative_gap_pct(5.0, 0.0) is None
    assert relative_gap_pct(110.0, 100.0) == 10.0
