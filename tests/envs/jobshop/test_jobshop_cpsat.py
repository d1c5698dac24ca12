"""CP-SAT reaches the published optima of ft06 (55) and la01 (666); its schedules pass the checker."""

from __future__ import annotations

import numpy as np
import pytest

from discoverygym.envs.jobshop.checker import check_schedule
from discoverygym.envs.jobshop.cpsat import solve_cpsat
from discoverygym.envs.jobshop.instances import JobShopInstance, load_instance


@pytest.mark.parametrize(("name", "optimum"), [("ft06", 55), ("la01", 666)])
def test_cpsat_proves_published_optimum(name: str, optimum: int) -> None:
    inst = load_instance(name)
    result = solve_cpsat(inst, time_limit_s=30, workers=2)
    assert result.optimal and result.makespan == result.lower_bound == optimum == inst.upper_bound
    assert result.starts.shape == inst.durations.shape
    assert check_schedule(inst, result.starts) == optimum


def test_cpsat_short_limit_keeps_bounds_consistent() -> None:
    inst = load_instance("ta01")
    hint = np.cumsum(np.concatenate([[0], inst.durations.ravel()[:-1]])).reshape(inst.durations.shape)
    result = solve_cpsat(inst, time_limit_s=0.5, workers=1, hint=hint)
    assert result.lower_bound <= inst.lower_bound <= inst.upper_bound <= result.makespan
    assert check_schedule(inst, result.starts) == result.makespan


def test_cpsat_bad_arguments() -> None:
    with pytest.raises(ValueError, match="time_limit_s"):
        solve_cpsat(load_instance("ft06"), time_limit_s=0)
    zero = JobShopInstance("z", np.array([[0, 1]]), np.array([[0, 3]]), num_machines=2)
    assert solve_cpsat(zero, time_limit_s=5).makespan == 3
