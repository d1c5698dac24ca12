"""The fresh-pool script of docs/results: its table, scored through the sandbox and checker."""
from __future__ import annotations

import runpy
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "results" / "binpacking_fresh_sets.py"


@pytest.fixture(scope="module")
def script() -> dict:
    return runpy.run_path(str(SCRIPT))  # defines the functions; main runs only as __main__


def test_best_fit_row_on_one_set_of_the_pool(script: dict, capsys: pytest.CaptureFixture) -> None:
    script["main"](["--sets", "1", "best_fit"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("pool: weibull-5k:seed=1000,count=50 (50 instances")
    row = lines[3].split("|")
    assert row[1].strip() == "best_fit"
    assert 3.5 < float(row[2]) < 4.5  # best fit's excess on Weibull 5k is about 4 %
    low, high = map(float, row[3].split("-"))
    assert low < float(row[2]) < high
    assert row[6].strip() == "0 of 10"


def test_the_pool_is_checked_instance_by_instance(script: dict) -> None:
    names, l1 = script["pool"](5000, 1)
    bins = script["bins_per_instance"](script["BINPACKING"].seed, names)
    assert bins.shape == l1.shape == (50,)
    assert (bins >= l1).all()
    assert script["excess_pct"](bins, l1) == pytest.approx(100 * (bins.sum() / l1.sum() - 1))


def test_a_failing_program_stops_with_its_error(script: dict, tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import numpy as np\n\n\ndef priority(item, bins):\n    return bins[:1]\n")
    with pytest.raises(SystemExit, match="failed"):
        script["main"](["--sets", "1", str(bad)])
