"""`discoverygym scaling`: how each family's quality scales with compute.

In the spirit of language-model scaling laws, we fit `gap = a * compute^(-b)` on log-log axes:

- RL: a grid of policy widths x training steps (bin packing and job shop); compute is the
  training CPU seconds and the quality the validation gap (excess over L1 in %, or gap to the
  best upper bound in %) of the final policy, evaluated greedily.
- Evolution: the best-so-far validation gap against the number of LLM samples, read from the
  append-only sample logs (`samples.jsonl`) of `discoverygym evolve` runs.

Each fit reports the exponent `b` with a 95 % bootstrap confidence interval (resampling the
points), and the report gives a short reading of it. The default grids (3 widths x 3 step
budgets per game, 18 trainings) took 1706 s on 2 shared cores; `--reuse` re-analyses an earlier
run without training; `--tiny` runs 2 x 2 grids of a few hundred steps (seconds) for the tests.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

EPSILON_GAP = 1e-3  # gaps at or below zero (the bound reached) cannot sit on a log axis


@dataclass(frozen=True)
class PowerLaw:
    """gap = a * x^(-b), with a 95 % bootstrap interval on the exponent b."""

    a: float
    b: float
    b_low: float
    b_high: float
    points: int

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.a * np.asarray(x, dtype=float) ** (-self.b)

    def describe(self, what: str) -> str:
        return (f"{what}: gap ~ {self.a:.3g} x^({-self.b:+.3f}), exponent b = {self.b:.3f} "
                f"in [{self.b_low:.3f}, {self.b_high:.3f}] (95 % CI, n={self.points})")


def fit_power_law(x: Sequence[float], gap: Sequence[float], resamples: int = 2000, seed: int = 0) -> PowerLaw:
    """Least squares on (log x, log gap) and a percentile bootstrap of the slope."""
    x = np.asarray(x, dtype=float)
    y = np.maximum(np.asarray(gap, dtype=float), EPSILON_GAP)
    keep = x > 0
    lx, ly = np.log(x[keep]), np.log(y[keep])
    if len(lx) < 3 or np.ptp(lx) == 0:
        raise ValueError(f"a power-law fit needs at least 3 points with distinct x > 0, got {len(lx)}")
    slope, intercept = np.polyfit(lx, ly, 1)
    rng = np.random.default_rng(seed)
    slopes = []
    for _ in range(resamples):
        pick = rng.integers(0, len(lx), len(lx))
        if np.ptp(lx[pick]) > 0:
            slopes.append(np.polyfit(lx[pick], ly[pick], 1)[0])
    low, high = np.percentile(-np.asarray(slopes), [2.5, 97.5])
    return PowerLaw(a=float(np.exp(intercept)), b=float(-slope), b_low=float(low), b_high=float(high), points=len(lx))


def reading(law: PowerLaw, what: str) -> str:
    """A one-sentence reading of a fitted exponent."""
    if law.b_low > 0:
        trend = (f"the gap shrinks with {what}: doubling it divides the gap by about "
                 f"{2 ** law.b:.2f} (exponent {law.b:.2f}, CI {law.b_low:.2f} to {law.b_high:.2f})")
    elif law.b_high < 0:
        trend = f"the gap grows with {what} (exponent {law.b:.2f}); more of it hurt in this range"
    else:
        trend = (f"no reliable trend with {what}: the exponent's interval {law.b_low:.2f} to "
                 f"{law.b_high:.2f} contains 0, so this range of {what} is flat or too noisy")
    return trend[0].upper() + trend[1:] + "."


# --------------------------------------------------------------------------- evolution


def evolution_curve(samples_log: Path, split: str = "validation") -> tuple[np.ndarray, np.ndarray]:
    """(sample index, best-so-far gap) from an evolve run's `samples.jsonl`.

    The gap is minus the best score so far (scores are minus the gap: excess over L1 in % for
    bin packing, gap to the bound for job shop). The search scores every sample on the training
    split (`score`) and the promising ones on the validation split too (`validation`).
    Only the samples where the best improves are returned, plus the last sample: the curve is a
    step function, and its flat stretches are not independent points to fit.
    """
    key = "score" if split == "train" else split
    samples, best, out_x, out_y = 0, None, [], []
    with samples_log.open() as handle:
        for line in handle:
            row = json.loads(line)
            samples += 1
            score = row.get(key) if row.get("ok") else None
            if score is not None and (best is None or score > best):
                best = score
                out_x.append(samples)
                out_y.append(-best)
    if best is not None and out_x[-1] != samples:
        out_x.append(samples)
        out_y.append(-best)
    return np.asarray(out_x, dtype=float), np.asarray(out_y, dtype=float)


# --------------------------------------------------------------------------- RL


@dataclass
class RLScalingConfig:
    """A width x steps grid for one game's PPO config."""

    game: str
    config: str                      # a shipped training config name, e.g. ppo_binpacking
    widths: list[int]
    steps: list[int]
    eval_dataset: str
    seed: int = 0
    n_envs: int = 4
    width_key: tuple[str, ...] = ("policy_kwargs", "scorer_kwargs", "hidden")
    overrides: dict[str, Any] = field(default_factory=dict)


DEFAULT_GRIDS = (
    RLScalingConfig("binpacking", "ppo_binpacking", widths=[8, 32, 128], steps=[10_000, 40_000, 160_000],
                    eval_dataset="weibull-5k:seed=100", overrides={"eval": None}),
    RLScalingConfig("jobshop", "ppo_jobshop", widths=[16, 64, 256], steps=[10_000, 40_000, 160_000],
                    eval_dataset="random-15x15:seed=5000,n=10", overrides={"eval": None}),
)


TINY_EVAL = {"binpacking": "weibull-500:seed=100,count=2", "jobshop": "random-10x10:seed=5000,n=2"}


def tiny_grids(games: Sequence[str] = ("binpacking", "jobshop")) -> tuple[RLScalingConfig, ...]:
    """A 2 x 2 grid per game with a few hundred steps: the test and smoke configuration."""
    return tuple(
        RLScalingConfig(g.game, g.config, widths=g.widths[:2], steps=[256, 512], eval_dataset=TINY_EVAL[g.game],
                        n_envs=2, overrides={"eval": None, "algo_kwargs": {"n_steps": 128, "batch_size": 128}})
        for g in DEFAULT_GRIDS if g.game in games
    )


@dataclass(frozen=True)
class RLPoint:
    game: str
    width: int
    steps: int
    cpu_seconds: float
    gap: float


def _set(config: dict[str, Any], keys: tuple[str, ...], value: Any) -> None:
    """config[k0][k1]...[kn] = value, creating the intermediate mappings."""
    for key in keys[:-1]:
        if not isinstance(config.get(key), dict):
            config[key] = {}
        config = config[key]
    config[keys[-1]] = value


def run_rl_grid(grid: RLScalingConfig, out_dir: Path, progress: Any = None) -> list[RLPoint]:
    """Train every (width, steps) of the grid and evaluate each final policy greedily."""
    from discoverygym.agents.rl.config import load_config
    from discoverygym.agents.rl.evaluate import evaluate_model
    from discoverygym.agents.rl.train import sidecars, train

    points = []
    for width in grid.widths:
        for steps in grid.steps:
            config = load_config(grid.config)
            for key, value in grid.overrides.items():
                if isinstance(value, dict) and isinstance(config.get(key), dict):
                    config[key] = {**config[key], **value}
                else:
                    config[key] = value
            _set(config, grid.width_key, width)
            run_dir = out_dir / grid.game / f"w{width}-s{steps}"
            zip_path = train(config=config, total_steps=steps, seed=grid.seed, run_dir=run_dir,
                             n_envs=grid.n_envs, wandb={"mode": "disabled"}, progress_bar=False)
            meta = json.loads(sidecars(zip_path)[1].read_text())
            (record,) = evaluate_model(zip_path, grid.eval_dataset)
            points.append(RLPoint(grid.game, width, steps, float(meta["compute"]["cpu_seconds"]), float(record.gap)))
            if progress is not None:
                progress()
    return points


# --------------------------------------------------------------------------- the study


def _plot(ax: Any, x: np.ndarray, y: np.ndarray, law: PowerLaw | None, label: str, color: Any) -> None:
    ax.scatter(x, np.maximum(y, EPSILON_GAP), s=16, color=color, label=label)
    if law is not None:
        grid = np.geomspace(x.min(), x.max(), 50)
        ax.plot(grid, law.predict(grid), color=color, linewidth=1,
                label=f"fit b={law.b:.2f} [{law.b_low:.2f}, {law.b_high:.2f}]")


def run_scaling(out_dir: Path, grids: Sequence[RLScalingConfig] = DEFAULT_GRIDS,
                evolve_logs: Sequence[Path] = (), console: Any = None, reuse: bool = False) -> dict[str, Any]:
    """Run the RL grids, read the evolution logs, fit, plot and write `scaling.md` + JSON.

    With `reuse`, the RL points of the grids' games come from an earlier `scaling.json` in
    `out_dir` (re-analysis without retraining).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from rich.progress import Progress

    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    results: dict[str, Any] = {"rl": [], "evolution": [], "fits": {}}
    if reuse:
        games = {g.game for g in grids}
        earlier = json.loads((out_dir / "scaling.json").read_text())
        results["rl"] = [p for p in earlier["rl"] if p["game"] in games]
        results["rl_seconds"] = earlier.get("rl_seconds", earlier.get("seconds"))
    else:
        with Progress(console=console) as bar:
            task = bar.add_task("scaling: RL grid", total=sum(len(g.widths) * len(g.steps) for g in grids))
            for grid in grids:
                results["rl"] += [asdict(p) for p in run_rl_grid(grid, out_dir / "runs", lambda: bar.advance(task))]
        results["rl_seconds"] = time.perf_counter() - start
    lines = ["# Scaling study", ""]
    panels = [g.game for g in grids] + (["evolution"] if evolve_logs else [])
    fig, axes = plt.subplots(1, max(1, len(panels)), figsize=(4.6 * max(1, len(panels)), 3.8), squeeze=False)
    for ax, grid in zip(axes[0], grids):
        points = [p for p in results["rl"] if p["game"] == grid.game]
        lines.append(f"## RL on {grid.game} ({grid.config}, validation {grid.eval_dataset})")
        for width, color in zip(grid.widths, plt.cm.viridis(np.linspace(0, 0.9, len(grid.widths)))):
            mine = [p for p in points if p["width"] == width]
            x = np.array([p["cpu_seconds"] for p in mine])
            y = np.array([p["gap"] for p in mine])
            law = _fit_or_none(x, y)
            _plot(ax, x, y, law, f"width {width}", color)
            if law is not None:
                results["fits"][f"{grid.game}/width{width}"] = asdict(law)
        x = np.array([p["cpu_seconds"] for p in points])
        law = _fit_or_none(x, np.array([p["gap"] for p in points]))
        lines += ["", "| width | steps | CPU s | gap % |", "|---|---|---|---|"]
        lines += [f"| {p['width']} | {p['steps']} | {p['cpu_seconds']:.0f} | {p['gap']:.2f} |" for p in points]
        if law is not None:
            results["fits"][f"{grid.game}/all"] = asdict(law)
            lines += ["", law.describe("all points against CPU seconds"), "", reading(law, "training compute")]
        lines.append("")
        ax.set(xscale="log", yscale="log", xlabel="training CPU seconds", ylabel="validation gap (%)", title=f"RL: {grid.game}")
        ax.legend(fontsize=6, frameon=False)
        ax.grid(alpha=0.3, which="both")
    if evolve_logs:
        ax = axes[0][len(grids)]
        lines.append("## Evolution: best validation gap against LLM samples")
        for log, color in zip(evolve_logs, plt.cm.tab10(np.arange(len(evolve_logs)))):
            x, y = evolution_curve(Path(log))
            law = _fit_or_none(x, y)
            _plot(ax, x, y, law, Path(log).parent.name, color)
            results["evolution"].append({"log": str(log), "samples": x.tolist(), "gap": y.tolist()})
            lines += ["", f"{Path(log).parent.name}: {int(x[-1]) if len(x) else 0} samples, best validation gap "
                      f"{y[0] if len(y) else float('nan'):.3f} -> {y[-1] if len(y) else float('nan'):.3f} % "
                      f"over {max(0, len(x) - 1)} improvement(s)."]
            if law is not None:
                results["fits"][f"evolution/{Path(log).parent.name}"] = asdict(law)
                lines += ["", law.describe(Path(log).parent.name), "", reading(law, "LLM samples")]
            else:
                lines += ["", "Too few improvements for a power-law fit (3 distinct points needed)."]
        ax.set(xscale="log", yscale="log", xlabel="LLM samples", ylabel="best gap (%)", title="evolution")
        ax.legend(fontsize=6, frameon=False)
        ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(out_dir / "scaling.png", dpi=120)
    plt.close(fig)
    results["seconds"] = time.perf_counter() - start
    lines += ["", "![scaling](scaling.png)", "",
              f"Runtime: RL grids {results['rl_seconds']:.0f} s (2 cores); this analysis {results['seconds']:.0f} s."]
    (out_dir / "scaling.md").write_text("\n".join(lines) + "\n")
    (out_dir / "scaling.json").write_text(json.dumps(results, indent=2))
    return results


def _fit_or_none(x: np.ndarray, y: np.ndarray) -> PowerLaw | None:
    try:
        return fit_power_law(x, y)
    except ValueError:
        return None
