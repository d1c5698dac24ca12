"""The training curve of an RL run: validation score against env steps, from the model's meta.

`train` writes ``<model>.curve.png`` beside every model zip it saves (``model.zip`` and the best
checkpoint ``best.zip``), so that a shipped model carries its curve as it carries its config and
meta. `plot_training_curve` redraws it from a ``.meta.json`` alone (the validation history and
the selected checkpoint), and adds the mean training episode return when the run folder's
``progress.csv`` (SB3's CSV log) is given.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from discoverygym.agents.figures import pyplot, save_png

#: The validation metric drawn for each game, in the order looked for (`callbacks` records them).
SCORE_KEYS: tuple[str, ...] = ("excess_pct", "gap_pct", "size", "rank", "score")


def validation_points(meta: dict[str, Any]) -> tuple[str, list[tuple[float, float]]]:
    """(metric name, [(env steps, value)]) of a model meta's validation history, in step order.

    Raises ValueError naming the keys that were looked for when the history is empty or has
    none of them.
    """
    history = meta.get("validation") or []
    for key in SCORE_KEYS:
        points = [(float(h["env_steps"]), float(h[key])) for h in history if key in h]
        if points:
            return key, sorted(points)
    raise ValueError(
        f"the meta has no validation history with any of {', '.join(SCORE_KEYS)}"
        " (was the config's eval section set?)"
    )


def training_returns(progress_csv: Path) -> list[tuple[float, float]]:
    """(env steps, mean episode return) rows of SB3's ``progress.csv``; [] when it has none."""
    if not Path(progress_csv).exists():
        return []
    with open(progress_csv, newline="") as handle:
        rows = list(csv.DictReader(handle))
    out = []
    for row in rows:
        value, steps = row.get("rollout/ep_rew_mean"), row.get("time/total_timesteps")
        if value and steps:
            out.append((float(steps), float(value)))
    return out


def plot_training_curve(
    meta_path: Path,
    out: Path,
    *,
    progress_csv: Path | None = None,
    title: str | None = None,
) -> Path:
    """Draw the validation curve of ``meta_path`` (a model's ``.meta.json``) to ``out`` (PNG):
    every validation checkpoint, the selected one (``best`` in the meta) marked, and, when
    ``progress_csv`` has them, the mean training episode returns on a second axis."""
    plt = pyplot()
    meta = json.loads(Path(meta_path).read_text())
    metric, points = validation_points(meta)
    figure, axis = plt.subplots(figsize=(7, 4))
    axis.plot(*zip(*points), marker="o", markersize=3, color="tab:orange",
              label=f"validation {metric} (greedy)")
    best = meta.get("best")
    if best and metric in best:
        axis.scatter([best["env_steps"]], [best[metric]], s=80, facecolors="none",
                     edgecolors="black", zorder=3, label="selected checkpoint")
    axis.set_xlabel("env steps")
    axis.set_ylabel(f"validation {metric}")
    handles, labels = axis.get_legend_handles_labels()
    returns = training_returns(progress_csv) if progress_csv else []
    if returns:
        twin = axis.twinx()
        twin.plot(*zip(*returns), color="tab:blue", alpha=0.5, linewidth=1,
                  label="training episode return (mean)")
        twin.set_ylabel("training episode return")
        more, more_labels = twin.get_legend_handles_labels()
        handles, labels = handles + more, labels + more_labels
    axis.legend(handles, labels, fontsize=8, loc="best")
    compute = meta.get("compute", {})
    axis.set_title(title or (
        f"{meta.get('algo', '?')} on {meta.get('env_id', '?')}: "
        f"{compute.get('env_steps', 0):,.0f} env steps, {compute.get('cpu_seconds', 0):,.0f} CPU s"
    ), fontsize=9)
    return save_png(figure, out)


def plot_ensemble_curve(
    metas: list[dict[str, Any]], out: Path, *, labels: list[str], title: str
) -> Path:
    """Draw the validation curves of an ensemble's members (their run metas) on one axis to
    ``out`` (PNG), each member's selected checkpoint marked (`export.ship_ensemble`)."""
    if len(labels) != len(metas):
        raise ValueError(f"{len(metas)} member metas but {len(labels)} labels")
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(8, 4))
    metric = None
    for meta, label in zip(metas, labels):
        metric, points = validation_points(meta)
        (line,) = axis.plot(*zip(*points), marker="o", markersize=2, linewidth=1, label=label)
        best = meta.get("best")
        if best and metric in best:
            axis.scatter([best["env_steps"]], [best[metric]], s=60, facecolors="none",
                         edgecolors=line.get_color(), zorder=3)
    axis.set_xlabel("env steps (each member)")
    axis.set_ylabel(f"validation {metric} (greedy)")
    axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                title="members\n(circle: selected\ncheckpoint)", title_fontsize=8)
    axis.set_title(title, fontsize=9)
    return save_png(figure, out)


def curve_path(zip_path: Path) -> Path:
    """Where a model zip's curve lives: ``<stem>.curve.png`` beside it."""
    zip_path = Path(zip_path)
    return zip_path.with_name(zip_path.stem + ".curve.png")
