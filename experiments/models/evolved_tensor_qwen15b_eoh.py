# discoverygym evolved program: tensor.propose
# scores (minus the mean over walks of (rank reached + fraction of the flip attempts used)): test -29.0000, train -22.7131, validation -22.2900
# samples used: 118 (found at sample 83); llm: qwen2.5-coder-1.5b; seed: 4
# metadata: {"compute": {"cpu_seconds": 2616.1, "eval_seconds": 447.4, "llm_samples": 118, "llm_seconds": 2168.7, "llm_tokens": 132191}, "datasets": {"test": ["3x3x4:mod2:seed=100:attempts=1000000", "2x4x4:mod2:seed=100:attempts=1000000", "3x3x3:standard:seed=100:attempts=1000000"], "train": ["3x3x3:mod2:seed=0:attempts=200000", "3x3x3:mod2:seed=1:attempts=200000", "3x3x3:mod2:seed=2:attempts=200000", "3x3x3:mod2:seed=3:attempts=200000", "2x3x4:mod2:seed=0:attempts=200000", "2x3x4:mod2:seed=1:attempts=200000", "2x3x4:mod2:seed=2:attempts=200000", "2x3x4:mod2:seed=3:attempts=200000"], "validation": ["3x3x3:mod2:seed=10:attempts=200000", "3x3x3:mod2:seed=11:attempts=200000", "3x3x3:mod2:seed=12:attempts=200000", "3x3x3:mod2:seed=13:attempts=200000", "2x3x4:mod2:seed=10:attempts=200000", "2x3x4:mod2:seed=11:attempts=200000", "2x3x4:mod2:seed=12:attempts=200000", "2x3x4:mod2:seed=13:attempts=200000"]}, "game": "tensor", "llm": "qwen2.5-coder-1.5b", "sample": 83, "samples": 118, "scores": {"test": -29.0, "train": -22.713125, "validation": -22.29}, "seed": 4}
"""Finds a proposal rule for flip-graph random walks (Kauers & Moosbauer) that lower the rank
of matrix multiplication schemes faster.

Provided (no import needed): `Flip(i, j, mode, lam)`: flip term `j` against term `i` over
their shared factor in `mode` (0=a, 1=b, 2=c), `lam` = +1 or -1. `state` (read only) has
`terms` (id -> [a, b, c]), `ids` (live term ids), `groups` (per mode: key -> set of ids whose
factor is equal up to sign), `keys` (id -> [key_a, key_b, key_c]), `rank`,
`flips_since_improvement` and `field`. Every call of `propose` is one attempt of the walk's
budget, whether it returns a legal flip, an illegal one or None.
"""
import random


def propose(state, rng: random.Random):
    import random
    while True:
        i = state.ids[rng.randrange(len(state.ids))]
        mode = rng.randrange(3)
        group = state.groups[mode][state.keys[i][mode]]
        if len(group) < 2:
            continue
        j = rng.choice(tuple(group))
        if j == i:
            continue
        if rng.random() < 0.5:
            return Flip(i, j, mode, 1)
        else:
            return Flip(j, i, mode, -1)
