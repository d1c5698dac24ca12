"""How a finished tensor evolution run's selection went (eighth session, README run list).

    python docs/results/tensor_selection.py rescore RUN_DIR [K]   # the K best on train, 32 fresh walks
    python docs/results/tensor_selection.py replay RUN_DIR MARGIN  # best by validation under a margin

`rescore` scores the seed and the run's K best valid, non-duplicate programs on train (by their
logged score) on 32 walks of the training sizes that no split uses (seeds 20-35). `replay`
walks the run's records in sample order and scores on validation every program that was a new
best on train or within MARGIN of it (what `GameSpec.validation_margin` does in the loop; the
prompts and samples do not depend on validation, so the replay is exact), printing each new
best by validation. Every program runs in the sandbox.
"""
from __future__ import annotations

import ast
import json
import sys

import numpy as np

from discoverygym.agents.evolution import code
from discoverygym.agents.evolution.games import TENSOR
from discoverygym.agents.evolution.sandbox import SandboxLimits, evaluate_program

FRESH = tuple(f"{size}:mod2:seed={s}:attempts=200000" for size in ("3x3x3", "2x3x4")
              for s in range(20, 36))


def records(run: str) -> list[dict]:
    with open(f"{run}/samples.jsonl") as log:
        return sorted((json.loads(line) for line in log), key=lambda r: r["sample"])


def source(record: dict) -> str:
    return ast.unparse(code.function_node(record["source"], "propose"))


def rescore(run: str, k: int = 10) -> None:
    ok = [r for r in records(run) if r.get("ok") and not r.get("duplicate")]
    best = sorted(ok, key=lambda r: -r["score"])[:k]
    for label, text in [("seed", TENSOR.seed)] + [(r["sample"], source(r)) for r in best]:
        result = evaluate_program(text, "tensor", "train", datasets=FRESH,
                                  limits=SandboxLimits(timeout_s=900))
        mean = np.mean([result.scores[n] for n in FRESH]) if result.ok else None
        print(f"{label}: {mean:.3f} on {len(FRESH)} fresh walks" if result.ok
              else f"{label}: failed: {result.error}", flush=True)


def replay(run: str, margin: float) -> None:
    with open(f"{run}/checkpoint.json") as file:
        best_train = json.load(file)["stats"]["seed_train"]
    best = ("seed", evaluate_program(TENSOR.seed, "tensor", "validation").score)
    extra = 0
    for r in records(run):
        if not r.get("ok"):
            continue
        new = r["score"] > best_train
        near = r.get("duplicate") != "behaviour" and r["score"] >= best_train - margin
        best_train = max(best_train, r["score"])
        if not (new or near):
            continue
        if "validation" in r:
            value = r["validation"]
        else:
            extra += 1
            value = evaluate_program(source(r), "tensor", "validation").score
        if value is not None and value > best[1]:
            best = (r["sample"], value)
            print(f"new best by validation: sample {r['sample']}, validation {value:.3f}, "
                  f"train {r['score']:.3f}", flush=True)
    print(f"{extra} more validations; the run ends with {best[0]} (validation {best[1]:.3f})")


if __name__ == "__main__":
    command, run, *rest = sys.argv[1:]
    if command == "rescore":
        rescore(run, *(int(x) for x in rest))
    elif command == "replay":
        replay(run, float(rest[0]))
    else:
        sys.exit(f"unknown command {command!r}: rescore or replay")
