"""The `discoverygym` command."""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

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
def evaluate(
    game: Annotated[str, typer.Option(help="Game: binpacking, jobshop or tensor.")],
    agent: Annotated[str, typer.Option(help="Agent name (see `compare`'s agents).")],
    dataset: Annotated[list[str], typer.Option(help="Dataset name; repeat for several.")],
) -> None:
    """Run one agent on instance sets and print the table."""
    from discoverygym.experiments.compare import records_table
    from discoverygym.experiments.suites import get_suite

    try:
        suite = get_suite(game)
        records = [r for d in dataset for r in suite.evaluate(agent, d)]
    except KeyError as error:
        raise typer.BadParameter(str(error.args[0])) from None
    console.print(records_table(records, f"{game}: {agent}"))


@app.command()
def compare(
    out: Annotated[Optional[Path], typer.Option(help="Output folder (default results/<timestamp>).")] = None,
    games: Annotated[Optional[list[str]], typer.Option("--game", help="Only these games.")] = None,
    agents: Annotated[Optional[list[str]], typer.Option("--agent", help="Only these agents.")] = None,
    full: Annotated[bool, typer.Option(help="Every dataset instead of the default subset.")] = False,
) -> None:
    """The main job: every agent family on every game -> CSV, JSON, Markdown and PNG figures."""
    from discoverygym.experiments.compare import run_compare

    out_dir = out or Path("results") / time.strftime("compare-%Y%m%d-%H%M%S")
    try:
        run_compare(out_dir, games=games, agents=agents, full=full, console=console)
    except KeyError as error:
        raise typer.BadParameter(str(error.args[0])) from None


@app.command()
def bench(
    game: Annotated[str, typer.Argument(help="binpacking, jobshop or tensor.")],
    quick: Annotated[bool, typer.Option(help="Short measurement (for smoke tests).")] = False,
) -> None:
    """Throughput benchmark of one game, each figure as a ratio to a reference in the same run."""
    from discoverygym.experiments.bench import BENCHMARKS

    if game not in BENCHMARKS:
        raise typer.BadParameter(f"unknown benchmark {game!r}; known: {', '.join(BENCHMARKS)}")
    importlib.import_module(f"discoverygym.experiments.bench.{game}").run(quick=quick)


if __name__ == "__main__":
    app()
