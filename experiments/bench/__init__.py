"""Throughput benchmarks, one module per game of `discoverygym.envs.GAMES` (named after it) and
the cross-game ones (``vector``, ``scaling``), each with ``run(quick: bool) -> None``.

Every figure is printed next to a reference measured in the same run, as a ratio.
"""

from __future__ import annotations

import time
from collections.abc import Callable

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
