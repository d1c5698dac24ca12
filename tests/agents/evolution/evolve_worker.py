"""A search driven by a scripted LLM, run as a subprocess by the kill -9 test.

usage: python evolve_worker.py RUN_DIR SAMPLES [--resume]
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


def completion(prompt: str, _counter=[0]) -> str:  # noqa: B006 - deliberate call counter
    _counter[0] += 1
    k = _counter[0]
    time.sleep(0.05)
    if k % 5 == 0:
        return "    return bins[:1]\n"  # wrong shape: a failed sample
    return f"    return -(bins - item) + {k % 7} * 1e-3 * bins - {k} * 1e-6 * bins ** 2\n"


def config(**kwargs) -> EvolutionConfig:
    return EvolutionConfig(
        database=DatabaseConfig(num_islands=3), samples_per_prompt=2, checkpoint_every_s=0.5,
        limits=SandboxLimits(timeout_s=20), train_datasets=SMALL,
        validation_datasets=("weibull-200:seed=1,count=2",), test_datasets=SMALL, **kwargs)


if __name__ == "__main__":
    run_dir, samples = sys.argv[1], int(sys.argv[2])
    result = run_evolution("binpacking", ScriptedBackend(completion), run_dir, samples=samples,
                           resume="--resume" in sys.argv, config=config(evaluate_test=False))
    print(f"interrupted={result.interrupted} samples={result.stats.samples}", flush=True)
