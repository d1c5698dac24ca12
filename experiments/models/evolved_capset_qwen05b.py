# discoverygym evolved program: capset.priority
# scores (minus the mean gap in percent of the cap set size to the best known size): test -43.3594, train -31.8552, validation -33.8983
# samples used: 692 (found at sample 116); llm: qwen2.5-coder-0.5b; seed: 0
# metadata: {"compute": {"cpu_seconds": 2469.1, "eval_seconds": 228.6, "llm_samples": 692, "llm_seconds": 2240.5, "llm_tokens": 140348}, "datasets": {"test": ["n8"], "train": ["n5", "n6"], "validation": ["n7"]}, "game": "capset", "llm": "qwen2.5-coder-0.5b", "sample": 116, "samples": 692, "scores": {"test": -43.359375, "train": -31.855158730158728, "validation": -33.898305084745765}, "seed": 0}
"""Finds large cap sets (sets of vectors in F_3^n with no three distinct members on a line)."""
import itertools

import numpy as np


def priority(el: tuple[int, ...], n: int) -> float:
    if np.prod(el) == 0:
        return 0.0
    return np.prod(el) / n - 1.0 if n > 1 else 0.0
