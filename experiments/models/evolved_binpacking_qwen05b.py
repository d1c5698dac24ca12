# discoverygym evolved program: binpacking.priority
# scores (minus the excess bins over L1 in percent, averaged over the split's datasets): test -6.3143, train -1.1499, validation -1.1924
# samples used: 828 (found at sample 450); llm: qwen2.5-coder-0.5b; seed: 0
# metadata: {"compute": {"cpu_seconds": 6151.1, "eval_seconds": 1404.1, "llm_samples": 828, "llm_seconds": 4747.0, "llm_tokens": 177165}, "datasets": {"test": ["weibull5k", "or1", "or2", "or3", "or4"], "train": ["weibull-5k:seed=1"], "validation": ["weibull-5k:seed=2"]}, "game": "binpacking", "llm": "qwen2.5-coder-0.5b", "sample": 450, "samples": 828, "scores": {"test": -6.314306238572931, "train": -1.1498890457938247, "validation": -1.1924009700889202}, "seed": 0}
"""Finds good assignment for online 1d bin packing."""
import numpy as np


def priority(item: float, bins: np.ndarray) -> np.ndarray:
    remaining = bins - item
    return np.ceil(item / remaining + np.ceil(item % remaining / 2) + np.ceil(item % remaining / 4)) - 1
