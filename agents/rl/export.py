"""Ship an RL run's checkpoint as a model: ``<name>.zip`` with its config, meta and curve.

A training run folder (`train`'s ``--out``) holds ``model.zip`` (the final model) and, with
validation, ``best.zip`` (the best validation checkpoint), each with ``.config.yaml``,
``.meta.json`` and ``.curve.png`` beside it. `ship_model` copies one of them into a models
folder (``experiments/models/`` by default, where `shipped_models` finds it) under a new name
and completes its meta with what a reader of a shipped model needs: how the checkpoint was
selected (``selected``) and the command that rebuilds it (``reproduce``). The run's W&B folder
is not shipped (``wandb.dir`` becomes null; the run id stays, for a synced run).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

#: The checkpoints of a run folder that can be shipped.
CHECKPOINTS: tuple[str, ...] = ("best", "model")
#: A model name: what `shipped_models` lists and `compare` prints as the agent's name.
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")


def selection_note(meta: dict[str, Any], checkpoint: str) -> str:
    """How the checkpoint in `meta` was chosen, in words (with the run's compute caveat)."""
    history = meta.get("validation") or []
    best = meta.get("best")
    if checkpoint == "best" and best:
        return (
            f"the best of the run's validation checkpoints ({len(history)} greedy validations) "
            f"at {int(best['env_steps']):,} env steps; compute is the whole run"
        )
    steps = int((meta.get("compute") or {}).get("env_steps", 0))
    return f"the final model of the run, at {steps:,} env steps"


def ship_model(
    run_dir: str | Path,
    name: str,
    *,
    checkpoint: str = "best",
    dest: str | Path | None = None,
    reproduce: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Copy ``<run_dir>/<checkpoint>.zip`` and its sidecars to ``<dest>/<name>.*``; return the zip.

    ``reproduce`` defaults to training again from the shipped config (which holds the seed and
    the step budget): ``discoverygym train --config <dest>/<name>.config.yaml --out runs/<name>``,
    the config's path relative to the working directory when it lies below it.
    The curve is redrawn from the meta (with the run's ``progress.csv``) when the run has none.
    Raises ValueError for a bad name or checkpoint, FileNotFoundError naming a missing file, and
    FileExistsError when ``<name>.zip`` exists and ``overwrite`` is False.
    """
    from discoverygym.agents.rl.curve import curve_path, plot_training_curve
    from discoverygym.agents.rl.train import sidecars
    from discoverygym.agents.shipped import models_dir

    run_dir = Path(run_dir)
    if checkpoint not in CHECKPOINTS:
        raise ValueError(f"unknown checkpoint {checkpoint!r}; expected one of {', '.join(CHECKPOINTS)}")
    if not _NAME.match(name):
        raise ValueError(
            f"bad model name {name!r}: expected a letter, then letters, digits, '_', '.' or '-'"
        )
    source_zip = run_dir / f"{checkpoint}.zip"
    source_config, source_meta = sidecars(source_zip)
    for path in (source_zip, source_config, source_meta):
        if not path.is_file():
            raise FileNotFoundError(
                f"no {path.name} in {run_dir} (is it a `discoverygym train --out` "
                f"folder{', with an eval section' if checkpoint == 'best' else ''}?)"
            )
    dest = Path(dest) if dest is not None else models_dir()
    target_zip = dest / f"{name}.zip"
    target_config, target_meta = sidecars(target_zip)
    if target_zip.exists() and not overwrite:
        raise FileExistsError(f"{target_zip} exists; choose another name or overwrite it")
    dest.mkdir(parents=True, exist_ok=True)
    meta = json.loads(source_meta.read_text())
    meta["selected"] = selection_note(meta, checkpoint)
    shown = target_config.resolve()
    if shown.is_relative_to(Path.cwd().resolve()):  # e.g. experiments/models/<name>.config.yaml
        shown = shown.relative_to(Path.cwd().resolve())
    meta["reproduce"] = reproduce or (
        f"discoverygym train --config {shown} --out runs/{name}  "
        f"(then runs/{name}/{checkpoint}.zip)"
    )
    if isinstance(meta.get("wandb"), dict):
        meta["wandb"]["dir"] = None
    shutil.copyfile(source_zip, target_zip)
    shutil.copyfile(source_config, target_config)
    target_meta.write_text(json.dumps(meta, indent=2) + "\n")
    if curve_path(source_zip).is_file():
        shutil.copyfile(curve_path(source_zip), curve_path(target_zip))
    else:
        plot_training_curve(target_meta, curve_path(target_zip), progress_csv=run_dir / "progress.csv")
    return target_zip
