"""Job-shop env throughput: steps per second on ta01 (15x15) with uniformly random legal actions.

Rows, all measured in the same run with the same action sampler (a uniform pick among the legal
actions of the mask each env returns):

* ``discoverygym`` (``JobShopEnv``, left-shift insertion, full observation + info every step),
  and the same env with ``left_shift=False``;
* a plain Python dispatch loop (the reference; always present): the same game with lists and no
  observation at all, i.e. the cost of the bare scheduling logic;
* JSSEnv (``pip install JSSEnv``; its legacy ``reset()`` without seed/options is shimmed) and
  JobShopLib's ``SingleJobShopGraphEnv`` (``pip install job-shop-lib``), when importable.

The ratio column is steps/s relative to ``discoverygym`` (> 1: faster than ours).
"""

from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np
from rich.console import Console
from rich.table import Table

from discoverygym.envs.jobshop.env import JobShopEnv
from discoverygym.envs.jobshop.instances import INSTANCE_DIR, load_instance
from discoverygym.experiments.bench import rate

INSTANCE = "ta01"


def _pick(mask: np.ndarray, rng: random.Random) -> int:
    legal = np.flatnonzero(mask)
    return int(legal[int(rng.random() * len(legal))])


def ours(left_shift: bool = True) -> Callable[[], int]:
    """One episode of `JobShopEnv` on ta01; returns the number of steps."""
    env = JobShopEnv(instance=INSTANCE, left_shift=left_shift)
    env.reset(seed=0)
    rng = random.Random(0)

    def episode() -> int:
        _, info = env.reset()
        steps, done = 0, False
        while not done:
            _, _, done, _, info = env.step(_pick(info["action_mask"], rng))
            steps += 1
        return steps

    return episode


def plain_loop() -> Callable[[], int]:
    """The reference: dispatch random jobs with plain Python lists (append, no observation)."""
    instance = load_instance(INSTANCE)
    route, times = instance.machines.tolist(), instance.durations.tolist()
    jobs, ops, machines = instance.num_jobs, instance.num_operations, instance.num_machines
    rng = random.Random(0)

    def episode() -> int:
        next_op, job_ready, machine_ready = [0] * jobs, [0] * jobs, [0] * machines
        mask = np.ones(jobs, dtype=np.int8)
        for _ in range(jobs * ops):
            j = _pick(mask, rng)
            k = next_op[j]
            m = route[j][k]
            end = max(job_ready[j], machine_ready[m]) + times[j][k]
            job_ready[j] = machine_ready[m] = end
            next_op[j] = k + 1
            if k + 1 == ops:
                mask[j] = 0
        return jobs * ops

    return episode


def jssenv() -> Callable[[], int] | None:
    """One episode of JSSEnv on ta01 (legacy reset shimmed), or None if not installed."""
    try:
        from JSSEnv.envs.jss_env import JssEnv
    except Exception:  # noqa: BLE001 - optional peer, any import failure means "not available"
        return None
    env = JssEnv(env_config={"instance_path": str(INSTANCE_DIR / f"{INSTANCE}.txt")})
    rng = random.Random(0)

    def episode() -> int:
        obs = env.reset()  # legacy signature: no seed/options, returns the observation only
        steps, done = 0, False
        while not done:
            obs, _, done, _, _ = env.step(_pick(obs["action_mask"], rng))
            steps += 1
        return steps

    return episode


def jobshoplib() -> Callable[[], int] | None:
    """One episode of JobShopLib's SingleJobShopGraphEnv on ta01, or None if not installed."""
    try:
        from job_shop_lib.benchmarking import load_benchmark_instance
        from job_shop_lib.dispatching.feature_observers import FeatureObserverType
        from job_shop_lib.graphs import build_resource_task_graph
        from job_shop_lib.reinforcement_learning import SingleJobShopGraphEnv
    except Exception:  # noqa: BLE001 - optional peer
        return None
    graph = build_resource_task_graph(load_benchmark_instance(INSTANCE))
    env = SingleJobShopGraphEnv(
        graph, feature_observer_configs=[FeatureObserverType.IS_READY, FeatureObserverType.DURATION]
    )
    rng = random.Random(0)

    def episode() -> int:
        _, info = env.reset()
        steps, done = 0, False
        while not done:
            available = info["available_operations_with_ids"]
            _, machine, job = available[int(rng.random() * len(available))]
            _, _, done, _, info = env.step((job, machine))
            steps += 1
        return steps

    return episode


def measure(quick: bool) -> dict[str, float | None]:
    """steps/s of every row (None: peer not installed)."""
    seconds, repeats = (0.2, 1) if quick else (2.0, 3)
    rows: dict[str, Callable[[], int] | None] = {
        "discoverygym JobShopEnv (left shift)": ours(True),
        "discoverygym JobShopEnv (append)": ours(False),
        "plain Python dispatch loop (reference)": plain_loop(),
        "JSSEnv": jssenv(),
        "JobShopLib SingleJobShopGraphEnv": jobshoplib(),
    }
    return {name: (None if work is None else rate(work, seconds, repeats)) for name, work in rows.items()}


def run(quick: bool = False) -> None:
    """Print the table of steps/s with ratios to discoverygym's env (same run, same machine)."""
    results = measure(quick)
    base = results["discoverygym JobShopEnv (left shift)"]
    suffix = " (quick)" if quick else ""
    table = Table(title=f"job shop env steps/s on {INSTANCE} (15x15), random legal actions{suffix}")
    table.add_column("env")
    table.add_column("steps/s", justify="right")
    table.add_column("ratio to discoverygym", justify="right")
    for name, value in results.items():
        if value is None:
            table.add_row(name, "not installed", "")
        else:
            ratio = value / base
            table.add_row(name, f"{value:,.0f}", f"{ratio:.2f}x" if ratio >= 0.1 else f"{ratio:.3f}x")
    console = Console()
    console.print(table)
    jss = results["JSSEnv"]
    if jss:
        console.print(f"discoverygym / JSSEnv = {base / jss:.2f}x (goal >= 2x)")
