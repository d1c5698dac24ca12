"""`discoverygym evolve`: the FunSearch-style search from the command line.

The lead mounts it in experiments/cli.py with
`app.command("evolve")(importlib.import_module("discoverygym.agents.evolution.cli").evolve)`;
it also runs standalone: `python -m discoverygym.agents.evolution.cli --help`.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.live import Live
from rich.text import Text

from discoverygym.agents.evolution.games import GAMES as EVOLUTION_GAMES
from discoverygym.agents.evolution.llm import LLMError
from discoverygym.agents.tracking import report_trial_metrics

console = Console()
DEFAULT_LLM = "qwen2.5-coder-0.5b"


def _line(stats, budget: str) -> Text:
    def fmt(value):
        return "-" if value is None else f"{value:.4f}"

    return Text(
        f"samples {stats.samples}{budget}  valid {100 * stats.valid_fraction:5.1f}%  "
        f"dup {stats.duplicates}+{getattr(stats, 'behavioural_duplicates', 0)}  best train {fmt(stats.best_train)}  "
        f"best validation {fmt(stats.best_validation)} (seed {fmt(stats.seed_validation)})  "
        f"{stats.samples_per_s:.2f} samples/s"
    )


def evolve(
    env: Annotated[str, typer.Option("--env", help=f"Game: {', '.join(EVOLUTION_GAMES)}.")] = "binpacking",
    llm: Annotated[str, typer.Option(help="An embedded model (qwen2.5-coder-0.5b, "
                                          "qwen2.5-coder-1.5b, gemma-270m), "
                                          "openai:<model>@<url> or openai-chat:<model>@<url>; key "
                                          "from DISCOVERYGYM_LLM_API_KEY or OPENAI_API_KEY.")
           ] = DEFAULT_LLM,
    samples: Annotated[Optional[int], typer.Option(help="Stop after N samples in total.")] = None,
    minutes: Annotated[Optional[float], typer.Option(help="Stop after M minutes (this session).")] = None,
    run_dir: Annotated[Optional[Path], typer.Option(help="Run folder: checkpoint, log, best programs (default runs/evolve-<game>-<time>).")] = None,
    resume: Annotated[bool, typer.Option(help="Continue the run in --run-dir.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the database and the LLM sampler.")] = 0,
    workers: Annotated[Optional[int], typer.Option(help="Parallel sandboxes (default: cores).")] = None,
    executor: Annotated[str, typer.Option(help="local or ray.")] = "local",
    ray_address: Annotated[Optional[str], typer.Option(help="Ray cluster address (executor ray).")] = None,
    islands: Annotated[int, typer.Option(help="Number of islands.")] = 10,
    functions_per_prompt: Annotated[int, typer.Option(help="Programs shown per prompt (k).")] = 2,
    samples_per_prompt: Annotated[int, typer.Option(help="LLM samples per prompt.")] = 4,
    temperature_init: Annotated[float, typer.Option(help="Cluster sampling temperature T0.")] = 0.1,
    temperature_period: Annotated[int, typer.Option(help="Temperature schedule period (programs).")] = 30_000,
    reset_period: Annotated[float, typer.Option(help="Island reset period in seconds.")] = 4 * 3600,
    reset_every_samples: Annotated[int, typer.Option(help="Also reset every N samples (0: off).")] = 0,
    seed_variants: Annotated[bool, typer.Option(help="Seed the islands with the game's equivalent "
                                                     "formulations of the seed in turn.")] = True,
    llm_temperature: Annotated[float, typer.Option(help="LLM sampling temperature.")] = 1.0,
    max_tokens: Annotated[int, typer.Option(help="Max tokens per completion.")] = 384,
    llm_threads: Annotated[int, typer.Option(help="CPU threads of the embedded LLM.")] = 1,
    prompt_lookup: Annotated[int, typer.Option(help="Embedded LLM: draft N tokens by prompt "
                                                    "lookup (0: off).")] = 0,
    timeout: Annotated[Optional[float], typer.Option(help="Per-evaluation wall-clock limit, s.")] = None,
    memory_mb: Annotated[int, typer.Option(help="Per-evaluation address-space limit, MiB.")] = 2048,
    train: Annotated[Optional[list[str]], typer.Option(help="Override the training datasets.")] = None,
    validation: Annotated[Optional[list[str]], typer.Option(help="Override the validation datasets.")] = None,
    test: Annotated[Optional[list[str]], typer.Option(help="Override the test datasets.")] = None,
    checkpoint_every: Annotated[float, typer.Option(help="Periodic checkpoint, seconds.")] = 60.0,
    ship: Annotated[Optional[Path], typer.Option(help="After the run, export the best program to "
                                                 "this .py path with the run's summary and "
                                                 "progress curve beside it.")] = None,
    wandb: Annotated[bool, typer.Option(help="Log to W&B (offline unless WANDB_MODE/API key).")] = True,
    wandb_project: Annotated[str, typer.Option(help="W&B project.")] = "discoverygym-evolve",
    allow_weak_sandbox: Annotated[bool, typer.Option(
        "--allow-weak-sandbox", help="Run even where the machine refuses a sandbox layer "
                                     "(printed and recorded in the run's sandbox.json).")] = False,
    method: Annotated[str, typer.Option(help="funsearch (completion prompts, any model) or eoh "
                                             "(Evolution of Heuristics: chat prompts with ideas "
                                             "and operators, instruct models).")] = "funsearch",
    population_size: Annotated[int, typer.Option(help="EoH: population size N.")] = 10,
    operators: Annotated[str, typer.Option(help="EoH: operators in turn, comma-separated "
                                                "(e1, e2, m1, m2, m3).")] = "e1,e2,m1,m2",
    init_samples: Annotated[int, typer.Option(help="EoH: i1 samples (a new algorithm from the "
                                                   "task alone) before the operators; 0: start "
                                                   "from the seed.")] = 0,
    reject_behavioural_duplicates: Annotated[bool, typer.Option(
        "--reject-behavioural-duplicates/--keep-behavioural-duplicates", help="FunSearch: keep a valid program with the same per-input scores as one on its "
             "island out of the database (and so out of prompts).")] = True,
    tune: Annotated[bool, typer.Option(help="Tune the numeric constants of each new best "
                                            "program on train with optuna (either method).")] = False,
    tune_trials: Annotated[int, typer.Option(help="Sandboxed evaluations per tuned program.")] = 12,
    tune_sampler: Annotated[str, typer.Option(help="Tuning optimiser: tpe or cmaes.")] = "tpe",
) -> None:
    """Evolve a game's priority function with an LLM (FunSearch), sandboxed and resumable."""
    if run_dir is None:
        if resume:
            raise typer.BadParameter("--resume needs the --run-dir of the run to continue")
        run_dir = Path("runs") / f"evolve-{env}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    from dataclasses import asdict

    from discoverygym.agents.evolution.database import DatabaseConfig
    from discoverygym.agents.evolution.executor import make_executor
    from discoverygym.agents.evolution.games import get_game
    from discoverygym.agents.evolution.llm import SamplingConfig, make_backend
    from discoverygym.agents.evolution.sandbox import SandboxLimits
    from discoverygym.agents.evolution.eoh import EoHConfig
    from discoverygym.agents.evolution.search import EvolutionConfig, make_evolution
    from discoverygym.agents.evolution.tune import TuneConfig

    if samples is None and minutes is None:
        raise typer.BadParameter("give a budget: --samples N and/or --minutes M")
    sandbox = _sandbox_or_exit(env, allow_weak_sandbox)
    try:
        spec = get_game(env)
        config = EvolutionConfig(
            database=DatabaseConfig(
                functions_per_prompt=functions_per_prompt, num_islands=islands,
                reset_period=reset_period, cluster_sampling_temperature_init=temperature_init,
                cluster_sampling_temperature_period=temperature_period,
                reset_every_samples=reset_every_samples,
                reject_behavioural_duplicates=reject_behavioural_duplicates),
            samples_per_prompt=samples_per_prompt, seed=seed, checkpoint_every_s=checkpoint_every,
            limits=SandboxLimits(timeout_s=timeout, memory_mb=memory_mb),
            train_datasets=tuple(train) if train else None,
            validation_datasets=tuple(validation) if validation else None,
            test_datasets=tuple(test) if test else None, seed_variants=seed_variants,
            method=method,
            eoh=EoHConfig(population_size=population_size, init_samples=init_samples,
                          operators=tuple(op.strip() for op in operators.split(",") if op.strip())),
            tune=TuneConfig(trials=tune_trials, sampler=tune_sampler) if tune else None)
        backend = make_backend(llm, SamplingConfig(max_tokens=max_tokens,
                                                   temperature=llm_temperature, seed=seed),
                               threads=llm_threads, prompt_lookup=prompt_lookup)
        evolution = make_evolution(spec, backend, run_dir, config,
                                   make_executor(executor, workers, ray_address), resume=resume)
    except (KeyError, ValueError, FileExistsError, ImportError) as error:
        raise typer.BadParameter(str(error.args[0] if error.args else error)) from None
    sandbox_file = Path(run_dir) / "sandbox.json"
    sandbox_file.write_text(json.dumps(sandbox, indent=2) + "\n")
    sandbox_file.chmod(0o600)
    tracker = None
    if wandb:
        from discoverygym.agents.evolution.tracking import WandbTracker

        tracker = WandbTracker(run_dir, {"game": env, "llm": backend.name, "seed": seed,
                                         "database": asdict(config.database),
                                         "samples_per_prompt": samples_per_prompt,
                                         "sandbox": sandbox, "method": method, "tune": tune},
                                         wandb_project)
    budget = f"/{samples}" if samples else ""
    with Live(Text("starting: scoring the seed program..."), console=console,
              refresh_per_second=4, transient=False) as live:
        def progress(stats) -> None:
            live.update(_line(stats, budget))
            if tracker is not None:
                tracker.log(stats)

        try:
            result = evolution.run(samples=samples, minutes=minutes, progress=progress)
        except LLMError as error:
            live.update(Text(f"stopped: {error}", style="red"))
            if tracker is not None:
                tracker.finish({})
            console.print(f"The LLM failed; the run so far is saved in {run_dir} "
                          "(continue it with --resume).")
            raise typer.Exit(1) from None
        live.update(_line(result.stats, budget))
    if tracker is not None:
        tracker.log(result.stats, force=True)
        tracker.finish({f"best_{k}": v for k, v in result.best_scores.items()})
    report_trial_metrics({f"best_{k}": v for k, v in result.best_scores.items() if v is not None})
    console.print(f"best program: {result.best_path}  scores: "
                  + ", ".join(f"{k} {v:.4f}" for k, v in result.best_scores.items() if v is not None))
    console.print(f"log: {run_dir / 'samples.jsonl'}  checkpoint: {run_dir / 'checkpoint.json'}")
    if ship is not None and result.best_path is not None:
        from discoverygym.agents.evolution.export import ship_program

        shipped = ship_program(run_dir, ship)
        console.print(f"shipped: {shipped} (+ {shipped.with_suffix('.summary.json').name}, "
                      f"{shipped.with_suffix('.curve.png').name})")


def _sandbox_or_exit(game: str, allow_weak: bool) -> dict:
    """The sandbox layers that hold here (scoring the seed once); exit naming each missing one
    and how to get it, unless `allow_weak` (then say so). Returned for the run's metadata."""
    from discoverygym.agents.evolution.isolation import missing_layers
    from discoverygym.agents.evolution.sandbox import sandbox_check

    try:
        layers = sandbox_check(game)
    except (KeyError, RuntimeError) as error:
        raise typer.BadParameter(str(error.args[0] if error.args else error)) from None
    missing = missing_layers(layers)
    for layer, how in missing.items():
        console.print(f"[yellow]sandbox layer missing: {layer}[/yellow]: {how}")
    if missing and not allow_weak:
        console.print("[red]refusing to run candidates in a weaker sandbox; fix the above or pass "
                      "--allow-weak-sandbox (recorded in the run)[/red]")
        raise typer.Exit(2)
    if missing:
        console.print(f"[yellow]--allow-weak-sandbox: running without {', '.join(missing)}[/yellow]")
    return {"layers": layers, "missing": sorted(missing), "allow_weak_sandbox": allow_weak}


app = typer.Typer(add_completion=False)
app.command()(evolve)

if __name__ == "__main__":
    app()
