"""An independent schedule checker (no code shared with the env or the solver).

A schedule is an integer array ``starts`` (jobs x operations): the start time of every
operation. It is feasible when every start is >= 0, each job's operations run in route order
(an operation starts no earlier than its predecessor ends) and no two operations with positive
duration overlap on a machine. Operation ``(j, k)`` ends at ``starts[j, k] + durations[j, k]``.
"""

from __future__ import annotations

import numpy as np

from discoverygym.envs.jobshop.instances import JobShopInstance


class ScheduleError(ValueError):
    """An infeasible schedule; the message lists the violations found."""


def schedule_violations(instance: JobShopInstance, starts: np.ndarray, limit: int = 10) -> list[str]:
    """Every violation (at most `limit`) of `starts` for `instance`, as readable strings."""
    starts = np.asarray(starts)
    durations, machines = instance.durations, instance.machines
    if starts.shape != durations.shape:
        return [f"starts has shape {starts.shape}, expected (jobs, operations) = {durations.shape}"]
    if not np.issubdtype(starts.dtype, np.integer):
        return [f"starts must be integers, got dtype {starts.dtype}"]
    problems: list[str] = []
    for j, k in zip(*np.nonzero(starts < 0)):
        problems.append(f"operation ({j},{k}) has negative start {starts[j, k]}")
    ends = starts + durations
    late = ends[:, :-1] > starts[:, 1:]
    for j, k in zip(*np.nonzero(late)):
        problems.append(
            f"precedence: job {j} operation {k + 1} starts at {starts[j, k + 1]} before operation {k} "
            f"ends at {ends[j, k]}"
        )
    for m in range(instance.num_machines):
        jobs, ops = np.nonzero((machines == m) & (durations > 0))
        order = np.argsort(starts[jobs, ops], kind="stable")
        jobs, ops = jobs[order], ops[order]
        s, e = starts[jobs, ops], ends[jobs, ops]
        for i in np.flatnonzero(e[:-1] > s[1:]):
            problems.append(
                f"machine {m}: operation ({jobs[i]},{ops[i]}) [{s[i]},{e[i]}) overlaps "
                f"({jobs[i + 1]},{ops[i + 1]}) [{s[i + 1]},{e[i + 1]})"
            )
    return problems[:limit]


def check_schedule(instance: JobShopInstance, starts: np.ndarray) -> int:
    """Raise `ScheduleError` if `starts` is infeasible for `instance`; return its makespan."""
    problems = schedule_violations(instance, starts)
    if problems:
        raise ScheduleError(f"infeasible schedule for {instance.name}: " + "; ".join(problems))
    return makespan(instance, starts)


def makespan(instance: JobShopInstance, starts: np.ndarray) -> int:
    """The latest operation end (0 for an empty instance)."""
    return int((np.asarray(starts) + instance.durations).max(initial=0))


def verified_gap_pct(instance: JobShopInstance, starts: np.ndarray, reported_makespan: int) -> tuple[float, int]:
    """(gap in % to the best upper bound, that bound) of a schedule, after checking it.

    Raises `ScheduleError` for an infeasible schedule and AssertionError when the makespan a
    player reported differs from the checked one. Instances without a known upper bound
    (generated ones) are measured against their best lower bound.
    """
    makespan = check_schedule(instance, starts)
    if makespan != reported_makespan:
        raise AssertionError(f"{instance.name}: reported makespan {reported_makespan} != checker {makespan}")
    upper = instance.upper_bound or instance.best_lower_bound
    return 100.0 * (makespan - upper) / upper, upper
