"""Cap set throughput at n = 8, each figure against a naive pure-Python game in the same run.

The reference (`naive_episode`) plays the same game as `discoverygym/CapSet-v0` in pure
Python: members as tuples, blocked vectors in a set (adding b blocks -(a + b) mod 3 for each
member a, one tuple at a time), and after every step the legal vectors recomputed by scanning
all 3^n vectors (the env gives this mask every step); it adds the lowest-index legal vector,
as FunSearch's constant priority does. Figures: env steps/s (`gym.make` env, `run_episode`)
with the constant-priority greedy agent and with random greedy; the batched env
(`CapSetVectorEnv`, 64 games, the lowest legal vector, game steps counted without the
autoreset steps); `greedy_cap_set` (the
construction, priorities included) in vectors added per second. ``quick``: n = 6, short
timings.
"""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np
from rich.console import Console
from rich.table import Table

from discoverygym.agents.base import run_episode
from discoverygym.agents.heuristics.capset import PriorityAgent, RandomGreedy
from discoverygym.envs.capset.construction import greedy_cap_set
from discoverygym.envs.capset.vector import CapSetVectorEnv
from discoverygym.experiments.bench import paired_rates

ENV_ID = "discoverygym.envs:discoverygym/CapSet-v0"
BATCH = 64


def naive_episode(n: int) -> int:
    """One episode of the game in pure Python (lowest legal vector each step); its steps."""
    everything = list(itertools.product((0, 1, 2), repeat=n))
    members: list[tuple[int, ...]] = []
    unavailable: set[tuple[int, ...]] = set()
    legal = [i for i, v in enumerate(everything) if v not in unavailable]
    while legal:
        b = everything[legal[0]]
        for a in members:
            unavailable.add(tuple((-(x + y)) % 3 for x, y in zip(a, b)))
        members.append(b)
        unavailable.add(b)
        legal = [i for i, v in enumerate(everything) if v not in unavailable]
    return len(members)


def run(quick: bool = False) -> None:
    """Print the throughput table (quick: n = 6 and short timings)."""
    n = 6 if quick else 8
    min_seconds, repeats = (0.05, 1) if quick else (1.0, 3)
    steps = naive_episode(n)

    def reference() -> int:
        return naive_episode(n)

    def env_work(agent):
        env = gym.make(ENV_ID, n=n)

        def work() -> int:
            return run_episode(env, agent, seed=0).steps

        return work

    batched = CapSetVectorEnv(num_envs=BATCH, n=n)

    def batched_work() -> int:
        """256 batched steps of the lowest legal vector; counts game steps (not autoresets)."""
        batched.reset(seed=0)
        done = np.zeros(BATCH, dtype=bool)
        played = 0
        for _ in range(256):
            played += int((~done).sum())
            _, _, terminated, _, _ = batched.step(batched.action_masks().argmax(axis=1))
            done = terminated
        return played

    def construction() -> int:
        return len(greedy_cap_set(n))

    measures = [
        ("env steps/s, constant-priority greedy agent", env_work(PriorityAgent())),
        ("env steps/s, random greedy agent", env_work(RandomGreedy(0))),
        (f"batched env ({BATCH} games) steps/s, lowest legal vector", batched_work),
        ("greedy_cap_set vectors added/s (constant priority)", construction),
    ]
    ref, rows = paired_rates(reference, measures, repeats, min_seconds)
    table = Table(title=f"cap set throughput, n = {n} ({3**n} vectors, greedy episode {steps} steps)")
    table.add_column("measure")
    table.add_column("per second", justify="right")
    table.add_column("reference steps/s (median)", justify="right")
    table.add_column("ratio (median of rounds)", justify="right")
    table.add_row("reference: naive pure-Python game, lowest legal vector", f"{ref:,.0f}", f"{ref:,.0f}", "1.00")
    for label, value, ratio in rows:
        table.add_row(label, f"{value:,.0f}", f"{ref:,.0f}", f"{ratio:.2f}")
    Console(width=140).print(table)
