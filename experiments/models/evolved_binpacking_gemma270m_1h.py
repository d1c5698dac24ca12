# discoverygym evolved program: binpacking.priority
# scores (minus the excess bins over L1 in percent, averaged over the split's datasets): test -5.2324, train -3.9540, validation -4.0117
# samples used: 2980 (found at sample 0); llm: gemma-270m; seed: 1
# metadata: {"compute": {"cpu_seconds": 4017.6, "eval_seconds": 1105.7, "llm_samples": 2980, "llm_seconds": 2911.9, "llm_tokens": 718314}, "datasets": {"test": ["weibull5k", "or1", "or2", "or3", "or4"], "train": ["weibull-5k:seed=1"], "validation": ["weibull-5k:seed=2"]}, "game": "binpacking", "llm": "gemma-270m", "sample": 0, "samples": 2980, "scores": {"test": -5.2323656262014335, "train": -3.95400443816824, "validation": -4.011721907841546}, "seed": 1}
"""Finds good assignment for online 1d bin packing."""
import numpy as np


def priority(item: float, bins: np.ndarray) -> np.ndarray:
    """Returns priority with which we want to add item to each bin.

    Args:
        item: Size of item to be added to the bin.
        bins: Array of capacities for each bin.

    Return:
        Array of same size as bins with priority score of each bin.
    """
    return -(bins - item)
