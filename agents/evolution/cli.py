"""`discoverygym evolve`: the FunSearch-style search from the command line.

The lead mounts it in experiments/cli.py with
`app.command("evolve")(importlib.import_module("discoverygym.agents.evolution.cli").evolve)`;
it also runs standalone: `python -m discoverygym.agents.evolution.cli --help`.
"""

from __future__ import annotations

import ast
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
    seed: Annotated[Optional[int], typer.Option(help="Seed of the database and the LLM sampler "
                                                "(default 0; with --resume, the run's).")] = None,
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
    top_p: Annotated[float, typer.Option(help="LLM nucleus sampling: keep the most likely "
                                              "tokens up to this probability mass.")] = 0.95,
    top_k: Annotated[Optional[int], typer.Option(help="LLM: keep the K most likely tokens (0: off; "
                                                      "default: the backend's, 40 embedded).")] = None,
    min_p: Annotated[Optional[float], typer.Option(help="LLM: drop tokens below P x the top "
                                                        "token's probability (0: off; default: "
                                                        "the backend's, 0.05 embedded).")] = None,
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
    start_from: Annotated[Optional[Path], typer.Option(
        help="Start the islands from this program file (an earlier run's best.py or a shipped "
             "evolved program) instead of the game's seed.")] = None,
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
    from discoverygym.agents.evolution.search import (
        EvolutionConfig,
        SeedFailure,
        make_evolution,
        sampling_settings,
    )
    from discoverygym.agents.evolution.tune import TuneConfig

    if samples is None and minutes is None:
        raise typer.BadParameter("give a budget: --samples N and/or --minutes M")
    if seed is None:
        try:
            seed = _run_seed(run_dir) if resume else 0
        except ValueError as error:  # a corrupt checkpoint, named
            raise typer.BadParameter(str(error)) from None
    sandbox = _sandbox_or_exit(env, allow_weak_sandbox)
    try:
        spec = get_game(env)
        started = None
        if start_from is not None:
            from discoverygym.agents.evolution.export import start_from as seeded_with

            spec, started = seeded_with(spec, start_from)
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
            tune=TuneConfig(trials=tune_trials, sampler=tune_sampler) if tune else None,
            start_from=started)
        backend = make_backend(llm, SamplingConfig(max_tokens=max_tokens, temperature=llm_temperature,
                                                   top_p=top_p, top_k=top_k, min_p=min_p, seed=seed),
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
                                         "sampling": sampling_settings(backend),
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
        except (LLMError, SeedFailure) as error:
            live.update(Text(f"stopped: {error}", style="red"))
            if tracker is not None:
                tracker.finish({})
            if isinstance(error, SeedFailure):
                raise typer.BadParameter(str(error)) from None
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
    if result.interrupted:
        console.print(f"interrupted after {result.stats.samples} samples; the run is saved in "
                      f"{run_dir} (continue it with --resume)", style="yellow")
        raise typer.Exit(130)


def _run_seed(run_dir: Path) -> int:
    """The seed recorded in the checkpoint of the run to resume (0 when there is none yet)."""
    from discoverygym.agents.evolution.checkpoint import load_checkpoint

    state = load_checkpoint(Path(run_dir))
    return int(((state or {}).get("config") or {}).get("seed", 0))


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


def tune_command(
    program: Annotated[Path, typer.Argument(help="A program file with the game's function (an "
                                                 "evolved program, or any file defining it).")],
    env: Annotated[str, typer.Option("--env", help=f"Game: {', '.join(EVOLUTION_GAMES)} "
                                                   "(default: the program's metadata).")] = "",
    trials: Annotated[int, typer.Option(help="Sandboxed training evaluations.")] = 100,
    sampler: Annotated[str, typer.Option(help="tpe or cmaes.")] = "tpe",
    floats: Annotated[bool, typer.Option(help="Tune the int literals of arithmetic as floats too.")] = False,
    max_params: Annotated[int, typer.Option(help="The most literals tuned (floats first).")] = 6,
    scale: Annotated[float, typer.Option(help=r"A literal v ranges over \[v / scale, v * scale].")] = 4.0,
    seed: Annotated[int, typer.Option(help="Seed of the optimiser.")] = 0,
    train: Annotated[Optional[list[str]], typer.Option(help="Override the training datasets.")] = None,
    validation: Annotated[Optional[list[str]], typer.Option(help="Override the validation datasets.")] = None,
    test: Annotated[Optional[list[str]], typer.Option(help="Override the test datasets.")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Write the tuned program here (with "
                                                "<stem>.summary.json and <stem>.curve.png) "
                                                "when it beats the original on train.")] = None,
) -> None:
    """Tune the numeric constants of a finished program on train (optuna, every trial sandboxed).

    The LLM proposed the program's form; a cheap optimiser picks its constants (X-evolve,
    LLM-SR). The original and the tuned program are then scored on validation and test, so
    that a gain on train that does not hold out shows. Scores are the game's (higher is better).
    """
    from concurrent.futures import ThreadPoolExecutor

    from rich.progress import Progress
    from rich.table import Table

    from discoverygym.agents.evolution import code
    from discoverygym.agents.evolution.export import read_metadata
    from discoverygym.agents.evolution.games import get_game
    from discoverygym.agents.evolution.sandbox import evaluate_program
    from discoverygym.agents.evolution.tune import TuneConfig, literals, tune_program

    metadata = read_metadata(program) if program.is_file() else {}
    game = env or metadata.get("game") or ""
    try:
        spec = get_game(game)
        config = TuneConfig(trials=trials, max_params=max_params, sampler=sampler, scale=scale,
                            ints_as_floats=floats)
        source = ast.unparse(code.function_node(program.read_text(), spec.function_name))
        found = literals(source, max_params)
    except KeyError as error:
        raise typer.BadParameter(f"--env {game!r}: {error.args[0]}") from None
    except OSError as error:
        raise typer.BadParameter(f"{program}: {error.strerror}") from None
    except SyntaxError as error:
        raise typer.BadParameter(f"{program}:{error.lineno}: {error.msg}") from None
    except ValueError as error:
        raise typer.BadParameter(f"{program}: {error}") from None
    if not found:
        console.print(f"{program}: no tunable literal in {spec.function_name}; nothing to do")
        raise typer.Exit(1)
    sandbox = _sandbox_or_exit(game, False)
    overrides = {"train": train, "validation": validation, "test": test}
    datasets = {split: tuple(overrides[split]) if overrides[split] else spec.datasets(split)
                for split in ("train", "validation", "test")}

    def score(candidate: str, split: str) -> float | None:
        result = evaluate_program(candidate, game, split, datasets=datasets[split])
        if not result.ok:
            console.print(f"[yellow]{split}: {result.error}[/yellow]")
        return result.score if result.ok else None

    before = {"train": score(source, "train")}
    if before["train"] is None:
        console.print(f"[red]{program}: the program fails on train; nothing to tune[/red]")
        raise typer.Exit(1)
    history: list[float | None] = []
    with ThreadPoolExecutor(1) as pool, Progress(console=console) as bar:
        task = bar.add_task(f"tuning {len(found)} literal(s)", total=trials)

        def on_trial(number: int, value: float | None) -> None:
            history.append(value)
            best = max((v for v in history if v is not None), default=None)
            bar.update(task, completed=number,
                       description=f"tuning: best train {best if best is None else round(best, 4)} "
                                   f"(original {before['train']:.4f})")

        outcome = tune_program(source, before["train"],
                               lambda s: pool.submit(evaluate_program, s, game, "train",
                                                     datasets=datasets["train"]),
                               config, seed=seed, on_trial=on_trial)
    for split in ("validation", "test"):
        before[split] = score(source, split)
    after = {"train": outcome.result.score if outcome.result else None}
    if outcome.source is not None:
        for split in ("validation", "test"):
            after[split] = score(outcome.source, split)
    table = Table(title=f"{program.name}: {spec.metric}")
    for column in ("split", "original", "tuned"):
        table.add_column(column)
    for split in ("train", "validation", "test"):
        fmt = [("-" if v is None else f"{v:.4f}") for v in (before.get(split), after.get(split))]
        table.add_row(f"{split} ({', '.join(datasets[split])})", *fmt)
    console.print(table)
    console.print(f"{outcome.trials} trials, {outcome.eval_seconds:.0f} s of sandboxed evaluation")
    if outcome.source is None:
        console.print("no trial beat the original on train; nothing written")
        return
    console.print(outcome.source, soft_wrap=True, highlight=False)
    if out is not None:
        _write_tuned(out, program, game, outcome, config, seed, datasets, before, after, history,
                     metadata, sandbox)


def _write_tuned(out, program, game, outcome, config, seed, datasets, before, after, history,
                 metadata, sandbox) -> None:
    """The tuned program with its metadata, `.summary.json` (with its SHA-256) and `.curve.png`."""
    from dataclasses import asdict

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from discoverygym.agents.evolution.checkpoint import atomic_write_text
    from discoverygym.agents.evolution.export import source_sha256, write_program

    compute = dict(metadata.get("compute", {}))
    compute["tune_trials"] = outcome.trials
    compute["eval_seconds"] = round(float(compute.get("eval_seconds", 0.0)) + outcome.eval_seconds, 1)
    compute["cpu_seconds"] = round(float(compute.get("cpu_seconds", 0.0)) + outcome.eval_seconds, 1)
    tuned_meta = {k: v for k, v in metadata.items() if k not in ("game", "scores", "compute", "datasets")}
    tuned_meta.update(scores=after, compute=compute, datasets={k: list(v) for k, v in datasets.items()},
                      tuned_from=str(program.name), tuned_from_sha256=source_sha256(program))
    write_program(out, outcome.source, game, tuned_meta)
    summary = {"tuned_from": str(program), "tuned_from_sha256": source_sha256(program),
               "tune": {**asdict(config), "seed": seed, "params": outcome.params,
                        "eval_seconds": round(outcome.eval_seconds, 1)},
               "scores_before": before, "scores_after": after, "trial_scores": history,
               "sandbox": sandbox, "source_sha256": source_sha256(out)}
    atomic_write_text(out.with_suffix(".summary.json"), json.dumps(summary, indent=2) + "\n")
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    import numpy as np

    values = np.array([np.nan if v is None else v for v in history], dtype=float)
    best = np.fmax.accumulate(values)  # failed trials (NaN) keep the best so far
    ax.plot(range(1, len(values) + 1), values, ".", alpha=0.4, label="trial")
    ax.plot(range(1, len(best) + 1), best, "-", label="best so far")
    ax.axhline(before["train"], color="grey", ls="--", label="original")
    ax.set(xlabel="trial", ylabel="train score", title=f"tuning {program.name}")
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    fig.savefig(out.with_suffix(".curve.png"), dpi=120)
    plt.close(fig)
    console.print(f"wrote {out} (+ {out.with_suffix('.summary.json').name}, {out.with_suffix('.curve.png').name})")


# Standalone: `python -m discoverygym.agents.evolution.cli` is `evolve` (a single-command app);
# the main CLI mounts `tune_command` as `discoverygym tune` beside it.
app = typer.Typer(add_completion=False)
app.command()(evolve)

if __name__ == "__main__":
    app()
