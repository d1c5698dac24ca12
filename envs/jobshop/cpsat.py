"""The limit: an exact OR-Tools CP-SAT model of the job shop (minimise the makespan).

Model: one interval per operation, ``NoOverlap`` per machine, route precedences, makespan >= every
job's last end. Optionally warm-started with a feasible schedule (``hint``, e.g. a rule's).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from discoverygym.envs.jobshop.instances import JobShopInstance


@dataclass(frozen=True)
class CpSatResult:
    """CP-SAT's answer: best `makespan` found, its proven `lower_bound`, `optimal` when they meet,
    `starts` (jobs x operations) of the best schedule, solver `status` and wall `seconds`."""

    makespan: int
    lower_bound: int
    optimal: bool
    starts: np.ndarray
    status: str
    seconds: float


def solve_cpsat(
    instance: JobShopInstance,
    time_limit_s: float = 10.0,
    workers: int = 2,
    hint: np.ndarray | None = None,
    seed: int = 0,
    log: bool = False,
) -> CpSatResult:
    """Minimise the makespan of `instance` with CP-SAT under `time_limit_s` on `workers` threads.

    Raises `RuntimeError` if no feasible schedule was found within the limit.
    """
    from ortools.sat.python import cp_model

    if time_limit_s <= 0 or workers < 1:
        raise ValueError(f"time_limit_s must be > 0 and workers >= 1, got {time_limit_s}, {workers}")
    durations, machines = instance.durations, instance.machines
    J, O = durations.shape
    horizon = int(durations.sum())
    model = cp_model.CpModel()
    start = [[model.NewIntVar(0, horizon, f"s{j}_{k}") for k in range(O)] for j in range(J)]
    per_machine: list[list] = [[] for _ in range(instance.num_machines)]
    for j in range(J):
        for k in range(O):
            d = int(durations[j, k])
            interval = model.NewFixedSizeIntervalVar(start[j][k], d, f"i{j}_{k}")
            per_machine[int(machines[j, k])].append(interval)
            if k:
                model.Add(start[j][k] >= start[j][k - 1] + int(durations[j, k - 1]))
    for intervals in per_machine:
        if len(intervals) > 1:
            model.AddNoOverlap(intervals)
    makespan = model.NewIntVar(instance.trivial_lower_bound, horizon, "makespan")
    for j in range(J):
        if O:
            model.Add(makespan >= start[j][O - 1] + int(durations[j, O - 1]))
    model.Minimize(makespan)
    if hint is not None:
        hint = np.asarray(hint)
        for j in range(J):
            for k in range(O):
                model.AddHint(start[j][k], int(hint[j, k]))
        model.AddHint(makespan, int((hint + durations).max(initial=0)))

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit_s)
    solver.parameters.num_workers = int(workers)
    solver.parameters.random_seed = int(seed)
    solver.parameters.log_search_progress = bool(log)
    began = time.perf_counter()
    status = solver.Solve(model)
    seconds = time.perf_counter() - began
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise RuntimeError(
            f"CP-SAT found no schedule for {instance.name} in {time_limit_s}s (status {solver.StatusName(status)})"
        )
    starts = np.array([[solver.Value(start[j][k]) for k in range(O)] for j in range(J)], dtype=np.int64)
    best = int(solver.ObjectiveValue())
    bound = int(np.ceil(solver.BestObjectiveBound() - 1e-6))
    return CpSatResult(
        makespan=best,
        lower_bound=bound,
        optimal=status == cp_model.OPTIMAL,
        starts=starts.reshape(J, O),
        status=solver.StatusName(status),
        seconds=seconds,
    )
