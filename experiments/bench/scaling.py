"""How the cost of a step grows with the instance size, single env and batched (N = 64).

``discoverygym bench scaling`` measures microseconds per env step (1e6 / steps per second),
single env against the native batched env with 64 sub-envs on the same instances and the
same policy, measured back to back (the ratio column is batched steps/s over single steps/s,
median of the rounds), for:

* bin packing, Weibull items (FunSearch's distribution, best fit): bin capacity C = 100 ..
  3000 with 5000 items (the histogram observation has C + 1 entries), and 1k .. 100k items
  with C = 100;
* job shop, random legal jobs: ft06 (6x6), la16 (10x10), ta01 (15x15), ta21 (20x20),
  ta41 (30x20), ta61 (50x20), ta71 (100x20);
* tensor game, random factors, rank bound every step: <2,2,2> .. <4,4,4> (size = the tensor's
  number of entries).

It prints the table and saves a log-log plot of cost against size (one panel per sweep) and
the numbers as CSV to ``results/bench/scaling.png`` and ``scaling.csv`` (``--out`` folder of
`run_to`).
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from discoverygym.experiments.bench.vector import (
    Work,
    batched_work,
    best_fit,
    paired,
    random_legal,
    single_work,
)

BATCH = 64
JOBSHOP = (
    ("ft06", 36),
    ("la16", 100),
    ("ta01", 225),
    ("ta21", 400),
    ("ta41", 600),
    ("ta61", 1000),
    ("ta71", 2000),
)
TENSORS = ((2, 2, 2), (2, 2, 3), (2, 3, 3), (3, 3, 3), (3, 3, 4), (3, 4, 4), (4, 4, 4))
CAPACITIES = (100, 300, 1000, 3000)
ITEMS = (1000, 5000, 20000, 100000)


def _binpacking(num_items: int, capacity: int) -> tuple[Work, Work]:
    from discoverygym.envs.binpacking.env import OnlineBinPackingEnv
    from discoverygym.envs.binpacking.instances import weibull_dataset
    from discoverygym.envs.binpacking.vector import OnlineBinPackingVectorEnv

    data = weibull_dataset(num_items, 0, 1, capacity=capacity)
    return (
        single_work(OnlineBinPackingEnv(dataset=data), best_fit, True),
        batched_work(OnlineBinPackingVectorEnv(num_envs=BATCH, dataset=data), best_fit, True),
    )


def _jobshop(name: str) -> tuple[Work, Work]:
    from discoverygym.envs.jobshop.env import JobShopEnv
    from discoverygym.envs.jobshop.vector import JobShopVectorEnv

    return (
        single_work(JobShopEnv(instance=name), random_legal, True),
        batched_work(JobShopVectorEnv(num_envs=BATCH, instance=name), random_legal, True),
    )


def _tensor(size: tuple[int, int, int]) -> tuple[Work, Work]:
    from discoverygym.envs.tensor.env import TensorDecompositionEnv
    from discoverygym.envs.tensor.vector import TensorDecompositionVectorEnv

    n, m, p = size
    return (
        single_work(TensorDecompositionEnv(n, m, p), None, False, chunk=32),
        batched_work(
            TensorDecompositionVectorEnv(num_envs=BATCH, n=n, m=m, p=p), None, False, chunk=2
        ),
    )


def sweeps(quick: bool) -> dict[str, list[tuple[str, float, Callable[[], tuple[Work, Work]]]]]:
    """Panel -> [(label, size, factory of (single work, batched work))]."""
    pick = (lambda xs: xs[:: max(1, len(xs) // 2)][:2]) if quick else (lambda xs: xs)
    return {
        "bin packing: capacity C (5000 items)": [
            (f"C={c}", float(c), lambda c=c: _binpacking(5000, c)) for c in pick(CAPACITIES)
        ],
        "bin packing: items (C=100)": [
            (f"{n} items", float(n), lambda n=n: _binpacking(n, 100)) for n in pick(ITEMS)
        ],
        "job shop: jobs x machines": [
            (f"{name} ({size})", float(size), lambda name=name: _jobshop(name))
            for name, size in pick(JOBSHOP)
        ],
        "tensor: entries of <n,m,p>": [
            (f"<{n},{m},{p}>", float((n * m) * (m * p) * (p * n)), lambda s=(n, m, p): _tensor(s))
            for n, m, p in pick(TENSORS)
        ],
    }


def measure(quick: bool) -> list[dict[str, Any]]:
    seconds, repeats = (0.05, 1) if quick else (0.5, 3)
    rows = []
    for panel, points in sweeps(quick).items():
        for label, size, factory in points:
            single, batched = factory()
            b, s, ratio = paired(batched, single, seconds, repeats)
            rows.append(
                {
                    "panel": panel,
                    "label": label,
                    "size": size,
                    "single_us": 1e6 / s,
                    "batched_us": 1e6 / b,
                    "ratio": ratio,
                }
            )
    return rows


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = list(dict.fromkeys(r["panel"] for r in rows))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8))
    for ax, panel in zip(np.atleast_1d(axes), panels):
        pts = [r for r in rows if r["panel"] == panel]
        x = [r["size"] for r in pts]
        ax.loglog(x, [r["single_us"] for r in pts], "o-", label="single env")
        ax.loglog(x, [r["batched_us"] for r in pts], "s-", label=f"batched, N={BATCH}")
        ax.set_title(panel, fontsize=9)
        ax.set_xlabel("size")
        ax.set_ylabel("microseconds per env step")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_to(out: Path, quick: bool = False) -> list[dict[str, Any]]:
    """Measure, print the table, and write ``scaling.png`` and ``scaling.csv`` under `out`."""
    rows = measure(quick)
    table = Table(
        title=f"cost per env step against instance size (single env vs batched N={BATCH}, same run)"
    )
    for column in ("sweep", "instance", "single us/step", "batched us/step", "ratio (steps/s)"):
        table.add_column(column, justify="left" if column in ("sweep", "instance") else "right")
    for r in rows:
        table.add_row(
            r["panel"],
            r["label"],
            f"{r['single_us']:.2f}",
            f"{r['batched_us']:.3f}",
            f"{r['ratio']:.1f}x",
        )
    Console(width=130).print(table)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "scaling.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, out / "scaling.png")
    Console().print(f"saved {out / 'scaling.png'} and {out / 'scaling.csv'}")
    return rows


def run(quick: bool = False) -> None:
    """Print the scaling table and save the log-log plot under results/bench/."""
    run_to(Path("results") / "bench", quick)
