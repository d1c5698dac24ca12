# discoverygym evolved program: jobshop.priority
# scores (minus the mean makespan gap in percent to the best known upper bound (generated instances: to the trivial lower bound)): test -19.1573, train -43.8857, validation -32.7844
# samples used: 1287 (found at sample 307); llm: qwen2.5-coder-0.5b; seed: 2
# metadata: {"compute": {"cpu_seconds": 3032.6, "eval_seconds": 238.1, "llm_samples": 1287, "llm_seconds": 2794.5, "llm_tokens": 645756}, "datasets": {"test": ["taillard-15x15", "taillard-20x15", "taillard-20x20"], "train": ["random-15x15:seed=1000,n=30"], "validation": ["random-20x15:seed=2000,n=30"]}, "game": "jobshop", "llm": "qwen2.5-coder-0.5b", "sample": 307, "samples": 1287, "scores": {"test": -19.15728955520802, "train": -43.88569309129455, "validation": -32.78437824775167}, "seed": 2}
"""Finds a dispatching rule for job-shop scheduling: a score per job, the best job goes next."""
import numpy as np


def priority(job_features: np.ndarray, machine_features: np.ndarray) -> np.ndarray:
    unfinished = job_features[:, 3] > 0
    earliest_start = job_features[:, 5]
    first = earliest_start[unfinished].min() if unfinished.any() else 0.0
    return np.where(unfinished & (earliest_start <= first), job_features[:, 2], -np.inf) - job_features[:, 0]
