# discoverygym evolved program: binpacking.priority
# scores (minus the excess bins over L1 in percent, averaged over the split's datasets): train -1.0188, validation -1.0004, test -9.4821
# samples used: 828 (found at sample 450); llm: qwen2.5-coder-0.5b; seed: 0
# metadata: {"compute": {"cpu_seconds": 6295.1, "eval_seconds": 1548.1, "llm_samples": 828, "llm_seconds": 4747.0, "llm_tokens": 177165, "tune_trials": 40}, "datasets": {"test": ["weibull5k", "or1", "or2", "or3", "or4"], "train": ["weibull-5k:seed=1"], "validation": ["weibull-5k:seed=2"]}, "game": "binpacking", "llm": "qwen2.5-coder-0.5b", "sample": 450, "samples": 828, "scores": {"test": -9.482107572593767, "train": -1.01876134758927, "validation": -1.0004042037186718}, "seed": 0, "tuned_from": "evolved_binpacking_qwen05b.py", "tuned_from_sha256": "39a7a1450b06cc08828480d5cdc34cfd098b4e4aa3b234d51cb864411bfab133"}
"""Finds good assignment for online 1d bin packing."""
import numpy as np


def priority(item: float, bins: np.ndarray) -> np.ndarray:
    remaining = bins - item
    return np.ceil(item / remaining + np.ceil(item % remaining / 0.5932247137389688) + np.ceil(item % remaining / 9.36632327341462)) - 0.322287008859773
