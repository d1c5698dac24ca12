"""Where a factor policy ranks the correct next move on the way to a rank-7 <2,2,2> scheme.

    python docs/results/rl_attempts/tensor_policy_ranks.py POLICY.pt [--schemes-from 600]

Collects distinct {-1, 0, 1} rank-7 schemes with the flip-graph search (one per seed, 5 s at
most each), then follows 40 random term orders of random schemes. At each depth it scores all
128,000 canonical terms with the policy (budget = 7 - depth) and prints, over the 40 paths, the
median and 90th percentile of the rank of the best correct next move (0: the policy's first
choice). A correct move is a term that extends the terms played so far within some collected
scheme.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch as th

from discoverygym.agents.heuristics.tensor_search import flip_graph_search
from discoverygym.agents.rl.tensor_factors import canonical_signs, load_factor_policy
from discoverygym.envs.tensor.tensors import matmul_tensor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("policy")
    parser.add_argument("--schemes-from", type=int, default=600, help="flip-graph seeds")
    parser.add_argument("--paths", type=int, default=40)
    args = parser.parse_args()
    th.set_num_threads(1)
    policy, _ = load_factor_policy(args.policy)
    codecs = policy.codecs
    if [len(c.table) for c in codecs] != [81, 81, 81]:
        raise SystemExit("this script measures a <2,2,2> policy with coefficients {-1, 0, 1}")

    def token(u, v, w):
        u, v, w = (x[0] for x in canonical_signs(u[None], v[None], w[None]))
        return tuple(int(codecs[k].encode(x)) for k, x in enumerate((u, v, w)))

    schemes = set()
    for seed in range(args.schemes_from):
        found = flip_graph_search(2, 2, 2, "standard", time_budget=5, target_rank=7, seed=seed)
        u, v, w = found.decomposition
        if found.rank == 7 and max(abs(u).max(), abs(v).max(), abs(w).max()) <= 1:
            schemes.add(frozenset(token(u[:, r], v[:, r], w[:, r]) for r in range(7)))
    schemes = list(schemes)
    print(f"{len(schemes)} distinct rank-7 schemes")

    every = th.arange(81)
    pairs = th.stack([every.repeat_interleave(81), every.repeat(81)], dim=1)

    @th.no_grad()
    def joint(residual: np.ndarray, budget: int) -> np.ndarray:
        hidden = policy.trunk(policy.features(residual[None], np.array([budget])))
        lu = policy.head(hidden, 0, None)[0]
        lv = policy.head(hidden.expand(81, -1), 1, pairs[::81])
        lw = policy.head(hidden.expand(6561, -1), 2, pairs).reshape(81, 81, 81)
        return np.nan_to_num((lu[:, None, None] + lv[:, :, None] + lw).numpy(), nan=-np.inf)

    def term(t):
        u, v, w = (codecs[k].table[t[k]] for k in range(3))
        return u[:, None, None] * v[None, :, None] * w[None, None, :]

    rng = np.random.default_rng(0)
    ranks: dict[int, list[int]] = {k: [] for k in range(6)}
    for _ in range(args.paths):
        order = list(schemes[rng.integers(len(schemes))])
        rng.shuffle(order)
        residual, played = matmul_tensor(2, 2, 2), []
        for depth in range(6):
            scores = joint(residual, 7 - depth)
            correct = set().union(*[s for s in schemes if set(played) <= s]) - set(played)
            ranks[depth].append(min(int((scores > scores[t]).sum()) for t in correct))
            played.append(order[depth])
            residual = residual - term(order[depth])
    for depth, values in ranks.items():
        print(
            f"depth {depth + 1}: median rank {np.median(values):g}, "
            f"90th percentile {np.percentile(values, 90):g}, max {max(values)}"
        )


if __name__ == "__main__":
    main()
