"""Throughput benchmarks, one module per game of `discoverygym.envs.GAMES` (named after it) and
the cross-game ones (``vector``, ``scaling``), each with ``run(quick: bool) -> None``.

Every figure is printed next to a reference measured in the same run, as a ratio.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from discoverygym.envs import GAMES

BENCHMARKS: tuple[str, ...] = (*(game.name for game in GAMES), "vector", "scaling")


def rate(work: Callable[[], int], min_seconds: float = 1.0, repeats: int = 3) -> float:
    """Median over `repeats` of (units of work done by `work()`) / seconds, each run >= min_seconds."""
    rates = []
    for _ in range(repeats):
        done, start = 0, time.perf_counter()
        while True:
            done += work()
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                break
        rates.append(done / elapsed)
    rates.sort()
    return rates[len(rates) // 2]


def paired_rates(reference: Callable[[], int], measures: list[tuple[str, Callable[[], int]]],
                 repeats: int, min_seconds: float) -> tuple[float, list[tuple[str, float, float]]]:
    """Each measure's rate against `reference`, in rounds that interleave the two, so that a busy
    machine slows both alike: the reference's median rate, and per measure (label, median rate,
    median of the per-round ratios)."""
    refs: list[float] = []
    values: list[list[float]] = [[] for _ in measures]
    ratios: list[list[float]] = [[] for _ in measures]
    for _ in range(repeats):
        for k, (_, work) in enumerate(measures):
            ref_rate = rate(reference, min_seconds, 1)
            value = rate(work, min_seconds, 1)
            refs.append(ref_rate)
            values[k].append(value)
            ratios[k].append(value / ref_rate)
    rows = [(label, float(np.median(v)), float(np.median(r)))
            for (label, _), v, r in zip(measures, values, ratios)]
    return float(np.median(refs)), rows
