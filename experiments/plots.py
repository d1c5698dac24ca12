"""Figures for the comparison report (matplotlib, Agg backend, PNG)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from discoverygym.agents.records import Record  # noqa: E402

FAMILY_COLORS = {"heuristic": "#4C72B0", "rl": "#DD8452", "evolved": "#55A868", "limit": "#8C8C8C"}


def bar_chart(records: list[Record], title: str, path: Path, *, log: bool = False) -> Path:
    """Grouped bars: one group per dataset, one bar per agent (coloured by family).

    Plots the gap to the bound in percent where records have one, else the raw value (on a
    log axis with `log=True`).
    """
    use_gap = all(r.gap is not None for r in records)
    datasets = list(dict.fromkeys(r.dataset for r in records))
    agents = list(dict.fromkeys(r.agent for r in records))
    family = {r.agent: r.family for r in records}
    values: dict[tuple[str, str], float] = {
        (r.dataset, r.agent): (r.gap if use_gap else r.value) for r in records
    }
    width_in = min(16.0, max(6.0, 0.16 * len(datasets) * max(1, len(agents)) + 2.0))
    fig, ax = plt.subplots(figsize=(width_in, 4.5))
    width = 0.8 / max(1, len(agents))
    x = np.arange(len(datasets))
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
        )
    metric = records[0].metric if records else ""
    ax.set_ylabel("gap to bound (%)" if use_gap else metric)
    ax.set_xticks(x, datasets, rotation=20)
    ax.set_title(title)
    if log:
        ax.set_yscale("log")
    else:
        ax.axhline(0.0, color="black", linewidth=0.8)
    ax.legend(fontsize=7, ncol=min(len(agents), 6), frameon=False, loc="upper left", bbox_to_anchor=(0, -0.18))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def fill_profile(profiles: dict[str, np.ndarray], title: str, path: Path) -> Path:
    """Bin fill levels (fraction of capacity) sorted from fullest to emptiest, one line per agent."""
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for agent, fills in profiles.items():
        ordered = np.sort(np.asarray(fills, dtype=float))[::-1]
        waste = float(np.sum(1.0 - ordered))
        ax.plot(np.arange(1, len(ordered) + 1), ordered, label=f"{agent}: {len(ordered)} bins, waste {waste:.1f} bins")
    ax.set_xlabel("bins, fullest first")
    ax.set_ylabel("fill level")
    ax.set_ylim(0.0, 1.02)
    ax.set_title(title)
    ax.legend(fontsize=8, frameon=False, loc="lower left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def quality_vs_compute(records: list[Record], path: Path) -> Path:
    """Gap to the bound against the CPU seconds spent producing each agent, per game and family.

    One panel per game that has a trained (RL or evolved) agent. Hand-written heuristics and the
    limit cost no training compute; they sit at the left edge.
    """
    trained = {r.game for r in records if r.compute.get("cpu_seconds", 0.0) > 0}
    games = [g for g in dict.fromkeys(r.game for r in records if r.gap is not None) if g in trained]
    games = games or list(dict.fromkeys(r.game for r in records if r.gap is not None))
    fig, axes = plt.subplots(1, max(1, len(games)), figsize=(4.2 * max(1, len(games)), 3.6), squeeze=False)
    for ax, game in zip(axes[0], games):
        by_agent: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
        for r in records:
            if r.game == game and r.gap is not None:
                by_agent[(r.agent, r.family)].append((float(r.compute.get("cpu_seconds", 0.0)), r.gap))
        for (agent, family), points in by_agent.items():
            compute = points[0][0]
            ax.scatter([max(compute, 1.0)], [np.mean([g for _, g in points])], color=FAMILY_COLORS.get(family, "black"),
                       s=30, label=family)
            ax.annotate(agent, (max(compute, 1.0), np.mean([g for _, g in points])), fontsize=6,
                        xytext=(3, 2), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xlabel("training compute (CPU s; heuristics at 1)")
        ax.set_ylabel("mean gap to bound (%)")
        ax.set_title(game)
        ax.grid(alpha=0.3)
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles))
        ax.legend(unique.values(), unique.keys(), fontsize=7, frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
