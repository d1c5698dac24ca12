# discoverygym evolved program: binpacking.priority
# scores (minus the excess bins over L1 in percent, averaged over the split's datasets): test -4.8126, train -6.0407, validation -4.8708
# samples used: 1481 (found at sample 803); llm: qwen2.5-coder-1.5b; seed: 5
# metadata: {"compute": {"cpu_seconds": 3665.4, "eval_seconds": 244.8, "llm_samples": 1481, "llm_seconds": 3420.6, "llm_tokens": 332841}, "datasets": {"test": ["or1", "or2", "or3", "or4"], "train": ["uniform-120:seed=1,count=100"], "validation": ["uniform-250:seed=2,count=40"]}, "game": "binpacking", "llm": "qwen2.5-coder-1.5b", "sample": 803, "samples": 1481, "scores": {"test": -4.812577667799898, "train": -6.040682145058553, "validation": -4.870775347912531}, "seed": 5}
"""Finds good assignment for online 1d bin packing."""
import numpy as np


def priority(item: float, bins: np.ndarray) -> np.ndarray:
    waste = bins - item
    priorities = -np.maximum(waste, bins / 2).astype(int)
    priorities = priorities - np.minimum(waste, bins / 4).astype(int)
    priorities = priorities + np.maximum(waste, bins / 4).astype(int)
    priorities = priorities - np.minimum(waste, bins / 8).astype(int)
    priorities = priorities + np.minimum(waste, bins / 16).astype(int)
    priorities = priorities + np.minimum(waste, bins / 32).astype(int)
    priorities = priorities + np.minimum(waste, bins / 64).astype(int)
    return priorities
