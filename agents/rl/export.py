"""Ship an RL run's checkpoint as a model: ``<name>.zip`` with its config, meta and curve.

A training run folder (`train`'s ``--out``) holds ``model.zip`` (the final model) and, with
validation, ``best.zip`` (the best validation checkpoint), each with ``.config.yaml``,
``.meta.json`` and ``.curve.png`` beside it. `ship_model` copies one of them into a models
folder (``experiments/models/`` by default, where `shipped_models` finds it) under a new name
and completes its meta with what a reader of a shipped model needs: how the checkpoint was
selected (``selected``) and the command that rebuilds it (``reproduce``). The run's W&B folder
is not shipped (``wandb.dir`` becomes null; the run id stays, for a synced run).

`ship_ensemble` ships several runs of one recipe (e.g. its seeds) as one model: a structured
policy whose scorer is the members' `EnsembleScorer` (greedy play takes the action the members
rank best together), one zip that `evaluate`, `compare` and ``--samples`` load as any other.
"""

from __future__ import annotations

import hashlib
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

    run_dir = Path(run_dir)
    source_zip, source_config, source_meta = _checkpoint_files(run_dir, checkpoint)
    target_zip = _target(name, dest, overwrite)
    target_config, target_meta = sidecars(target_zip)
    meta = json.loads(source_meta.read_text())
    if not curve_path(source_zip).is_file():
        _drawable(meta, run_dir)
    meta["selected"] = selection_note(meta, checkpoint)
    shown = _shown(target_config)
    meta["reproduce"] = reproduce or (
        f"discoverygym train --config {shown} --out runs/{name}  "
        f"(then runs/{name}/{checkpoint}.zip)"
    )
    if isinstance(meta.get("wandb"), dict):
        meta["wandb"]["dir"] = None
    target_zip.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source_zip, target_zip)
    shutil.copyfile(source_config, target_config)
    target_meta.write_text(json.dumps(meta, indent=2) + "\n")
    if curve_path(source_zip).is_file():
        shutil.copyfile(curve_path(source_zip), curve_path(target_zip))
    else:
        plot_training_curve(target_meta, curve_path(target_zip), progress_csv=run_dir / "progress.csv")
    return target_zip


def _checkpoint_files(run_dir: Path, checkpoint: str) -> tuple[Path, Path, Path]:
    """(zip, config, meta) of a run's checkpoint; FileNotFoundError names a missing one."""
    from discoverygym.agents.rl.train import sidecars

    if checkpoint not in CHECKPOINTS:
        raise ValueError(f"unknown checkpoint {checkpoint!r}; expected one of {', '.join(CHECKPOINTS)}")
    source_zip = Path(run_dir) / f"{checkpoint}.zip"
    source_config, source_meta = sidecars(source_zip)
    for path in (source_zip, source_config, source_meta):
        if not path.is_file():
            raise FileNotFoundError(
                f"no {path.name} in {run_dir} (is it a `discoverygym train --out` "
                f"folder{', with an eval section' if checkpoint == 'best' else ''}?)"
            )
    return source_zip, source_config, source_meta


def _target(name: str, dest: str | Path | None, overwrite: bool) -> Path:
    """``<dest>/<name>.zip`` after checking the name and that it may be written (the folder is
    created by the caller, once every other check has passed)."""
    from discoverygym.agents.shipped import models_dir

    if not _NAME.match(name):
        raise ValueError(
            f"bad model name {name!r}: expected a letter, then letters, digits, '_', '.' or '-'"
        )
    dest = Path(dest) if dest is not None else models_dir()
    target_zip = dest / f"{name}.zip"
    if target_zip.exists() and not overwrite:
        raise FileExistsError(f"{target_zip} exists; choose another name or overwrite it")
    return target_zip


def _drawable(meta: dict[str, Any], run_dir: Path) -> None:
    """ValueError naming the run when its meta has no validation history to draw a curve from
    (checked before anything is written, so that a refused ship leaves nothing behind)."""
    from discoverygym.agents.rl.curve import validation_points

    try:
        validation_points(meta)
    except ValueError as error:
        raise ValueError(f"{run_dir}: {error}; every shipped model carries its curve") from None


def _shown(path: Path) -> Path:
    """``path`` relative to the working directory when it lies below it (for the meta's
    commands: ``experiments/models/<name>.config.yaml``, not this machine's absolute path)."""
    shown = path.resolve()
    cwd = Path.cwd().resolve()
    return shown.relative_to(cwd) if shown.is_relative_to(cwd) else shown


#: Config keys that do not change a recipe: the runs of an ensemble may differ in them.
NOT_RECIPE: tuple[str, ...] = ("seed", "wandb", "torch_threads")


def _one_recipe(run_dirs: list[Path], configs: list[dict[str, Any]]) -> None:
    """ValueError unless the runs' configs differ only in `NOT_RECIPE` keys, each seed once."""
    first = configs[0]
    seen: dict[Any, Path] = {}
    for run, config in zip(run_dirs, configs):
        for key in sorted(set(first) | set(config)):
            if key not in NOT_RECIPE and first.get(key) != config.get(key):
                raise ValueError(
                    f"{run}: config key {key!r} is {config.get(key)!r}, but {first.get(key)!r} in "
                    f"{run_dirs[0]}; an ensemble's runs differ only in their seed"
                )
        if config.get("seed") in seen:
            raise ValueError(f"{run} and {seen[config.get('seed')]} both have seed {config.get('seed')}; "
                             "an ensemble's runs differ in their seed")
        seen[config.get("seed")] = run


def _ensemble_model(models: list[Any], run_dirs: list[Path]) -> Any:
    """The first model, its policy replaced by the `EnsembleScorer` policy of all of them."""
    import torch as th

    from discoverygym.agents.rl.policies import EnsembleScorer, scorer_of

    for run, model in zip(run_dirs, models):
        if scorer_of(model.policy) is None:
            raise ValueError(
                f"{run}: its policy ({type(model.policy).__name__}) is not a structured scorer "
                "policy (config `policy: binpacking | jobshop | ...`); only those can be ensembled"
            )
    base = models[0]
    base.policy_kwargs = {
        **base.policy_kwargs,
        "scorer": "ensemble",
        "scorer_kwargs": {"members": [
            {"scorer": m.policy.scorer_name, "scorer_kwargs": m.policy.scorer_kwargs} for m in models
        ]},
    }
    policy = base.policy_class(
        base.observation_space, base.action_space, base.lr_schedule, **base.policy_kwargs
    )
    scorer = policy.mlp_extractor
    assert isinstance(scorer, EnsembleScorer)
    with th.no_grad():
        for slot, model in zip(scorer.members, models):
            slot.load_state_dict(model.policy.mlp_extractor.state_dict())
        # value = the members' mean value: their latents side by side, each head / N
        policy.value_net.weight.copy_(
            th.cat([m.policy.value_net.weight for m in models], dim=1) / len(models)
        )
        policy.value_net.bias.copy_(th.stack([m.policy.value_net.bias for m in models]).mean(dim=0))
    base.policy = policy
    return base


def ship_ensemble(
    run_dirs: list[str | Path],
    name: str,
    *,
    checkpoint: str = "best",
    dest: str | Path | None = None,
    reproduce: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Ship the ``<checkpoint>.zip`` of every run in ``run_dirs`` as one model ``<dest>/<name>.zip``.

    The members must be runs of one recipe: their configs differ in their seed only, and their
    policies are structured (`policies.Scorer`). The model is the first member's, with an
    `EnsembleScorer` of all the members' scorers (their weights copied) and a value head that
    averages their values. Its config is the first member's; its meta lists every member (run
    folder name, seed, SHA-256 of its zip, its selection, compute and W&B id), sums their
    compute, and says how it was selected: all the runs given, none left out. The curve shows
    every member's validation history. Raises ValueError naming the config key, seed or policy
    that does not fit, and what `ship_model` raises for names and missing files.
    """
    from discoverygym.agents.rl.config import load_config, save_config
    from discoverygym.agents.rl.curve import curve_path, plot_ensemble_curve
    from discoverygym.agents.rl.train import algo_class, sidecars

    run_dirs = [Path(run) for run in run_dirs]
    if len(run_dirs) < 2:
        raise ValueError(f"an ensemble needs at least two runs, got {len(run_dirs)}")
    files = [_checkpoint_files(run, checkpoint) for run in run_dirs]
    target_zip = _target(name, dest, overwrite)
    target_config, target_meta = sidecars(target_zip)
    configs = [load_config(config) for _, config, _ in files]
    metas = [json.loads(meta.read_text()) for _, _, meta in files]
    _one_recipe(run_dirs, configs)
    for run, meta in zip(run_dirs, metas):
        _drawable(meta, run)
    first = configs[0]
    models = [algo_class(first["algo"]).load(zip_path, device="cpu") for zip_path, _, _ in files]
    model = _ensemble_model(models, run_dirs)
    target_zip.parent.mkdir(parents=True, exist_ok=True)
    model.save(target_zip)
    save_config(first, target_config)

    members = [{
        "run": run.name,
        "checkpoint": checkpoint,
        "seed": config.get("seed"),
        "sha256": hashlib.sha256(zip_path.read_bytes()).hexdigest(),
        "selected": selection_note(meta, checkpoint),
        "best": meta.get("best"),
        "compute": meta.get("compute"),
        "wandb": (meta.get("wandb") or {}).get("id"),
    } for run, (zip_path, _, _), config, meta in zip(run_dirs, files, configs, metas)]
    compute: dict[str, float] = {}
    for meta in metas:
        for key, value in (meta.get("compute") or {}).items():
            compute[key] = compute.get(key, 0.0) + float(value)
    seeds = [member["seed"] for member in members]
    runs = " ".join(f"--run runs/{name}_s{seed}" for seed in seeds)
    meta = {
        "algo": first["algo"],
        "env_id": first["env_id"],
        "versions": metas[0].get("versions"),
        "compute": compute,
        "ensemble": members,
        "selected": (
            f"the ensemble of all {len(members)} runs given (seeds {' '.join(map(str, seeds))}), "
            "none left out: greedy play takes the argmax of the mean of the members' logits; each "
            f"member is its run's {checkpoint} checkpoint (its `selected` says which); compute is "
            "the members' summed"
        ),
        "reproduce": reproduce or (
            f"for S in {' '.join(map(str, seeds))}; do discoverygym train --config "
            f"{_shown(target_config)} --seed $S --out runs/{name}_s$S; done; "
            f"discoverygym ship {runs} --name {name}"
        ),
    }
    target_meta.write_text(json.dumps(meta, indent=2) + "\n")
    plot_ensemble_curve(
        metas, curve_path(target_zip), labels=[f"seed {seed}" for seed in seeds],
        title=f"{name}: {len(members)} runs, {compute.get('env_steps', 0):,.0f} env steps, "
              f"{compute.get('cpu_seconds', 0):,.0f} CPU s in all",
    )
    return target_zip
