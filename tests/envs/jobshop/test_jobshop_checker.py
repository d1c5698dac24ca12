"""The independent checker accepts feasible schedules and names every kind of violation."""

from __future__ import annotations

import numpy as np
import pytest

from discoverygym.envs.jobshop.checker import ScheduleError, check_schedule, schedule_violations
from discoverygym.envs.jobshop.instances import JobShopInstance

# job 0: M0 3, M1 2; job 1: M1 4, M0 1
INST = JobShopInstance("tiny", np.array([[0, 1], [1, 0]]), np.array([[3, 2], [4, 1]]), num_machines=2)


def test_feasible_schedule_and_makespan() -> None:
    assert check_schedule(INST, np.array([[0, 4], [0, 4]])) == 6
    assert schedule_violations(INST, np.array([[0, 4], [0, 4]])) == []


@pytest.mark.parametrize(
    ("starts", "expected"),
    [
        (np.array([[0, 2], [0, 4]]), "precedence: job 0 operation 1"),  # starts before op 0 ends (3)
        (np.array([[0, 3], [0, 4]]), "machine 1"),  # job 0 op 1 [3,5) overlaps job 1 op 0 [0,4)
        (np.array([[0, 4], [0, 2]]), "machine 0"),  # job 1 op 1 [2,3) overlaps [0,3) on M0 (and precedence)
        (np.array([[-1, 4], [0, 4]]), "negative start"),
        (np.array([[0, 4]]), "shape"),
        (np.array([[0.0, 4.0], [0.0, 4.0]]), "integers"),
    ],
)
def test_violations_are_named(starts: np.ndarray, expected: str) -> None:
    assert any(expected in p for p in schedule_violations(INST, starts))
    with pytest.raises(ScheduleError, match="tiny"):
        check_schedule(INST, starts)


def test_zero_duration_operations_never_overlap() -> None:
    inst = JobShopInstance("zero", np.array([[0], [0]]), np.array([[4], [0]]), num_machines=1)
    assert check_schedule(inst, np.array([[0], [2]])) == 4
