"""The game's one scoring function: verified sizes, never trusted ones."""

from __future__ import annotations

import numpy as np
import pytest
from discoverygym.envs.capset.checker import CapSetError
from discoverygym.envs.capset.construction import greedy_cap_set
from discoverygym.envs.capset.datasets import DATASETS, dataset_name, parse_dataset
from discoverygym.envs.capset.known import known_cap_set
from discoverygym.envs.capset.score import METRIC, CapSetScore, score_cap_set


def test_scores() -> None:
    assert METRIC == "size"
    assert score_cap_set(8, known_cap_set(8)) == CapSetScore(8, 512, 512, 0.0, None)
    assert score_cap_set(4, greedy_cap_set(4)) == CapSetScore(4, 16, 20, 20.0, False)
    assert score_cap_set(2, [(0, 0), (0, 1), (1, 0), (1, 1)]).optimal is True
    assert score_cap_set(3, []).gap_pct == 100.0


def test_bad_sets_are_not_scored() -> None:
    with pytest.raises(CapSetError, match="lie on a line"):
        score_cap_set(2, np.array([[0, 0], [1, 1], [2, 2]]))
    with pytest.raises(CapSetError, match="has 8 entries; expected n = 7"):
        score_cap_set(7, known_cap_set(8).tolist())
    with pytest.raises(ValueError, match="from 1 to 9, got 10"):
        score_cap_set(10, [])


def test_dataset_names() -> None:
    assert DATASETS == tuple(f"n{n}" for n in range(1, 10))
    assert [parse_dataset(d) for d in DATASETS] == list(range(1, 10))
    assert dataset_name(9) == "n9"
    for bad in ("n10", "N8", "8", "n 8", "n08", 8, None):
        with pytest.raises(KeyError, match="known: n1, n2"):
            parse_dataset(bad)
    with pytest.raises(KeyError):
        dataset_name(0)
