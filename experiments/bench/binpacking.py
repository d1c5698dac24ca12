"""Bin packing throughput on Weibull 5k with best fit, each figure against FunSearch's loop.

The reference is FunSearch's notebook loop (`reference_pack`: n pre-allocated bins, a
numpy scan of all of them per item, best-fit priority), measured in the same run. Figures:
env steps/s in histogram and bins modes (`gym.make` env, `BestFit` agent, `run_episode`),
and `evaluate_priority`'s items/s (the same FunSearch protocol, exact; and with the opt-in
``empty_bins="first"``), each as a ratio.
"""

from __future__ import annotations

import gymnasium as gym
from rich.console import Console
from rich.table import Table

from discoverygym.agents.base import run_episode
from discoverygym.agents.heuristics.binpacking import BestFit, best_fit_priority
from discoverygym.envs.binpacking.evaluator import evaluate_priority, reference_pack
from discoverygym.envs.binpacking.instances import Dataset, Instance, load_dataset
from discoverygym.experiments.bench import paired_rates

ENV_ID = "discoverygym.envs:discoverygym/OnlineBinPacking-v0"


def _instance(quick: bool) -> Instance:
    full = load_dataset("weibull5k")[0]
    if not quick:
        return full
    return Instance.from_items(f"{full.name}[:1000]", full.capacity, full.items[:1000])


def run(quick: bool = False) -> None:
    """Print the throughput table (quick: 1000 items of one instance, short timings)."""
    inst = _instance(quick)
    n = inst.num_items
    items, capacity = inst.items.tolist(), inst.capacity
    min_seconds, repeats = (0.05, 1) if quick else (1.0, 3)

    def reference() -> int:
        reference_pack(best_fit_priority, items, capacity)
        return n

    def evaluator(empty_bins: str):
        def work() -> int:
            evaluate_priority(best_fit_priority, inst, empty_bins=empty_bins)
            return n

        return work

    def env_work(mode: str):
        env = gym.make(ENV_ID, dataset=Dataset(inst.name, (inst,)), observation=mode)
        agent = BestFit()

        def work() -> int:
            return run_episode(env, agent, seed=0).steps

        return work

    measures = [
        ("env steps/s, histogram obs, best-fit agent", env_work("histogram")),
        ("env steps/s, bins obs, best-fit agent", env_work("bins")),
        ("evaluate_priority items/s, best fit (exact protocol)", evaluator("all")),
        ("evaluate_priority items/s, best fit, empty_bins='first'", evaluator("first")),
    ]
    ref, rows = paired_rates(reference, measures, repeats, min_seconds)
    table = Table(title=f"binpacking throughput on {inst.name} ({n} items, C={capacity})")
    table.add_column("measure")
    table.add_column("per second", justify="right")
    table.add_column("reference items/s (median)", justify="right")
    table.add_column("ratio (median of rounds)", justify="right")
    table.add_row(
        "reference: FunSearch notebook loop, best fit", f"{ref:,.0f}", f"{ref:,.0f}", "1.00"
    )
    for label, value, ratio in rows:
        table.add_row(label, f"{value:,.0f}", f"{ref:,.0f}", f"{ratio:.2f}")
    Console(width=120).print(table)
