"""Train an SB3 / sb3-contrib agent on a discoverygym game.

    from discoverygym.agents.rl.train import train
    zip_path = train("discoverygym/OnlineBinPacking-v0", "maskable_ppo",
                     config="ppo_binpacking", total_steps=200_000, seed=0, run_dir="runs/bp")

writes, in `run_dir`:
  model.zip          the SB3 model (load with `discoverygym.agents.rl.evaluate.load_model`)
  model.config.yaml  the resolved config (everything needed to rebuild the envs)
  model.meta.json    library versions, training compute (env steps, CPU and wall seconds),
                     the W&B run's id/mode/dir, the last validation result, and the
                     pretraining statistics when the config has a ``pretrain`` section
  best.zip (+ sidecars) the best model on the validation set, when `eval` is configured;
                     written with each new best (its meta provisional until the run ends),
                     so a run stopped early leaves a checkpoint `evaluate` and `ship` take
and tracks the run in W&B (see `tracking`).

With a ``pretrain`` section the policy is first cloned from demonstrations
(`imitation.pretrain_from_demonstrations`, AlphaTensor's supervised stage), validated once, then
trained by RL for ``total_steps``; the compute counts both stages (``env_steps`` includes the
demonstrations' moves, also given as ``pretrain_env_steps``). With a ``self_labeling`` section
the ``total_steps`` are spent on self-labeling (`self_labeling.self_label`: the best of K
sampled solutions as the label, as the Self-Labeling SPN trains, or with ``objective: relative``
every sample weighted against its instance's mean) instead of the algorithm's
``learn``; its statistics go into the meta under ``self_labeling``.
"""

from __future__ import annotations

import json
import platform
import resource
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import torch as th
from discoverygym.agents.rl import tracking
from discoverygym.agents.interrupts import sigterm_as_interrupt
from discoverygym.agents.tracking import report_trial_metrics, wandb_mode
from discoverygym.agents.rl.curve import curve_path, plot_training_curve
from discoverygym.agents.rl.callbacks import ValidationCallback
from discoverygym.agents.rl.config import resolve_config, resolve_schedules, save_config
from discoverygym.agents.rl.envs import make_vec_env
from discoverygym.agents.rl.policies import resolve_policy
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.logger import Logger, make_output_format

LIBRARIES: tuple[str, ...] = (
    "discoverygym",
    "numpy",
    "torch",
    "gymnasium",
    "stable_baselines3",
    "sb3_contrib",
    "wandb",
)


def algo_class(algo: str) -> type[BaseAlgorithm]:
    """The SB3 class of an algo name."""
    if algo == "ppo":
        from stable_baselines3 import PPO

        return PPO
    if algo == "a2c":
        from stable_baselines3 import A2C

        return A2C
    if algo == "dqn":
        from stable_baselines3 import DQN

        return DQN
    if algo == "maskable_ppo":
        from sb3_contrib import MaskablePPO

        return MaskablePPO
    raise ValueError(f"unknown algo {algo!r}; known: ppo, maskable_ppo, a2c, dqn")


def library_versions() -> dict[str, str]:
    """Versions of Python and of the libraries that shape a trained model."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name.replace("_", "-"))
        except metadata.PackageNotFoundError:
            try:
                versions[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                versions[name] = "not installed"
    return versions


def sidecars(zip_path: Path) -> tuple[Path, Path]:
    """The config YAML and meta JSON paths that go with a model zip."""
    stem = zip_path.with_suffix("")
    return stem.with_name(stem.name + ".config.yaml"), stem.with_name(stem.name + ".meta.json")


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def build_model(config: dict[str, Any], env: Any, verbose: int = 0) -> BaseAlgorithm:
    """The SB3 model of a resolved config on a (vectorised) env."""
    algo = config["algo"]
    cls = algo_class(algo)
    if algo == "dqn" and env.action_space.__class__.__name__ != "Discrete":
        raise ValueError(
            f"dqn needs a Discrete action space; {config['env_id']} has {env.action_space}"
        )
    if algo == "maskable_ppo" and not env.has_attr("action_masks"):
        raise ValueError(
            f"maskable_ppo needs an env with action_masks(); {config['env_id']} has none (use ppo)"
        )
    policy, policy_kwargs = resolve_policy(config, env.observation_space, env.action_space)
    kwargs = resolve_schedules(config["algo_kwargs"])
    model = cls(
        policy,
        env,
        policy_kwargs=policy_kwargs,
        seed=config["seed"],
        verbose=verbose,
        device="cpu",
        **kwargs,
    )
    if config.get("init_from"):
        start = Path(config["init_from"])
        if not start.exists():
            raise FileNotFoundError(f"init_from: no model at {start}")
        try:
            model.set_parameters(str(start), exact_match=True, device="cpu")
        except RuntimeError as error:  # torch's load_state_dict: other layers or shapes
            first = str(error).strip().splitlines()[0]
            raise ValueError(
                f"init_from: {start} is not a model of this config's policy ({first}); an "
                "ensemble (`ship --run A --run B`) or another architecture cannot start a run"
            ) from None
    return model


def train(
    env_id: str | None = None,
    algo: str | None = None,
    config: dict[str, Any] | str | Path | None = None,
    total_steps: int | None = None,
    seed: int | None = None,
    run_dir: str | Path | None = None,
    n_envs: int | None = None,
    vec_env: str | None = None,
    wandb: dict[str, Any] | None = None,
    progress_bar: bool = True,
    verbose: int = 0,
    init_from: str | Path | None = None,
) -> Path:
    """Train, save and track one agent; return the path of the saved model zip.

    Arguments that are None keep the config's value (or the default); `wandb` is merged into
    the config's ``wandb`` section (keys of `tracking.WandbSettings`); `init_from` starts from a
    saved model's weights (fine-tuning).
    """
    resolved = resolve_config(
        config,
        env_id=env_id,
        algo=algo,
        total_steps=total_steps,
        seed=seed,
        n_envs=n_envs,
        vec_env=vec_env,
        wandb=wandb,
        init_from=None if init_from is None else str(init_from),
    )
    th.set_num_threads(int(resolved["torch_threads"]))
    out = (
        Path(run_dir)
        if run_dir
        else Path("runs") / time.strftime(f"{resolved['algo']}-%Y%m%d-%H%M%S")
    )
    out.mkdir(parents=True, exist_ok=True)
    zip_path = out / "model.zip"
    config_path = sidecars(zip_path)[0]
    save_config(resolved, config_path)

    settings = tracking.WandbSettings.from_dict(resolved["wandb"])
    run = tracking.start_run(settings, resolved, out)
    try:
        _train_and_save(resolved, settings, run, out, progress_bar, verbose)
    except BaseException:
        run.finish(exit_code=1)
        raise
    run.finish()
    return zip_path


def _train_and_save(
    resolved: dict[str, Any],
    settings: tracking.WandbSettings,
    run: Any,
    out: Path,
    progress_bar: bool,
    verbose: int,
) -> None:
    zip_path = out / "model.zip"
    config_path, meta_path = sidecars(zip_path)
    cpu0, wall0 = _cpu_seconds(), time.perf_counter()
    env = make_vec_env(resolved)
    try:
        model = build_model(resolved, env, verbose=verbose)
        logger = Logger(
            folder=str(out),
            output_formats=[make_output_format("csv", str(out)), tracking.WandbOutputFormat(run)],
        )
        if verbose:
            logger.output_formats.append(make_output_format("stdout", str(out)))
        model.set_logger(logger)
        callbacks: list[BaseCallback] = []
        validation = None
        if resolved["eval"]:
            validation = ValidationCallback(resolved, best_path=out / "best.zip")
            callbacks.append(validation)
        pretrain = None
        if resolved.get("pretrain") is not None:
            from discoverygym.agents.rl.imitation import pretrain_from_demonstrations

            pretrain = pretrain_from_demonstrations(
                resolved, model.policy, verbose=verbose, progress_bar=progress_bar
            )
            for key, value in pretrain.items():
                logger.record(f"pretrain/{key}", value)
            logger.dump(0)
            if validation is not None:
                validation.evaluate_now(model)  # the cloned policy is a checkpoint candidate
        labeling = None
        interrupted = False
        with sigterm_as_interrupt():
            try:
                if resolved.get("self_labeling") is not None:
                    from discoverygym.agents.rl.self_labeling import self_label

                    labeling = self_label(model, resolved, validation=validation, verbose=verbose)
                elif resolved["total_steps"] > 0:  # 0: the behaviour-cloned policy alone
                    model.learn(
                        total_timesteps=resolved["total_steps"],
                        callback=CallbackList(callbacks),
                        progress_bar=progress_bar,
                    )
            except KeyboardInterrupt:  # Ctrl-C or SIGTERM: keep what was learnt, with its notes
                interrupted = True
        if validation is not None and (resolved["total_steps"] > 0 or pretrain is None):
            validation.evaluate_now(model)  # (a cloned policy alone was validated above)
        model.save(zip_path)
        steps = int(model.num_timesteps)
    finally:
        env.close()
    demo_steps = pretrain["env_steps"] if pretrain else 0.0
    compute = {
        "env_steps": float(steps) + demo_steps,
        "cpu_seconds": round(_cpu_seconds() - cpu0, 2),
        "wall_seconds": round(time.perf_counter() - wall0, 2),
    }
    if pretrain:
        compute["pretrain_env_steps"] = demo_steps
    meta = {
        "algo": resolved["algo"],
        "env_id": resolved["env_id"],
        "versions": library_versions(),
        "compute": compute,
        "wandb": {"id": run.id, "mode": wandb_mode(settings.mode), "dir": str(run.dir)},
        "validation": validation.history if validation is not None else [],
    }
    if pretrain:
        meta["pretrain"] = pretrain
    if labeling:
        meta["self_labeling"] = labeling
    if interrupted:
        meta["interrupted"] = (
            f"stopped by Ctrl-C or SIGTERM at {steps:,} of {resolved['total_steps']:,} env steps"
        )
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    if validation is not None and validation.best_path.exists():
        best_config, best_meta = sidecars(validation.best_path)
        save_config(resolved, best_config)
        best_meta.write_text(json.dumps({**meta, "best": validation.best}, indent=2) + "\n")
    if validation is not None and validation.history:
        for saved in (zip_path, validation.best_path):
            if saved.exists():
                plot_training_curve(sidecars(saved)[1], curve_path(saved),
                                     progress_csv=out / "progress.csv")
    final = {f"compute/{k}": v for k, v in compute.items()}
    if validation is not None and validation.history:
        final.update({f"eval/{k}": v for k, v in validation.history[-1].items()})
        final.update({f"best/{k}": v for k, v in (validation.best or {}).items()})
    report_trial_metrics(final, run)  # the run's summary and, inside a sweep trial, the sweep
    if settings.log_model:
        tracking.log_model_artifact(
            run,
            [zip_path, config_path, meta_path],
            f"{resolved['algo']}-{run.id}",
            {"compute": compute},
        )
