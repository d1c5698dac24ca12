"""The `discoverygym` command."""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from discoverygym.envs import GAMES

GAME_NAMES = ", ".join(game.name for game in GAMES)  # the one list of games

app = typer.Typer(
    help="Games from FunSearch and AlphaTensor for RL agents, solvers and LLM-evolved heuristics.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
console = Console()


@app.command()
def envs() -> None:
    """List the registered games with a one-line description each."""
    from rich.table import Table

    from discoverygym.envs import ENV_SPECS

    table = Table(title="discoverygym games (gym.make('discoverygym.envs:<id>'))")
    table.add_column("id")
    table.add_column("description")
    for spec in ENV_SPECS:
        table.add_row(spec.id, spec.description)
    console.print(table)


@app.command()
def compare(
    out: Annotated[Optional[Path], typer.Option(help="Output folder (default results/<timestamp>).")] = None,
    games: Annotated[Optional[list[str]], typer.Option("--game", help="Only these games.")] = None,
    agents: Annotated[Optional[list[str]], typer.Option("--agent", help="Only these agents.")] = None,
    full: Annotated[bool, typer.Option(help="Every dataset instead of the default subset.")] = False,
    wandb: Annotated[bool, typer.Option(help="Log the run to W&B (offline unless logged in).")] = True,
    samples: Annotated[Optional[list[int]], typer.Option(
        help="Also play every RL model as <model>@K, the best of K sampled rollouts per instance; repeat for several K.")] = None,
    reuse: Annotated[Optional[list[Path]], typer.Option(
        help="An earlier compare folder (repeatable): the results its summary.csv has are taken "
             "from it, the rest are played (complete or extend a comparison). A later folder's "
             "result wins over an earlier one's.")] = None,
) -> None:
    """The main job: every agent family on every game -> CSV, JSON, Markdown, PNG figures, W&B."""
    from discoverygym.agents.records import read_csv
    from discoverygym.experiments.compare import run_compare

    if any(k < 1 for k in samples or ()):
        raise typer.BadParameter(f"--samples must be positive numbers of rollouts, got {samples}")
    earlier = []
    for folder in reuse or ():
        summary = folder / "summary.csv" if folder.is_dir() else folder
        try:
            earlier.append(read_csv(summary))
        except OSError as error:
            raise typer.BadParameter(f"--reuse {summary}: {error.strerror or error}") from None
        except (KeyError, ValueError, TypeError) as error:
            raise typer.BadParameter(f"--reuse {summary}: not a compare summary.csv "
                                     f"({type(error).__name__}: {error})") from None
    out_dir = out or Path("results") / time.strftime("compare-%Y%m%d-%H%M%S")
    try:
        run_compare(out_dir, games=games, agents=agents, full=full, console=console, wandb=wandb,
                    samples=samples or (), reuse=earlier, reuse_from=", ".join(map(str, reuse or ())))
    except KeyError as error:
        raise typer.BadParameter(str(error.args[0])) from None


@app.command()
def bench(
    game: Annotated[str, typer.Argument(help=f"{GAME_NAMES}, vector (batched envs and peers) or scaling (cost against size).")],
    quick: Annotated[bool, typer.Option(help="Short measurement (for smoke tests).")] = False,
    table: Annotated[Optional[str], typer.Option(
        help="Only this table (vector: envs, peers, sb3 or training).")] = None,
) -> None:
    """Throughput benchmark of one game, each figure as a ratio to a reference in the same run."""
    import inspect

    from discoverygym.experiments.bench import BENCHMARKS

    if game not in BENCHMARKS:
        raise typer.BadParameter(f"unknown benchmark {game!r}; known: {', '.join(BENCHMARKS)}")
    run = importlib.import_module(f"discoverygym.experiments.bench.{game}").run
    if table is None:
        run(quick=quick)
        return
    if "only" not in inspect.signature(run).parameters:
        raise typer.BadParameter(f"--table applies to bench vector, not {game!r}")
    try:
        run(quick=quick, only=table)
    except KeyError as error:
        raise typer.BadParameter(str(error.args[0])) from None


@app.command()
def sweep(
    config: Annotated[Path, typer.Argument(help="A W&B sweep YAML (experiments/configs/sweep_*.yaml).")],
    executor: Annotated[str, typer.Option(help="local (optuna), ray (Ray Tune) or wandb (server).")] = "local",
    out: Annotated[Optional[Path], typer.Option(help="Output folder (default results/sweeps/<name>).")] = None,
    trials: Annotated[Optional[int], typer.Option(help="Number of trials (default: run_cap or the grid).")] = None,
    parallel: Annotated[int, typer.Option(help="Trials run at once (local executor).")] = 1,
    resume: Annotated[bool, typer.Option(help="Continue a killed sweep in --out without repeating finished trials.")] = False,
    ray_address: Annotated[Optional[str], typer.Option(help="Ray cluster address (default: a local Ray instance).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the search.")] = 0,
    trial_timeout: Annotated[Optional[float], typer.Option(help="Seconds before a trial is killed.")] = None,
) -> None:
    """Run a W&B-format sweep: trials table, best config as YAML and a figure under --out."""
    from discoverygym.experiments import sweep as sweeps
    from discoverygym.experiments.sweep_config import SweepConfigError, load_sweep_config

    if executor not in sweeps.EXECUTORS:
        raise typer.BadParameter(f"unknown executor {executor!r}; known: {', '.join(sweeps.EXECUTORS)}")
    try:
        parsed = load_sweep_config(config)
    except (SweepConfigError, FileNotFoundError) as error:
        raise typer.BadParameter(str(error)) from None
    out_dir = out or Path("results") / "sweeps" / parsed.name
    if executor == "wandb":
        console.print(f"W&B sweep {sweeps.run_wandb_sweep(parsed, count=trials)} finished.")
        return
    try:
        if executor == "local":
            result = sweeps.run_local_sweep(parsed, out_dir, max_trials=trials, parallel=parallel, resume=resume,
                                            seed=seed, timeout_s=trial_timeout)
        else:
            result = sweeps.run_ray_sweep(parsed, out_dir, address=ray_address, max_trials=trials, seed=seed,
                                          timeout_s=trial_timeout)
    except (FileExistsError, ValueError) as error:
        raise typer.BadParameter(str(error)) from None
    _print_trials(result)


def _print_trials(result) -> None:
    from rich.table import Table

    names = [p.name for p in result.config.parameters]
    table = Table(title=f"sweep {result.config.name}: {result.config.metric} ({result.config.goal})")
    for column in ("trial", "state", result.config.metric, *names, "seconds"):
        table.add_column(column)
    for t in result.trials:
        table.add_row(str(t.number), t.state, "" if t.value is None else f"{t.value:.5g}",
                      *[str(t.params.get(n, "")) for n in names], f"{t.seconds:.1f}")
    console.print(table)
    console.print(f"Wrote {result.out_dir}/trials.csv, best.yaml and sweep.png.")


@app.command()
def scaling(
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("results/scaling"),
    game: Annotated[Optional[list[str]], typer.Option(help="RL grids to run: binpacking, jobshop.")] = None,
    evolve_log: Annotated[Optional[list[Path]], typer.Option(help="samples.jsonl of an evolve run; repeat.")] = None,
    tiny: Annotated[bool, typer.Option(help="2 x 2 grids with a few hundred steps (smoke test).")] = False,
    reuse: Annotated[bool, typer.Option(help="Reuse the RL points of --out/scaling.json (no training).")] = False,
    evolve_run: Annotated[Optional[list[Path]], typer.Option(
        help="An evolve run folder; repeat. Compares the runs' LLMs at equal wall clock "
             "(median and range over seeds) in --out/models.md; with it, the RL grids run "
             "only when --game is given.")] = None,
) -> None:
    """Quality against compute: RL width x steps grids and evolution logs, power-law fits (~30 min)."""
    from discoverygym.experiments import scaling as study

    if evolve_run:
        from discoverygym.experiments import model_scaling

        try:
            report = model_scaling.write_report([model_scaling.read_run(p) for p in evolve_run], out)
        except ValueError as error:
            console.print(f"[red]error:[/red] {error}")
            raise typer.Exit(2) from None
        console.print(report["reading"])
        console.print(f"Wrote {out}/models.md, models.json and models.png.")
        if not game:
            return
    games = game or [g.game for g in study.DEFAULT_GRIDS]
    grids = study.tiny_grids(games) if tiny else tuple(g for g in study.DEFAULT_GRIDS if g.game in games)
    results = study.run_scaling(out, grids, evolve_logs=evolve_log or (), console=console, reuse=reuse)
    for name, fit in results["fits"].items():
        console.print(f"{name}: exponent {fit['b']:.3f} [{fit['b_low']:.3f}, {fit['b_high']:.3f}]")
    console.print(f"Wrote {out}/scaling.md, scaling.json and scaling.png ({results['seconds']:.0f} s).")


_rl = importlib.import_module("discoverygym.experiments.rl_commands")
app.command("evaluate")(_rl.evaluate_model_command)
app.command("ship")(_rl.ship_model_command)
app.command("train", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(_rl.train_command)
_evolution = importlib.import_module("discoverygym.agents.evolution.cli")
app.command("evolve")(_evolution.evolve)
app.command("tune")(_evolution.tune_command)
app.add_typer(importlib.import_module("discoverygym.experiments.tensor_policy").app, name="tensor-policy")


if __name__ == "__main__":
    app()
