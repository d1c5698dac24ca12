"""Figures for the comparison report (matplotlib, Agg backend, PNG)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from discoverygym.experiments.records import Record  # noqa: E402

FAMILY_COLORS = {"heuristic": "#4C72B0", "rl": "#DD8452", "evolved": "#55A868", "limit": "#8C8C8C"}


def bar_chart(records: list[Record], title: str, path: Path) -> Path:
    """Grouped bars: one group per dataset, one bar per agent (coloured by family).

    Plots the gap to the bound in percent where records have one, else the raw value.
    """
    use_gap = all(r.gap is not None for r in records)
    datasets = list(dict.fromkeys(r.dataset for r in records))
    agents = list(dict.fromkeys(r.agent for r in records))
    family = {r.agent: r.family for r in records}
    values: dict[tuple[str, str], float] = {
        (r.dataset, r.agent): (r.gap if use_gap else r.value) for r in records
    }
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(datasets) * max(1, len(agents)) / 3), 4.2))
    width = 0.8 / max(1, len(agents))
    x = np.arange(len(datasets))
    hatches = defaultdict(lambda: "")
    for i, agent in enumerate(agents):
        heights = [values.get((d, agent), np.nan) for d in datasets]
        ax.bar(
            x + (i - (len(agents) - 1) / 2) * width,
            heights,
            width,
            label=agent,
            color=plt.cm.tab20(i % 20) if len(agents) > 1 else FAMILY_COLORS[family[agent]],
            edgecolor=FAMILY_COLORS.get(family[agent], "black"),
            linewidth=1.5,
            hatch=hatches[family[agent]],
        )
    metric = records[0].metric if records else ""
    ax.set_ylabel("gap to bound (%)" if use_gap else metric)
    ax.set_xticks(x, datasets, rotation=20)
    ax.set_title(title)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.legend(fontsize=8, ncol=2, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
