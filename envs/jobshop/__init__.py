"""Job-shop scheduling: benchmark instances and bounds, the dispatching game, a checker and CP-SAT.

    from discoverygym.envs.jobshop import load_instance, JobShopEnv, solve_cpsat
    instance = load_instance("ft06")          # .machines, .durations, .lower_bound, .upper_bound
    result = solve_cpsat(instance, time_limit_s=10, workers=2)   # .makespan 55, .optimal True
"""

from discoverygym.envs.jobshop.checker import ScheduleError, check_schedule, schedule_violations
from discoverygym.envs.jobshop.cpsat import CpSatResult, solve_cpsat
from discoverygym.envs.jobshop.env import JOB_FEATURES, MACHINE_FEATURES, JobShopEnv
from discoverygym.envs.jobshop.instances import (
    InstanceFormatError,
    JobShopInstance,
    dataset_names,
    generate_instance,
    instance_names,
    list_instances,
    load_dataset,
    load_instance,
    parse_standard,
    parse_taillard,
    read_instance_file,
    resolve_dataset,
)
from discoverygym.envs.jobshop.render import gantt_figure, gantt_rgb, gantt_text, save_gantt

__all__ = [
    "CpSatResult",
    "InstanceFormatError",
    "JOB_FEATURES",
    "JobShopEnv",
    "JobShopInstance",
    "MACHINE_FEATURES",
    "ScheduleError",
    "check_schedule",
    "dataset_names",
    "gantt_figure",
    "gantt_rgb",
    "gantt_text",
    "generate_instance",
    "instance_names",
    "list_instances",
    "load_dataset",
    "load_instance",
    "parse_standard",
    "parse_taillard",
    "read_instance_file",
    "resolve_dataset",
    "save_gantt",
    "schedule_violations",
    "solve_cpsat",
]
