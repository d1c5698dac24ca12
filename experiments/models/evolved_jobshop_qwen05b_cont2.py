# discoverygym evolved program: jobshop.priority
# scores (minus the mean makespan gap in percent to the best known upper bound (generated instances: to the trivial lower bound)): train -41.7531, validation -43.7869
# samples used: 453 (found at sample 35); llm: qwen2.5-coder-0.5b; seed: 7
# metadata: {"compute": {"cpu_seconds": 5115.2, "eval_seconds": 41.6, "llm_samples": 453, "llm_seconds": 5073.6, "llm_tokens": 496362}, "datasets": {"test": ["taillard-15x15", "taillard-20x15", "taillard-20x20"], "train": ["random-15x15:seed=4000,n=30"], "validation": ["random-15x15:seed=3000,n=50"]}, "game": "jobshop", "llm": "qwen2.5-coder-0.5b", "sample": 35, "samples": 453, "scores": {"train": -41.75307129896511, "validation": -43.78687136163136}, "seed": 7, "start_from": {"file": "evolved_jobshop_qwen05b_cont.py", "sha256": "ed4c5733685f2169b822028428490c02ecf65e1861cab907383fbc79c14ce04b"}}
"""Finds a dispatching rule for job-shop scheduling: a score per job, the best job goes next."""
import numpy as np


def priority(job_features: np.ndarray, machine_features: np.ndarray) -> np.ndarray:
    unfinished = job_features[:, 3] > 0
    earliest_start = job_features[:, 5]
    first = earliest_start[unfinished].min() if unfinished.any() else 0.0
    return np.where(unfinished & (earliest_start <= first), job_features[:, 2], -np.inf) - job_features[:, 0] + job_features[:, 2] / 4 + job_features[:, 5] / 4 + job_features[:, 6] / 4 - job_features[:, 0] + job_features[:, 2] / 4 + job_features[:, 5] / 4 + job_features[:, 6] / 4 - job_features[:, 0] + job_features[:, 2] / 4 + job_features[:, 5] / 4 + job_features[:, 6] / 4 - job_features[:, 0] + job_features[:, 2] / 4 + job_features[:, 5] / 4 + job_features[:, 6] / 4 - job_features[:, 0] + job_features[:, 2] / 4 + job_features[:, 5] / 4 + job_features[:, 6] / 4 - job_features[:, 0] + job_features[:, 2] / 4 + job_features[:, 5] / 4 + job_features[:, 6] / 4 - job_features[:, 0] + job_features[:, 2] / 4 + job_features[:, 5] / 4 + job_features[:, 6] / 4 - job_features[:, 0] + job_features[:, 2] / 4 + job_features[:, 5] / 4 + job_features[:, 6] / 4 - job_features[:, 0]
