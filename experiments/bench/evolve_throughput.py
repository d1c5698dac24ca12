"""Distinct valid programs per hour of the evolution loop: one configuration against another.

Issue 15's throughput goal counts the programs a search can use: valid, and neither a text
duplicate nor a behavioural one (the same per-input scores as an earlier valid program). This
runs `discoverygym evolve` twice for the same wall clock, model and seed, one configuration
after the other on an otherwise idle machine (`--order ab`, or `abba` for two pairs with the
reference first and last, so a drift in the machine's speed hits both alike), and reports for
each run the samples, the valid fraction, the distinct valid programs per hour and the best
validation score (quality at equal budget), then the ratio of distinct valid programs per hour
of each pair, candidate over reference.

Distinct programs are counted from each run's log by the same rule for both configurations (a
valid record whose rounded per-input score signature no earlier valid record of the run had),
whatever the run's database did with behavioural duplicates.

    python -m discoverygym.experiments.bench.evolve_throughput --minutes 10 \\
        --reference "--workers 1 --keep-behavioural-duplicates" --candidate ""
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any


def signature(scores: dict[str, float]) -> tuple[tuple[str, float], ...]:
    """A program's behaviour: its per-input scores, rounded so float noise does not split it."""
    return tuple(sorted((key, round(float(value), 9)) for key, value in scores.items()))


def log_summary(run_dir: Path) -> dict[str, Any]:
    """Samples, valid and distinct valid programs of a run's log, and its best validation."""
    from discoverygym.agents.evolution.checkpoint import load_checkpoint
    from discoverygym.agents.evolution.samplelog import read_log

    records = list(read_log(run_dir))
    seen: set[tuple[tuple[str, float], ...]] = set()
    valid = distinct = 0
    for record in sorted(records, key=lambda r: r["sample"]):
        if not (record.get("ok") and record.get("score") is not None):
            continue
        valid += 1
        key = signature(record.get("scores") or {"score": record["score"]})
        if key not in seen:
            seen.add(key)
            distinct += 1
    stats = (load_checkpoint(run_dir) or {}).get("stats", {})
    return {"samples": len(records), "valid": valid, "distinct": distinct,
            "seconds": float(stats.get("elapsed_s", 0.0)),
            "best_validation": stats.get("best_validation"),
            "seed_validation": stats.get("seed_validation")}


def run_once(options: str, minutes: float, run_dir: Path, game: str, llm: str, seed: int) -> dict[str, Any]:
    """One `discoverygym evolve` run with `options` (a command-line fragment); its summary."""
    command = [sys.executable, "-m", "discoverygym.experiments.cli", "evolve", "--env", game,
               "--llm", llm, "--seed", str(seed), "--minutes", str(minutes), "--run-dir",
               str(run_dir), "--no-wandb", *shlex.split(options)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    summary = log_summary(run_dir)
    hours = summary["seconds"] / 3600 or float("nan")
    summary.update(options=options, per_hour=summary["samples"] / hours,
                   distinct_per_hour=summary["distinct"] / hours)
    return summary


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="Wall clock per run.")
    parser.add_argument("--reference", default="--workers 1 --keep-behavioural-duplicates",
                        help="evolve options of the reference configuration.")
    parser.add_argument("--candidate", default="", help="evolve options of the candidate (default: the defaults).")
    parser.add_argument("--order", choices=("ab", "abba"), default="ab")
    parser.add_argument("--game", default="binpacking")
    parser.add_argument("--llm", default="qwen2.5-coder-0.5b")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="Keep the run folders here.")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="evolve-throughput-"))
    runs = []
    for index, which in enumerate(args.order):
        options = args.reference if which == "a" else args.candidate
        summary = run_once(options, args.minutes, out / f"{index}-{which}", args.game, args.llm, args.seed)
        summary["config"] = "reference" if which == "a" else "candidate"
        runs.append(summary)
        print(f"{summary['config']:9s} [{options or 'defaults'}]: {summary['samples']} samples, "
              f"{summary['valid']} valid, {summary['distinct']} distinct "
              f"({summary['distinct_per_hour']:.0f} per hour) in {summary['seconds']:.0f} s; "
              f"best validation {summary['best_validation']} (seed {summary['seed_validation']})",
              flush=True)
    reference = [r for r in runs if r["config"] == "reference"]
    candidate = [r for r in runs if r["config"] == "candidate"]
    for a, b in zip(reference, candidate):
        print(f"ratio (candidate / reference) of distinct valid programs per hour: "
              f"{b['distinct_per_hour'] / a['distinct_per_hour']:.2f}")
    (out / "throughput.json").write_text(json.dumps(runs, indent=2) + "\n")
    print(f"runs and throughput.json in {out}")
    return runs


if __name__ == "__main__":
    main()
