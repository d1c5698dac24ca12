"""Typer commands of the RL side, mounted by `discoverygym.experiments.cli`:

discoverygym train --env <id> --algo maskable_ppo [--config file.yaml|name] [--total-steps N] [--seed S]
discoverygym evaluate --agent path/to/model.zip --dataset <set> [--samples K] [--json]
discoverygym evaluate --game <game> --agent <heuristic or program.py> --dataset <set> [--json]

Bad input (an unknown config key, env id or game, a value of the wrong kind, a program that does
not parse, a model asked to play another game) ends with one line on stderr naming the bad value
and what was expected, and exit code 2 (typer's usage-error code), never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from discoverygym.envs import GAMES

console = Console()


def fail(message: str) -> typer.Exit:
    """Print ``Error: <message>`` as one line on stderr; return the exit (code 2) to raise."""
    typer.echo(f"Error: {' '.join(str(message).split())}", err=True)
    return typer.Exit(2)


def _message(error: BaseException) -> str:
    return str(error.args[0] if error.args else error)


def train_command(
    ctx: typer.Context,
    env: Annotated[
        str | None,
        typer.Option(
            "--env", help="Env id, e.g. discoverygym/OnlineBinPacking-v0 (default: the config's)."
        ),
    ] = None,
    algo: Annotated[
        str | None, typer.Option(help="ppo, maskable_ppo, a2c or dqn (default: the config's).")
    ] = None,
    config: Annotated[
        str | None, typer.Option(help="YAML file or shipped config name (experiments/configs).")
    ] = None,  # becomes a dict when sweep overrides are given
    total_steps: Annotated[int | None, typer.Option(help="Environment steps to train for.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the model and the envs.")] = None,
    n_envs: Annotated[int | None, typer.Option(help="Parallel envs.")] = None,
    vec_env: Annotated[
        str | None,
        typer.Option(
            help="native (the game's batched env; the default where the config allows it), "
            "dummy (single envs in one process) or subproc."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Run folder (default runs/<algo>-<time>).")
    ] = None,
    wandb_project: Annotated[str | None, typer.Option(help="W&B project.")] = None,
    wandb_entity: Annotated[str | None, typer.Option(help="W&B entity.")] = None,
    wandb_group: Annotated[str | None, typer.Option(help="W&B group.")] = None,
    wandb_tag: Annotated[
        list[str] | None, typer.Option(help="W&B tag; repeat for several.")
    ] = None,
    wandb_mode: Annotated[
        str | None,
        typer.Option(
            help="online, offline or disabled (default: WANDB_MODE, else online iff logged in)."
        ),
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    init_from: Annotated[
        Path | None, typer.Option(help="Start from this model zip's weights (fine-tuning).")
    ] = None,
) -> None:
    """Train an RL agent (stable-baselines3 / sb3-contrib); saves the model zip, config, versions and compute.

    Extra ``--dotted.key=value`` arguments override config entries (``--algo_kwargs.learning_rate=3e-4``),
    which is how W&B sweeps (``${args}``) pass their parameters.
    """
    from discoverygym.agents.rl.config import apply_overrides, load_config, parse_overrides
    from discoverygym.agents.rl.train import sidecars, train

    if ctx.args:
        try:
            config = apply_overrides(load_config(config), parse_overrides(ctx.args))
        except (ValueError, TypeError, FileNotFoundError) as error:
            raise fail(_message(error)) from None

    wandb = {
        k: v
        for k, v in {
            "project": wandb_project,
            "entity": wandb_entity,
            "group": wandb_group,
            "tags": wandb_tag,
            "mode": wandb_mode,
        }.items()
        if v
    }
    try:
        zip_path = train(
            env_id=env,
            algo=algo,
            config=config,
            total_steps=total_steps,
            seed=seed,
            run_dir=out,
            n_envs=n_envs,
            vec_env=vec_env,
            wandb=wandb or None,
            progress_bar=progress,
            init_from=init_from,
        )
    except (ValueError, TypeError, FileNotFoundError, KeyError) as error:
        raise fail(_message(error)) from None
    config_path, meta_path = sidecars(zip_path)
    meta = json.loads(meta_path.read_text())
    console.print(
        f"Saved {zip_path} (+ {config_path.name}, {meta_path.name}); compute: {meta['compute']}"
    )
    if meta.get("validation"):
        last = meta["validation"][-1]
        console.print("Validation: " + ", ".join(f"{k}={v:.4g}" for k, v in last.items()))
    if meta.get("interrupted"):
        console.print(f"Interrupted: {meta['interrupted']}; the model, its best checkpoint and "
                      "their notes are saved", style="yellow")
        raise typer.Exit(130)


def evaluate_model_command(
    agent: Annotated[
        str,
        typer.Option(
            help="A model zip (RL), or a heuristic's name / an evolved program's .py with --game."
        ),
    ],
    dataset: Annotated[list[str], typer.Option(help="Dataset name; repeat for several.")],
    game: Annotated[
        str | None, typer.Option(help=f"Game ({', '.join(game.name for game in GAMES)}); implied by a model zip.")
    ] = None,
    samples: Annotated[
        int,
        typer.Option(
            help="Also play K sampled rollouts per instance and keep the best (a model zip only); "
            "its record is named <agent>@K.",
        ),
    ] = 0,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the records as a JSON list instead of a table.")
    ] = False,
) -> None:
    """Run one agent on instance sets and print the table (or JSON records)."""
    from discoverygym.experiments.compare import records_table

    try:
        records = _evaluate(agent, dataset, game, samples)
    except (KeyError, FileNotFoundError, ValueError, TypeError) as error:
        raise fail(_message(error)) from None
    if json_out:
        typer.echo(json.dumps([r.to_dict() for r in records], indent=2))
        return
    title = f"{records[0].game}: {records[0].agent}" if records else agent
    console.print(records_table(records, title))


def _evaluate(agent: str, datasets: list[str], game: str | None, samples: int) -> list[Any]:
    """The records of `evaluate`: the one scoring path (`experiments.evaluate`) per dataset."""
    from discoverygym.experiments.evaluate import evaluate

    return [record for d in datasets for record in evaluate(agent, game, d, samples=samples)]


def ship_model_command(
    run: Annotated[list[Path], typer.Option(
        help="A `discoverygym train --out` folder; give it several times to ship the runs' ensemble "
             "(runs of one recipe, e.g. its seeds: greedy play takes the mean of their logits)."
    )],
    name: Annotated[str, typer.Option(help="The model's name: <name>.zip, and the agent's name in compare.")],
    checkpoint: Annotated[
        str, typer.Option(help="best (the best validation checkpoint) or model (the final model).")
    ] = "best",
    dest: Annotated[
        Path | None, typer.Option(help="Models folder (default: the package's experiments/models).")
    ] = None,
    reproduce: Annotated[
        str | None,
        typer.Option(help="The command that rebuilds it, for the meta (default: train from the shipped config)."),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace a model of that name.")] = False,
) -> None:
    """Ship an RL run's checkpoint as a model: zip, config, meta (with how it was selected and
    how to rebuild it) and training curve, where `compare` and `evaluate` find it. Several
    --run folders ship their ensemble as one model."""
    from discoverygym.agents.rl.export import ship_ensemble, ship_model

    try:
        if len(run) == 1:
            path = ship_model(run[0], name, checkpoint=checkpoint, dest=dest, reproduce=reproduce,
                              overwrite=overwrite)
        else:
            path = ship_ensemble(run, name, checkpoint=checkpoint, dest=dest, reproduce=reproduce,
                                 overwrite=overwrite)
    except (FileNotFoundError, FileExistsError, ValueError) as error:
        raise fail(_message(error)) from None
    kind = f"the ensemble of {len(run)} runs" if len(run) > 1 else "the run's checkpoint"
    console.print(f"Shipped {path}, {kind} (+ .config.yaml, .meta.json, .curve.png)")
