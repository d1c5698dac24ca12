"""The main job: every agent family on every game, written as tables and figures.

Reads top to bottom: pick suites, loop over (game, dataset, agent), collect records, write
`summary.csv`, `summary.json`, `report.md` and one bar chart per game under `results/<run>/`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from discoverygym.agents.records import COLUMNS, Record, write_csv, write_json
from discoverygym.experiments import plots
from discoverygym.experiments.evaluate import evaluate
from discoverygym.experiments.suites import (
    GAMES,
    Suite,
    available_suites,
    get_suite,
    split_samples,
)


@dataclass
class CompareResult:
    """Where `compare` wrote its outputs, the records themselves, and the (game, dataset,
    agent, error) of every evaluation that failed."""

    out_dir: Path
    records: list[Record]
    figures: list[Path]
    failures: list[tuple[str, str, str, str]] = field(default_factory=list)


def _select_suites(games: Sequence[str] | None) -> list[Suite]:
    if not games:
        return available_suites()
    return [get_suite(game) for game in games]


def records_table(records: Sequence[Record], title: str) -> Table:
    """A rich table of records (one row each); names fold onto a second line, never cut."""
    table = Table(title=title)
    for column in ("dataset", "agent", "family", "metric", "value", "bound", "gap %", "seconds"):
        text = column in ("dataset", "agent", "family", "metric")
        table.add_column(column, justify="left" if text else "right", overflow="fold")
    for r in records:
        table.add_row(
            r.dataset,
            r.agent,
            r.family,
            r.metric,
            f"{r.value:.4g}",
            "" if r.bound is None else f"{r.bound:.4g}",
            "" if r.gap is None else f"{r.gap:.2f}",
            f"{r.seconds:.2f}",
        )
    return table


def print_table(console: Console, table: Table) -> None:
    """Print `table` keeping whole names: in a terminal at its width (long names fold); written to
    a pipe or a log file (no terminal, where rich would assume 80 columns) as wide as it needs."""
    if console.is_terminal:
        console.print(table)
        return
    needed = console.measure(table, options=console.options.update_width(1 << 16)).maximum
    if needed <= console.width:
        console.print(table)
        return
    Console(file=console.file, width=needed, no_color=console.no_color, highlight=False).print(table)


def markdown_table(records: Sequence[Record]) -> str:
    """The records of one game as a Markdown table: datasets as rows, agents as columns."""
    datasets = list(dict.fromkeys(r.dataset for r in records))
    agents = list(dict.fromkeys(r.agent for r in records))
    use_gap = all(r.gap is not None for r in records)
    cell = {(r.dataset, r.agent): (r.gap if use_gap else r.value) for r in records}
    bound = {r.dataset: r.bound for r in records}
    header = "| dataset | bound | " + " | ".join(agents) + " |"
    lines = [header, "|" + "---|" * (len(agents) + 2)]
    for d in datasets:
        values = [cell.get((d, a)) for a in agents]
        fmt = [("" if v is None else (f"{v:.2f}" if use_gap else f"{v:.4g}")) for v in values]
        b = "" if bound[d] is None else f"{bound[d]:.4g}"
        lines.append(f"| {d} | {b} | " + " | ".join(fmt) + " |")
    unit = "gap to the bound in percent" if use_gap else records[0].metric
    return f"Values: {unit}.\n\n" + "\n".join(lines)


def _sampled_agents(
    suite: Suite, names: list[str], agents: Sequence[str] | None, samples: Sequence[int]
) -> list[str]:
    """The ``<model>@K`` agents of a suite: each K of `samples` for its RL models among `names`,
    and those named in `agents` whose model is the suite's."""
    from discoverygym.agents.rl.evaluate import shipped_models

    models = set(shipped_models(suite.game))
    extra = [f"{a}@{k}" for a in names if a in models for k in samples]
    extra += [a for a in agents or () if split_samples(a)[1] and split_samples(a)[0] in models]
    return list(dict.fromkeys(a for a in extra if a not in names))


def sampling_costs(records: Sequence[Record]) -> str:
    """A Markdown list of what decoding by sampling cost: each ``<model>@K`` record's K and
    seconds beside its greedy record's seconds ("" when there is none)."""
    greedy = {(r.dataset, r.agent): r.seconds for r in records}
    lines = []
    for r in records:
        count = int(r.compute.get("samples", 0))
        if not count:
            continue
        base = split_samples(r.agent)[0]
        ref = greedy.get((r.dataset, base))
        against = f" (greedy: {ref:.1f} s)" if ref is not None else ""
        lines.append(f"- {r.agent} on {r.dataset}: best of {count} sampled rollouts per instance, "
                     f"{r.seconds:.1f} s{against}")
    return "Decoding by sampling, evaluation cost:\n\n" + "\n".join(lines) if lines else ""


def log_to_wandb(result: CompareResult, config: dict, mode: str | None = None) -> Path:
    """Log the records (as a table and summary values) and the figures as one W&B run."""
    import wandb

    from discoverygym.agents.tracking import wandb_mode

    run = wandb.init(project="discoverygym", job_type="compare", config=config, mode=wandb_mode(mode),
                     dir=os.environ.get("WANDB_DIR") or str(result.out_dir), name=result.out_dir.name,
                     reinit="finish_previous")
    columns = [c for c in COLUMNS if c != "compute"] + ["compute"]
    table = wandb.Table(columns=columns)
    for r in result.records:
        table.add_data(*[getattr(r, c) if c != "compute" else json.dumps(r.compute) for c in columns])
    run.log({"summary": table, **{f"figures/{p.stem}": wandb.Image(str(p)) for p in result.figures}})
    run.summary.update({f"{r.game}/{r.dataset}/{r.agent}/{r.metric}": r.value for r in result.records})
    run.finish()
    return Path(run.dir).parent


def run_compare(
    out_dir: Path,
    games: Sequence[str] | None = None,
    agents: Sequence[str] | None = None,
    full: bool = False,
    console: Console | None = None,
    wandb: bool = True,
    samples: Sequence[int] = (),
    reuse: Sequence[Sequence[Record]] = (),
    reuse_from: str = "",
) -> CompareResult:
    """Run the comparison and write its outputs into `out_dir` (and a W&B run, offline by default).

    `samples`: for each K, every RL model also plays as ``<model>@K`` (the best of K sampled
    rollouts per instance, beside its greedy self); ``agents`` may also name ``<model>@K``.
    `reuse`: the records of earlier comparisons, one sequence per comparison (``compare --reuse
    DIR``, named in `reuse_from`); a (game, dataset, agent) they already score is taken from them
    instead of being played again, a later comparison's over an earlier one's, so a comparison
    can be completed or extended with new agents. They are taken as they are: reuse only records
    of agents that have not changed since.
    """
    console = console or Console()
    suites = _select_suites(games)
    jobs = []
    for suite in suites:
        names = [a for a in suite.agent_names() if not agents or a in agents]
        names += _sampled_agents(suite, names, agents, samples)
        jobs += [(suite, dataset, agent) for dataset in suite.datasets(full) for agent in names]

    earlier: dict[tuple[str, str, str], list[Record]] = {}
    for comparison in reuse:
        grouped: dict[tuple[str, str, str], list[Record]] = {}
        for record in comparison:
            grouped.setdefault((record.game, record.dataset, record.agent), []).append(record)
        earlier.update(grouped)  # a later comparison's result wins
    records: list[Record] = []
    reused = 0
    failures: list[tuple[str, str, str, str]] = []  # (game, dataset, agent, error)
    out_dir.mkdir(parents=True, exist_ok=True)
    with Progress(console=console, transient=False) as progress:
        task = progress.add_task("compare", total=len(jobs))
        for suite, dataset, agent in jobs:
            if (suite.game, dataset, agent) in earlier:
                records += earlier[(suite.game, dataset, agent)]
                reused += 1
                progress.advance(task)
                continue
            progress.update(task, description=f"{suite.game}: {agent} on {dataset}")
            try:
                records += evaluate(agent, suite.game, dataset, suite=suite)  # the one scoring path
            except (ValueError, RuntimeError, ArithmeticError, TypeError) as error:
                # One agent failing on one set (an evolved program that returns NaN on data unlike
                # its training data, say) is a result to report, not the end of the comparison.
                failures.append((suite.game, dataset, agent, f"{type(error).__name__}: {error}"))
                console.print(f"[red]{suite.game}: {agent} failed on {dataset}:[/red] "
                              f"{failures[-1][-1]}")
            write_csv(records, out_dir / "summary.csv")  # nothing lost on a crash
            progress.advance(task)

    write_csv(records, out_dir / "summary.csv")  # also when every result was reused
    write_json(records, out_dir / "summary.json")
    header = f"# discoverygym comparison\n\nWritten {time.strftime('%Y-%m-%d %H:%M')}."
    if reused:
        header += (f" {reused} of the {len(jobs)} (game, dataset, agent) results were taken from "
                   f"the earlier comparison {reuse_from or '(given records)'}; the rest were played now.")
    figures, sections = [], [header]
    for game in GAMES:
        game_records = [r for r in records if r.game == game]
        if not game_records:
            continue
        suite = next(s for s in suites if s.game == game)
        game_figures = [plots.bar_chart(game_records, f"{game}: {game_records[0].metric}", out_dir / f"{game}.png")]
        game_figures += suite.figures(game_records, out_dir)
        figures += game_figures
        images = "\n\n".join(f"![{f.stem}]({f.name})" for f in game_figures)
        costs = sampling_costs(game_records)
        table = markdown_table(game_records) + (f"\n\n{costs}" if costs else "")
        sections.append(f"## {game}\n\n{table}\n\n{images}")
        print_table(console, records_table(game_records, game))
    if failures:
        rows = "\n".join(f"| {g} | {d} | {a} | {e.replace('|', '/')} |" for g, d, a, e in failures)
        sections.append("## Failures\n\nAgents that failed on a set (no record, nothing "
                        f"scored):\n\n| game | dataset | agent | error |\n|---|---|---|---|\n{rows}")
    if records:
        figures.append(plots.quality_vs_compute(records, out_dir / "quality_vs_compute.png"))
        sections.append(f"## Quality against training compute\n\n![quality_vs_compute]({figures[-1].name})")
    (out_dir / "report.md").write_text("\n\n".join(sections) + "\n")
    result = CompareResult(out_dir=out_dir, records=records, figures=figures, failures=failures)
    if wandb:
        config = {"games": [s.game for s in suites], "agents": list(agents or []), "full": full,
                  "samples": list(samples)}
        console.print(f"W&B run: {log_to_wandb(result, config)}")
    console.print(f"Wrote {out_dir}/summary.csv, summary.json, report.md and {len(figures)} figure(s).")
    return result
