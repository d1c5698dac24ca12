"""Weights & Biases tracking for training runs: run setup, SB3 metric forwarding, artifacts.

Every training run is a W&B run. The mode follows the project's shared rule
(`discoverygym.agents.tracking.wandb_mode`): the config's ``wandb.mode``, else ``WANDB_MODE``,
else ``"online"`` when logged in (``WANDB_API_KEY`` or ``wandb login``), ``"offline"`` otherwise
(sync later with ``wandb sync``). SB3's metrics reach W&B through `WandbOutputFormat`, an SB3 logger output that
calls ``run.log`` with SB3's own step (``global_step`` = environment steps) as the x axis.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from discoverygym.agents.tracking import wandb_mode
from stable_baselines3.common.logger import KVWriter

STEP_METRIC = "global_step"


@dataclass
class WandbSettings:
    """Where a training run is tracked. `mode` None means "decide from the environment"."""

    project: str = "discoverygym"
    entity: str | None = None
    group: str | None = None
    tags: list[str] = field(default_factory=list)
    mode: str | None = None
    name: str | None = None
    log_model: bool = True

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> WandbSettings:
        data = dict(data or {})
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown wandb setting(s) {unknown}; known: {sorted(known)}")
        data["tags"] = list(data.get("tags") or [])
        return cls(**data)


def start_run(settings: WandbSettings, config: dict[str, Any], run_dir: Path, job_type: str = "train") -> Any:
    """Start the W&B run of a training run (files under WANDB_DIR, else `run_dir`); metrics are
    plotted against the logged ``global_step``."""
    import wandb

    run = wandb.init(
        project=settings.project,
        entity=settings.entity,
        group=settings.group,
        tags=settings.tags or None,
        name=settings.name,
        config=config,
        mode=wandb_mode(settings.mode),
        dir=os.environ.get("WANDB_DIR") or str(run_dir),
        job_type=job_type,
        reinit="finish_previous",
    )
    run.define_metric(STEP_METRIC)
    run.define_metric("*", step_metric=STEP_METRIC)
    return run


def _scalar(value: Any) -> float | int | None:
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return value.item() if isinstance(value, np.generic) else value
    if isinstance(value, np.ndarray) and value.size == 1:
        return value.item()
    try:  # torch scalar tensors
        return float(value.item()) if getattr(value, "numel", lambda: 0)() == 1 else None
    except (AttributeError, TypeError, ValueError):
        return None


class WandbOutputFormat(KVWriter):
    """An SB3 logger output (`KVWriter`) that forwards every scalar to ``run.log``.

    Keys excluded for ``"wandb"`` by SB3's ``logger.record(..., exclude=...)`` are skipped;
    non-scalar values (videos, figures, strings) are skipped too.
    """

    def __init__(self, run: Any) -> None:
        self.run = run

    def write(
        self,
        key_values: dict[str, Any],
        key_excluded: dict[str, tuple[str, ...]],
        step: int = 0,
    ) -> None:
        payload: dict[str, float | int] = {}
        for key, value in key_values.items():
            excluded = key_excluded.get(key) or ()
            if excluded and "wandb" in excluded:
                continue
            scalar = _scalar(value)
            if scalar is not None:
                payload[key] = scalar
        if payload:
            payload[STEP_METRIC] = int(step)
            self.run.log(payload)

    def close(self) -> None:
        """The run is finished by `finish_run`, not by SB3's logger."""


def log_model_artifact(run: Any, files: list[Path], name: str, metadata: dict[str, Any]) -> None:
    """Attach the final model (zip and sidecar files) to the run as a ``model`` artifact."""
    import wandb

    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in name)
    artifact = wandb.Artifact(safe, type="model", metadata=metadata)
    for path in files:
        artifact.add_file(str(path), name=path.name)
    run.log_artifact(artifact)
