"""Training callbacks: periodic deterministic validation on a held-out instance set.

The config's ``eval`` section: ``{dataset, freq (env steps), episodes, env_kwargs}``. Every
``freq`` environment steps (summed over the parallel envs) the current policy plays
``episodes`` instances of ``dataset`` greedily, with the game's metric (bin packing: excess over
L1 in percent; job shop: gap to the best upper bound in percent; tensor: rank and success
rate); the results go to SB3's logger under ``eval/`` (hence to W&B at the current step) and
the best model so far is saved to ``best_path``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback


def log_key(key: str) -> str:
    """`key` as SB3's logger can write it: its CSV output joins the keys with commas and quotes
    nothing, so a per-set key such as ``eval/random-15x15:seed=1000,n=20/score`` would shift
    every later column of ``progress.csv``. Commas become semicolons."""
    return key.replace(",", ";")


class ValidationCallback(BaseCallback):
    """Greedy validation every ``config['eval']['freq']`` env steps; keeps the best model."""

    def __init__(
        self, config: dict[str, Any], best_path: Path | None = None, verbose: int = 0
    ) -> None:
        super().__init__(verbose)
        spec = dict(config["eval"])
        self.config = config
        self.freq = int(spec.get("freq", 10_000))
        self.best_path = Path(best_path) if best_path else None
        self.best: dict[str, float] | None = None
        self.history: list[dict[str, float]] = []
        self._next = self.freq

    def _on_step(self) -> bool:
        if self.num_timesteps >= self._next:
            self._next += self.freq
            self.evaluate_now(self.model)
        return True

    def validate_if_due(self, model: BaseAlgorithm) -> dict[str, float] | None:
        """Validate when ``model.num_timesteps`` has passed the next check (for training loops
        other than SB3's ``learn``, e.g. self-labeling); None when not due."""
        if model.num_timesteps < self._next:
            return None
        while self._next <= model.num_timesteps:
            self._next += self.freq
        return self.evaluate_now(model)

    def evaluate_now(self, model: BaseAlgorithm) -> dict[str, float]:
        """Validate `model` now, log under ``eval/`` and keep it if it is the best so far."""
        from discoverygym.agents.rl.evaluate import validate

        start = time.perf_counter()
        result = validate(model, self.config)
        result["seconds"] = time.perf_counter() - start
        result["env_steps"] = float(model.num_timesteps)
        self.history.append(result)
        for key, value in result.items():
            model.logger.record(log_key(f"eval/{key}"), value)
        model.logger.dump(model.num_timesteps)
        if self.best is None or result["score"] < self.best["score"]:
            first = self.best is None
            self.best = result
            if self.best_path is not None:
                model.save(self.best_path)
                self._write_sidecars(model, with_config=first)
        return result

    def _write_sidecars(self, model: BaseAlgorithm, with_config: bool) -> None:
        """The best checkpoint's config (with the first best: it does not change) and a
        provisional meta, written with it, so a run stopped early leaves a `best.zip` that
        `evaluate` and `ship` can use; `train` replaces the meta with the full one when it ends."""
        from discoverygym.agents.rl.config import save_config
        from discoverygym.agents.rl.train import sidecars

        config_path, meta_path = sidecars(self.best_path)
        if with_config:
            save_config(self.config, config_path)
        meta = {
            "algo": self.config["algo"],
            "env_id": self.config["env_id"],
            "compute": {"env_steps": float(model.num_timesteps)},
            "validation": self.history,
            "best": self.best,
            "provisional": "written with the checkpoint; training had not ended",
        }
        meta_path.write_text(json.dumps(meta, indent=2) + "\n")
