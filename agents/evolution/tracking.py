"""W&B logging of a search: best scores against samples, valid fraction, throughput, tokens.

Offline by default (see `discoverygym.agents.tracking.wandb_mode`): online only when the user
set `WANDB_MODE=online` or is logged in. Logging is throttled to `every_s` seconds.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from discoverygym.agents.evolution.search import Stats
from discoverygym.agents.tracking import wandb_mode


class WandbTracker:
    """A W&B run for one search (resumable: the run id is the run folder's)."""

    def __init__(self, run_dir: Path, config: dict[str, Any], project: str = "discoverygym-evolve",
                 every_s: float = 2.0):
        import wandb

        run_dir = Path(run_dir)
        run_id = (run_dir / ".wandb_id").read_text().strip() if (run_dir / ".wandb_id").exists() else None
        self.run = wandb.init(project=project, dir=str(run_dir), mode=wandb_mode(), config=config,
                              id=run_id, resume="allow" if run_id else None,
                              reinit="finish_previous")
        (run_dir / ".wandb_id").write_text(self.run.id)
        self.every_s, self._last = every_s, 0.0

    def log(self, stats: Stats, force: bool = False) -> None:
        now = time.time()
        if not force and now - self._last < self.every_s:
            return
        self._last = now
        data = {"samples": stats.samples, "valid_fraction": stats.valid_fraction,
                "samples_per_s": stats.samples_per_s, "duplicates": stats.duplicates,
                "elapsed_s": stats.elapsed_s, "llm_tokens": stats.prompt_tokens + stats.completion_tokens,
                "behavioural_duplicates": stats.behavioural_duplicates,
                "tune_trials": stats.tune_trials}
        for key in ("best_train", "best_validation", "seed_validation"):
            if getattr(stats, key) is not None:
                data[key] = getattr(stats, key)
        self.run.log(data, step=stats.samples)

    def finish(self, summary: dict[str, Any]) -> None:
        self.run.summary.update(summary)
        self.run.finish()
