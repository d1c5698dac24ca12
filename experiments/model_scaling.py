"""Evolved quality against LLM size at equal wall clock (`discoverygym scaling --evolve-run`).

The question a user with a fixed CPU budget asks: which embedded model should the search use?
A smaller model writes more programs per hour, a larger one better programs per sample. This
module reads finished `discoverygym evolve` run folders, groups them by LLM, and puts every run
on the same two clocks:

- **wall-clock seconds** since the run started (`checkpoint.json`'s `elapsed_s` minus the time
  of the last sample gives the start; a sample counts at the time it was logged), and
- **LLM samples**.

Each run's curve is its best-so-far **validation** gap (minus the validation score; for bin
packing the excess over L1 in %), starting from the seed's validation gap at time 0: the search
scores every sample on the training split and the promising ones on validation
(`samples.jsonl`'s `validation` field), and keeps the best by validation. Across the seeds of one
model, the report gives the median and the range (min to max) at each point of a common grid up
to the shortest run's end: with three seeds the range is the honest interval, a bootstrap of
three values would pretend more. The per-model power law `gap = a * seconds^(-b)` is fitted to
the median curve's steps with a bootstrap interval on `b` (`scaling.fit_power_law`).

The reading names the model with the lowest median gap at the common budget, and the one with
the lowest worst-seed gap, with the samples each wrote per hour and their valid fraction. A
second table follows the gaps on the way (a third and two thirds of the budget) and at the
common number of samples, where a larger model's better programs per sample would show.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from discoverygym.experiments.scaling import PowerLaw, fit_power_law


@dataclass
class EvolveRun:
    """One evolve run's best-so-far validation gap on both clocks."""

    path: Path
    llm: str
    game: str
    seed: int | None
    seconds: np.ndarray  # at each step of the curve (first: 0, the seed)
    samples: np.ndarray
    gap: np.ndarray      # best validation gap so far, after that step
    total_seconds: float
    total_samples: int
    valid: int
    distinct: int  # valid and neither a text nor a behavioural duplicate
    train_seconds: np.ndarray  # best-so-far training gap: every sample is scored on train
    train_gap: np.ndarray

    def at(self, grid: np.ndarray, clock: str) -> np.ndarray:
        """Best-so-far gap at each grid point of `clock` ("seconds" | "samples"); NaN past the end."""
        x = self.seconds if clock == "seconds" else self.samples
        end = self.total_seconds if clock == "seconds" else self.total_samples
        return _step_at(x, self.gap, grid, end)

    def train_at(self, seconds: float) -> float:
        """Best-so-far training gap at `seconds` (NaN past the end)."""
        return float(_step_at(self.train_seconds, self.train_gap, np.array([seconds]), self.total_seconds)[0])


def _step_at(x: np.ndarray, y: np.ndarray, grid: np.ndarray, end: float) -> np.ndarray:
    index = np.searchsorted(x, grid, side="right") - 1
    out = y[np.clip(index, 0, None)].astype(float)
    out[(index < 0) | (grid > end)] = np.nan
    return out


def read_run(run_dir: Path) -> EvolveRun:
    """Read an evolve run folder (ValueError naming the folder when its checkpoint or log is
    missing, or the run never scored its seed).

    The log is read with `samplelog.read_log` (torn or damaged lines skipped) and the
    best-so-far curves come from `curve.progress_curve`, the same points as the run's shipped
    curve; here they are moved onto the run's own clock.
    """
    from discoverygym.agents.evolution.checkpoint import load_checkpoint
    from discoverygym.agents.evolution.curve import progress_curve
    from discoverygym.agents.evolution.samplelog import read_log

    run_dir = Path(run_dir)
    checkpoint = load_checkpoint(run_dir)
    for name, missing in (("checkpoint.json", checkpoint is None),
                          ("samples.jsonl", not (run_dir / "samples.jsonl").is_file())):
        if missing:
            raise ValueError(f"{run_dir}: not an evolve run folder ({name} is missing)")
    stats = checkpoint.get("stats", {})
    seed = {"train": stats.get("seed_train"), "validation": stats.get("seed_validation")}
    if None in seed.values():
        raise ValueError(f"{run_dir / 'checkpoint.json'}: the run has no validation score of its seed")
    rows = list(read_log(run_dir))
    elapsed = float(checkpoint.get("elapsed_s") or stats.get("elapsed_s") or 0.0)
    points = progress_curve(run_dir, rows, seed=seed) if rows else []
    # progress_curve counts seconds from the first sample; the run started `offset` earlier.
    offset = elapsed - (rows[-1]["time"] - rows[0]["time"]) if rows and elapsed > 0 else 0.0
    curves = {}
    for split in ("validation", "train"):
        seconds, samples, gap = [0.0], [0], [-float(seed[split])]
        for point in points:
            best = point[f"best_{split}"]
            if best is not None and -float(best) < gap[-1]:
                seconds.append(max(0.0, point["seconds"] + offset))
                samples.append(point["sample"])
                gap.append(-float(best))
        curves[split] = (np.asarray(seconds), np.asarray(samples), np.asarray(gap))
    (seconds, samples, gap), (train_seconds, _, train_gap) = curves["validation"], curves["train"]
    return EvolveRun(
        path=run_dir, llm=str(checkpoint.get("llm", "?")), game=str(checkpoint.get("game", "?")),
        seed=checkpoint.get("config", {}).get("seed"), seconds=seconds, samples=samples, gap=gap,
        total_seconds=max(elapsed, seconds[-1]), total_samples=len(rows),
        valid=sum(1 for r in rows if r.get("ok")),
        distinct=sum(1 for r in rows if r.get("ok") and not r.get("duplicate")),
        train_seconds=train_seconds, train_gap=train_gap)


@dataclass
class ModelSummary:
    """One model's seeds on a common grid: median and range of the best validation gap."""

    llm: str
    runs: list[EvolveRun]
    grid: dict[str, np.ndarray]
    median: dict[str, np.ndarray]
    low: dict[str, np.ndarray]
    high: dict[str, np.ndarray]
    law: PowerLaw | None

    @property
    def samples_per_hour(self) -> float:
        return 3600 * sum(r.total_samples for r in self.runs) / sum(r.total_seconds for r in self.runs)

    @property
    def valid_fraction(self) -> float:
        return sum(r.valid for r in self.runs) / max(1, sum(r.total_samples for r in self.runs))

    @property
    def distinct_per_hour(self) -> float:
        """Valid programs that are neither text nor behavioural duplicates, per hour."""
        return 3600 * sum(r.distinct for r in self.runs) / sum(r.total_seconds for r in self.runs)


def _median_steps(grid: np.ndarray, median: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The points where the median curve steps (and its last point): the points to fit."""
    keep = np.r_[True, np.diff(median) != 0]
    keep[-1] = True
    return grid[keep], median[keep]


def summarise(runs: Sequence[EvolveRun], points: int = 200) -> tuple[list[ModelSummary], dict[str, float]]:
    """Group `runs` by LLM and put them on common grids up to the shortest run (both clocks)."""
    if not runs:
        raise ValueError("no evolve runs to compare")
    games = {r.game for r in runs}
    if len(games) > 1:
        raise ValueError(f"the runs are of different games ({', '.join(sorted(games))}); compare one game at a time")
    budget = {"seconds": min(r.total_seconds for r in runs), "samples": float(min(r.total_samples for r in runs))}
    by_llm: dict[str, list[EvolveRun]] = {}
    for run in runs:
        by_llm.setdefault(run.llm, []).append(run)
    summaries = []
    for llm, mine in sorted(by_llm.items()):
        grids, median, low, high = {}, {}, {}, {}
        for clock in ("seconds", "samples"):
            # Each model on its own common grid up to its shortest run: the samples clock
            # differs most between models (a small model writes more samples per hour).
            end = min(r.total_seconds if clock == "seconds" else r.total_samples for r in mine)
            grid = np.linspace(0.0, end, points)
            values = np.vstack([r.at(grid, clock) for r in mine])
            grids[clock], median[clock] = grid, np.nanmedian(values, axis=0)
            low[clock], high[clock] = np.nanmin(values, axis=0), np.nanmax(values, axis=0)
        x, y = _median_steps(grids["seconds"][1:], median["seconds"][1:])
        try:
            law = fit_power_law(x, y)
        except ValueError:
            law = None
        summaries.append(ModelSummary(llm, mine, grids, median, low, high, law))
    return summaries, budget


def _at_budget(summary: ModelSummary, at: float, clock: str = "seconds") -> tuple[float, float, float]:
    """(median, min, max) over the model's seeds of the best gap at `at` on `clock`."""
    values = np.array([run.at(np.array([at]), clock)[0] for run in summary.runs])
    return float(np.nanmedian(values)), float(np.nanmin(values)), float(np.nanmax(values))


def _trend(summaries: Sequence[ModelSummary], budget: dict[str, float]) -> tuple[list[str], dict[str, Any]]:
    """The gaps on the way to the budget: at a third, two thirds and all of the common wall
    clock, and at the common number of samples (the fewest any run wrote), so a reader sees
    whether the order of the models changes with the budget and on the samples clock."""
    marks = [budget["seconds"] * k / 3 for k in (1, 2, 3)]
    samples = budget["samples"]
    head = " | ".join(f"{m / 60:.0f} min" for m in marks)
    lines = [f"| LLM | {head} | {samples:.0f} samples |", "|---|" + "---|" * (len(marks) + 1)]
    data: dict[str, Any] = {"minutes": [m / 60 for m in marks], "samples": samples, "models": {}}
    for summary in summaries:
        cells = [_at_budget(summary, m) for m in marks] + [_at_budget(summary, samples, "samples")]
        lines.append(f"| {summary.llm} | " + " | ".join(f"{m:.2f} [{lo:.2f}, {hi:.2f}]" for m, lo, hi in cells) + " |")
        data["models"][summary.llm] = [{"median": m, "min": lo, "max": hi} for m, lo, hi in cells]
    return lines, data


def write_report(runs: Sequence[EvolveRun], out_dir: Path) -> dict[str, Any]:
    """Write `models.md`, `models.json` and `models.png` to `out_dir`; return the JSON."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summaries, budget = summarise(runs)
    out_dir.mkdir(parents=True, exist_ok=True)
    game = runs[0].game
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    colors = plt.cm.tab10(np.arange(len(summaries)))
    for summary, color in zip(summaries, colors):
        for ax, clock, scale in ((axes[0], "seconds", 1 / 60), (axes[1], "samples", 1)):
            x = summary.grid[clock] * scale
            label = f"{summary.llm} ({len(summary.runs)} seed{'s' if len(summary.runs) > 1 else ''})"
            ax.step(x, summary.median[clock], where="post", color=color, label=label)
            ax.fill_between(x, summary.low[clock], summary.high[clock], step="post", color=color, alpha=0.18)
    axes[0].set(xlabel="wall-clock minutes", ylabel="best validation gap (%)",
                title=f"{game}: median and range over seeds")
    axes[1].set(xlabel="LLM samples", ylabel="best validation gap (%)", title="against samples")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    fig.savefig(out_dir / "models.png", dpi=120)
    plt.close(fig)

    at = budget["seconds"]
    rows, table = [], []
    for summary in summaries:
        median, low, high = _at_budget(summary, at)
        train = np.array([r.train_at(at) for r in summary.runs])
        rows.append((summary, median, low, high))
        seeds = ", ".join(f"{r.seed}: {r.gap[-1]:.2f} % ({r.total_samples} samples, {r.total_seconds / 60:.0f} min)"
                          for r in summary.runs)
        table.append(f"| {summary.llm} | {len(summary.runs)} | {summary.samples_per_hour:.0f} | "
                     f"{100 * summary.valid_fraction:.0f} % | {summary.distinct_per_hour:.0f} | "
                     f"{summary.runs[0].gap[0]:.2f} | {median:.2f} [{low:.2f}, {high:.2f}] | "
                     f"{np.nanmedian(train):.3f} [{np.nanmin(train):.3f}, {np.nanmax(train):.3f}] "
                     f"(seed {summary.runs[0].train_gap[0]:.3f}) | {seeds} |")
    reading = _reading(rows, at)
    trend_lines, trend = _trend(summaries, budget)
    lines = [f"# Evolved quality against LLM size: {game}", "",
             "Best gap so far (%), median over seeds with the range (min to max) in brackets, at "
             f"the common budget of {at / 60:.1f} minutes (the shortest run). Validation decides "
             "(the search keeps the best by validation); every sample is also scored on train, "
             "a finer signal of progress. Distinct: valid programs that are neither text nor "
             "behavioural duplicates.", "",
             "| LLM | seeds | samples / hour | valid | distinct / hour | seed's gap | validation gap at budget | train gap at budget | per seed: final validation gap (samples, minutes) |",
             "|---|---|---|---|---|---|---|---|---|", *table, "", reading, "",
             "Median [range] of the best validation gap on the way: at a third, two thirds and all "
             "of the common wall clock, and at the common number of samples (the fewest any run "
             "wrote; on this clock the faster model has spent less time).", "", *trend_lines, ""]
    for summary in summaries:
        if summary.law is not None:
            lines.append("- " + summary.law.describe(f"{summary.llm}, median gap against seconds"))
        else:
            lines.append(f"- {summary.llm}: too few steps of the median curve for a power-law fit.")
    lines += ["", "![models](models.png)", ""]
    (out_dir / "models.md").write_text("\n".join(lines))
    result = {
        "game": game, "budget_seconds": at, "reading": reading, "trend": trend,
        "models": [{
            "llm": s.llm, "runs": [str(r.path) for r in s.runs], "seeds": [r.seed for r in s.runs],
            "samples_per_hour": s.samples_per_hour, "valid_fraction": s.valid_fraction,
            "distinct_per_hour": s.distinct_per_hour,
            "gap_at_budget": {"median": m, "min": lo, "max": hi},
            "final_gaps": [float(r.gap[-1]) for r in s.runs],
            "law": None if s.law is None else s.law.__dict__,
        } for s, m, lo, hi in rows],
    }
    (out_dir / "models.json").write_text(json.dumps(result, indent=2))
    return result


def _reading(rows: list[tuple[ModelSummary, float, float, float]], at: float) -> str:
    """Which model is best at the budget, saying so when none moved or several tie."""
    budget = f"At {at / 60:.0f} minutes of wall clock per run"
    if all(median >= s.runs[0].gap[0] - 1e-9 and low >= s.runs[0].gap[0] - 1e-9
           for s, median, low, _ in rows):
        fastest = max(rows, key=lambda r: r[0].distinct_per_hour)[0]
        return (f"{budget}, no run of any model improved on the seed's validation gap, so this "
                f"budget separates the models only by throughput: {fastest.llm} wrote the most "
                f"distinct valid programs per hour ({fastest.distinct_per_hour:.0f}).")
    def names(models: list[str]) -> str:
        return " and ".join(models)

    best = min(r[1] for r in rows)
    leaders = [r[0].llm for r in rows if r[1] <= best + 1e-9]
    parts = [f"{names(leaders)} {'has' if len(leaders) == 1 else 'tie for'} the lowest median best "
             f"validation gap ({best:.2f} %)"]
    lowest = min(r[2] for r in rows)
    single = [r[0].llm for r in rows if r[2] <= lowest + 1e-9]
    if len(single) < len(rows):
        parts.append(f"the best single run is {names(single)}'s ({lowest:.2f} %)")
    worst = min(r[3] for r in rows)
    safest = [r[0].llm for r in rows if r[3] <= worst + 1e-9]
    if len(safest) < len(rows):
        parts.append(f"{names(safest)} {'has' if len(safest) == 1 else 'share'} the lowest worst seed ({worst:.2f} %)")
    return f"{budget}, " + "; ".join(parts) + "."
