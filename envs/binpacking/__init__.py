"""Online 1-D bin packing as FunSearch plays it: instances, bounds, the evaluator and the env.

>>> from discoverygym.envs.binpacking import load_dataset, evaluate_priority
>>> round(evaluate_priority(lambda item, bins: -(bins - item), load_dataset("or3")).excess_pct, 2)
5.37
"""

from discoverygym.envs.binpacking.bounds import (
    InstanceBounds,
    excess_pct,
    instance_bounds,
    l1_bound,
    l2_bound,
)
from discoverygym.envs.binpacking.checker import PackingError, PackingReport, check_packing
from discoverygym.envs.binpacking.env import OBSERVATION_MODES, OnlineBinPackingEnv
from discoverygym.envs.binpacking.evaluator import (
    EvaluationResult,
    PriorityError,
    evaluate_priority,
    pack_instance,
    reference_pack,
)
from discoverygym.envs.binpacking.instances import (
    Dataset,
    Instance,
    InstanceFormatError,
    known_optimum,
    list_datasets,
    load_dataset,
    load_funsearch_json,
    parse_orlib,
    uniform_dataset,
    uniform_sizes,
    weibull_dataset,
    weibull_sizes,
)

__all__ = [
    "OBSERVATION_MODES",
    "Dataset",
    "EvaluationResult",
    "Instance",
    "InstanceBounds",
    "InstanceFormatError",
    "OnlineBinPackingEnv",
    "PackingError",
    "PackingReport",
    "PriorityError",
    "check_packing",
    "evaluate_priority",
    "excess_pct",
    "instance_bounds",
    "known_optimum",
    "l1_bound",
    "l2_bound",
    "list_datasets",
    "load_dataset",
    "load_funsearch_json",
    "pack_instance",
    "parse_orlib",
    "reference_pack",
    "uniform_dataset",
    "uniform_sizes",
    "weibull_dataset",
    "weibull_sizes",
]
