"""A search driven by a scripted LLM, run as a subprocess by the kill -9 test.

usage: python evolve_worker.py RUN_DIR SAMPLES [--resume] [--slow]

`--slow`: from the 13th completion on, every program spins for about a minute per call, so the
evaluations are still running when the test stops the search.
"""

from __future__ import annotations

import sys
import time

from discoverygym.agents.evolution import (
    DatabaseConfig,
    EvolutionConfig,
    ScriptedBackend,
    SandboxLimits,
    run_evolution,
)

SMALL = ("weibull-200:seed=0,count=2",)


SPIN = "    for _ in range(10 ** 9):\n        item = item + 0\n    return -(bins - item)\n"


def completion(prompt: str, _counter=[0]) -> str:  # noqa: B006 - deliberate call counter
    _counter[0] += 1
    k = _counter[0]
    time.sleep(0.05)
    if "--slow" in sys.argv and k > 12:
        return SPIN.replace("0\n", f"{k}\n", 1)  # distinct texts: none is a duplicate
    if k % 5 == 0:
        return "    return bins[:1]\n"  # wrong shape: a failed sample
    return f"    return -(bins - item) + {k % 7} * 1e-3 * bins - {k} * 1e-6 * bins ** 2\n"


def config(**kwargs) -> EvolutionConfig:
    return EvolutionConfig(
        database=DatabaseConfig(num_islands=3), samples_per_prompt=2, checkpoint_every_s=0.5,
        limits=SandboxLimits(timeout_s=120 if "--slow" in sys.argv else 20), train_datasets=SMALL,
        validation_datasets=("weibull-200:seed=1,count=2",), test_datasets=SMALL, **kwargs)


if __name__ == "__main__":
    run_dir, samples = sys.argv[1], int(sys.argv[2])
    result = run_evolution("binpacking", ScriptedBackend(completion), run_dir, samples=samples,
                           resume="--resume" in sys.argv, config=config(evaluate_test=False))
    print(f"interrupted={result.interrupted} samples={result.stats.samples}", flush=True)
