# discoverygym evolved program: jobshop.priority
# scores (minus the mean makespan gap in percent to the best known upper bound (generated instances: to the trivial lower bound)): test -17.4937, train -42.0798, validation -42.1167
# samples used: 1312 (found at sample 722); llm: qwen2.5-coder-0.5b; seed: 6
# metadata: {"compute": {"cpu_seconds": 6095.6, "eval_seconds": 255.2, "llm_samples": 1312, "llm_seconds": 5840.4, "llm_tokens": 726243}, "datasets": {"test": ["taillard-15x15", "taillard-20x15", "taillard-20x20"], "train": ["random-15x15:seed=1000,n=30"], "validation": ["random-15x15:seed=2000,n=50"]}, "game": "jobshop", "llm": "qwen2.5-coder-0.5b", "sample": 722, "samples": 1312, "scores": {"test": -17.493745944492254, "train": -42.079772709375305, "validation": -42.116681510947814}, "seed": 6, "start_from": {"file": "evolved_jobshop_qwen05b_15x15.py", "sha256": "631bed862778d5452c8ede56714877d585bb8553cdee3fec7a16931918809dee"}}
"""Finds a dispatching rule for job-shop scheduling: a score per job, the best job goes next."""
import numpy as np


def priority(job_features: np.ndarray, machine_features: np.ndarray) -> np.ndarray:
    unfinished = job_features[:, 3] > 0
    earliest_start = job_features[:, 5]
    first = earliest_start[unfinished].min() if unfinished.any() else 0.0
    return np.where(unfinished & (earliest_start <= first), job_features[:, 2], -np.inf) - job_features[:, 0] + job_features[:, 2] / 4 + job_features[:, 4] / 4 + job_features[:, 5] / 4 + job_features[:, 6] / 4 - job_features[:, 0] + job_features[:, 2] / 4 + job_features[:, 5] / 4 + job_features[:, 6] / 4 - job_features[:, 0] + job_features[:, 2] / 4 + job_features[:, 5] / 4 + job_features[:, 6] / 4 - job_features[:, 0] + job_features[:, 2] / 4 + job_features[:, 5] / 4 + job_features[:, 6] / 4 - job_features[:, 0] + job_features[:, 2] / 4 + job_features[:, 5] / 4 + job_features[:, 6] / 4 - job_features[:, 0]
