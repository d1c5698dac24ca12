# discoverygym evolved program: jobshop.priority
# scores (minus the mean makespan gap in percent to the best known upper bound (generated instances: to the trivial lower bound)): test -21.5854, train -41.3894, validation -42.8603
# samples used: 252 (found at sample 247); llm: qwen2.5-coder-0.5b; seed: 0
# metadata: {"compute": {"cpu_seconds": 3316.2, "eval_seconds": 79.9, "llm_samples": 252, "llm_seconds": 3236.3, "llm_tokens": 120285}, "datasets": {"test": ["taillard-15x15", "taillard-20x15", "taillard-20x20"], "train": ["random-10x10:seed=1000,n=10"], "validation": ["random-15x15:seed=2000,n=10"]}, "game": "jobshop", "llm": "qwen2.5-coder-0.5b", "sample": 247, "samples": 252, "scores": {"test": -21.58536891794287, "train": -41.389381459292316, "validation": -42.86032711445206}, "seed": 0}
"""Finds a dispatching rule for job-shop scheduling: a score per job, the best job goes next."""
import numpy as np


def priority(job_features: np.ndarray, machine_features: np.ndarray) -> np.ndarray:
    unfinished = job_features[:, 3] > 0
    earliest_start = job_features[:, 5]
    first = earliest_start[unfinished].min() if unfinished.any() else 0.0
    return np.where(unfinished & (earliest_start <= first), job_features[:, 2] + job_features[:, 1] + job_features[:, 3] + job_features[:, 3] + job_features[:, 2] + job_features[:, 3] + job_features[:, 1], -np.inf) + job_features[:, 3] + job_features[:, 1] + job_features[:, 3] + job_features[:, 1] + job_features[:, 3] + job_features[:, 1]
