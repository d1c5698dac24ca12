"""The progress curve of a run, read from its append-only log: best scores against samples.

`progress_curve(run_dir)` gives one point per improvement (the running best training score,
and the validation score of the best program by validation so far); `plot_curve` draws it with
the valid fraction per window of samples, for notes, READMEs and shipped programs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from discoverygym.agents.evolution.samplelog import read_log
from discoverygym.agents.figures import pyplot, save_png


def _rows(run_dir: Path) -> list[dict[str, Any]]:
    rows = list(read_log(Path(run_dir)))
    if not rows:
        raise ValueError(f"{run_dir}: no samples logged")
    return rows


def progress_curve(run_dir: Path, rows: list[dict[str, Any]] | None = None,
                   seed: dict[str, float | None] | None = None) -> list[dict[str, Any]]:
    """Points `{sample, seconds, best_train, best_validation}` where either best changed.

    `seed`: the seed program's `train` / `validation` scores, where the search starts (point 0);
    `rows`: the log's records, when already read.
    """
    rows = rows if rows is not None else _rows(run_dir)
    start = rows[0]["time"]
    seed = seed or {}
    best_train, best_validation = seed.get("train"), seed.get("validation")
    points: list[dict[str, Any]] = []
    if best_train is not None or best_validation is not None:
        points.append({"sample": 0, "seconds": 0.0, "best_train": best_train,
                       "best_validation": best_validation})
    for index, row in enumerate(rows, start=1):
        changed = False
        if row.get("ok") and row.get("score") is not None and (
                best_train is None or row["score"] > best_train):
            best_train, changed = row["score"], True
        if row.get("improved") and row.get("validation") is not None:
            best_validation, changed = row["validation"], True
        if changed or index == len(rows):
            points.append({"sample": index, "seconds": round(row["time"] - start, 1),
                           "best_train": best_train, "best_validation": best_validation})
    return points


def valid_fraction_by_window(run_dir: Path, window: int = 100,
                             rows: list[dict[str, Any]] | None = None) -> list[tuple[int, float]]:
    """(last sample of the window, fraction of valid programs in it) for consecutive windows."""
    rows = rows if rows is not None else _rows(run_dir)
    return [(min(start + window, len(rows)),
             sum(bool(r.get("ok")) for r in rows[start:start + window]) / len(rows[start:start + window]))
            for start in range(0, len(rows), window)]


def plot_curve(run_dir: Path, out: Path, *, seed_scores: dict[str, float | None] | None = None,
               title: str | None = None) -> Path:
    """Best training and validation score against samples, and the valid fraction (PNG)."""
    plt = pyplot()
    rows = _rows(run_dir)
    points = progress_curve(run_dir, rows, seed=seed_scores)
    windows = valid_fraction_by_window(run_dir, rows=rows)
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(7, 5.5), sharex=True,
                                         gridspec_kw={"height_ratios": [3, 1]})
    for key, label, color in (("best_train", "best training score", "tab:blue"),
                              ("best_validation", "validation score of the best program", "tab:orange")):
        xs = [p["sample"] for p in points if p[key] is not None]
        ys = [p[key] for p in points if p[key] is not None]
        if xs:
            top.step(xs, ys, where="post", label=label, color=color)
        split = key.removeprefix("best_")
        if (seed_scores or {}).get(split) is not None:
            top.axhline(seed_scores[split], color=color, linestyle=":", label=f"seed ({split})")
    top.set_ylabel("score (higher is better)")
    top.legend(fontsize=8)
    top.set_title(title or f"evolution run {Path(run_dir).name}")
    bottom.plot([w for w, _ in windows], [100 * f for _, f in windows], color="tab:green")
    bottom.set_ylabel("valid % (per 100)")
    bottom.set_xlabel("samples")
    bottom.set_ylim(0, 100)
    return save_png(figure, out)
