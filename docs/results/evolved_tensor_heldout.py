"""Held-out check of evolved tensor proposal rules, as issue 15 asks: on the game's held-out
sizes (<3,3,4> and <2,4,4> over GF(2), <3,3,3> with {-1, 0, 1}), 5 walks each (seeds 1000-1004,
none used in train, validation or test) of 1,000,000 candidate flips: the rank reached and the
attempts used to reach the best-known rank (the whole budget when it is not reached), with
medians. Every program runs in the sandbox and is scored by the game's own trusted scorer.

usage: python docs/results/evolved_tensor_heldout.py [--budget N] PROGRAM.py ... ("seed": the seed)
"""
from __future__ import annotations

import ast
import math
import sys
import time
from pathlib import Path

import numpy as np

from discoverygym.agents.evolution import code
from discoverygym.agents.evolution.games import TENSOR
from discoverygym.agents.evolution.sandbox import SandboxLimits, evaluate_program
from discoverygym.agents.evolution.scorers import tensor_dataset_name
from discoverygym.envs.tensor.known import best_known_rank

SIZES = [(3, 3, 4, "mod2"), (2, 4, 4, "mod2"), (3, 3, 3, "standard")]
SEEDS = range(1000, 1005)

args = sys.argv[1:]
budget = 1_000_000
if args[:1] == ["--budget"]:
    budget, args = int(args[1]), args[2:]
for program in args:
    source = TENSOR.seed if program == "seed" else Path(program).read_text()
    source = ast.unparse(code.function_node(source, "propose"))
    print(program, flush=True)
    for n, m, p, field in SIZES:
        target = best_known_rank(n, m, p, field)
        names = tuple(tensor_dataset_name(n, m, p, field, s, budget) for s in SEEDS)
        t0 = time.perf_counter()
        result = evaluate_program(source, "tensor", "test", datasets=names,
                                  limits=SandboxLimits(timeout_s=900))
        if not result.ok:
            print(f"  <{n},{m},{p}> {field}: failed: {result.error}")
            continue
        ranks, used = [], []
        for name in names:
            value = -result.scores[name]  # rank + attempts used / budget
            rank = math.floor(value + 1e-9)
            if rank > target:  # the budget ran out: value = rank + 1
                rank, attempts = round(value) - 1, budget
            else:
                attempts = round((value - rank) * budget)
            ranks.append(rank)
            used.append(attempts)
        print(f"  <{n},{m},{p}> {field} target {target}: ranks {ranks}, median {np.median(ranks):g}; "
              f"attempts {used}, median {int(np.median(used)):,} ({time.perf_counter() - t0:.0f} s)",
              flush=True)
