"""Evolved programs as standalone .py files with a metadata header, and loading them back.

The file is the game's preamble plus the evolved function; its header comments give the
scores on each split, the samples used, the LLM and the seed, and one `# metadata: {json}`
line that `read_metadata` parses.

`load_function` / `load_agent` never execute a user's file in this process: only programs
shipped inside the package (`experiments/models/`) whose source matches the SHA-256 recorded
when they were shipped (`"source_sha256"` in `<stem>.summary.json`, written by `ship_program`)
run in-process. Any other file is loaded into a persistent sandboxed child
(`served.SandboxedFunction`) that answers the function's calls; the game's agent then plays
through it. Tensor programs (whose calls take the walk's whole state) are not served: they
are played in the sandbox, shipped or not, by `proposals.SandboxedFlipGraphAgent`.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from discoverygym.agents.evolution import code
from discoverygym.agents.evolution.checkpoint import atomic_write_text, load_checkpoint
from discoverygym.agents.evolution.curve import plot_curve, progress_curve
from discoverygym.agents.evolution.games import GameSpec, get_game
from discoverygym.agents.shipped import models_dir

MARK = "# metadata: "


def program_text(source: str, game: str, metadata: dict[str, Any]) -> str:
    """The .py text of an evolved program with its header."""
    spec = get_game(game)
    scores = metadata.get("scores", {})
    lines = [
        f"# discoverygym evolved program: {game}.{spec.function_name}",
        f"# scores ({spec.metric}): "
        + ", ".join(f"{split} {value:.4f}" for split, value in scores.items() if value is not None),
        f"# samples used: {metadata.get('samples')} (found at sample {metadata.get('sample')}); "
        f"llm: {metadata.get('llm')}; seed: {metadata.get('seed')}",
        MARK + json.dumps(metadata, sort_keys=True),
    ]
    function = code.rename_function(source, spec.function_name)
    return "\n".join(lines) + "\n" + spec.preamble.rstrip() + "\n\n\n" + function + "\n"


def write_program(path: Path, source: str, game: str, metadata: dict[str, Any]) -> Path:
    atomic_write_text(Path(path), program_text(source, game, {"game": game, **metadata}))
    return Path(path)


def read_metadata(path: Path) -> dict[str, Any]:
    """The metadata line of an exported program ({} when there is none)."""
    return metadata_of(Path(path).read_text())


def metadata_of(text: str) -> dict[str, Any]:
    """The metadata line of an exported program's text ({} when there is none)."""
    for line in text.splitlines():
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])
    return {}


def source_sha256(path: Path) -> str:
    """The SHA-256 (hex) of a program file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def is_trusted(path: Path) -> bool:
    """True for a program shipped inside the package whose bytes match the SHA-256 recorded in
    its `<stem>.summary.json` when it was shipped."""
    path = Path(path).resolve()
    if path.parent != models_dir() or path.is_symlink():
        return False
    summary = path.with_suffix(".summary.json")
    try:
        recorded = json.loads(summary.read_text()).get("source_sha256")
    except (OSError, ValueError, AttributeError):
        return False
    return isinstance(recorded, str) and recorded == source_sha256(path)


def load_function(path: Path, game: str | None = None) -> Callable:
    """The evolved function of a program file: executed here only when `is_trusted(path)`,
    else served from a sandboxed child (`served.SandboxedFunction`; ValueError when the
    program does not load there or the game's calls cannot be served)."""
    path = Path(path)
    game = game or read_metadata(path).get("game") or "binpacking"
    name = get_game(game).function_name
    if not is_trusted(path):
        if game == "tensor":
            raise ValueError(f"{path}: a tensor program from outside the package is not run "
                             "in-process; play it with proposals.SandboxedFlipGraphAgent "
                             "(`discoverygym evaluate --game tensor --agent PROGRAM.py`)")
        from discoverygym.agents.evolution.served import SandboxedFunction

        source = code.function_source(path.read_text(), name)
        return SandboxedFunction(source, game, name=str(path))
    namespace: dict[str, Any] = {"__name__": f"evolved_{path.stem}"}
    exec(compile(path.read_text(), str(path), "exec"), namespace)  # noqa: S102 - shipped, hash checked
    if name not in namespace:
        raise ValueError(f"{path}: no function {name!r} defined")
    function = namespace[name]

    @functools.wraps(function)
    def quiet(*args: Any, **kwargs: Any) -> Any:
        # Evolved programs rank with numpy's IEEE rules (x / 0 -> inf for a perfect fit); the
        # sandbox discards their warnings, and so does the in-process path.
        with np.errstate(all="ignore"):
            return function(*args, **kwargs)

    return quiet


def load_agent(path: Path, game: str | None = None):
    """An `Agent` (family "evolved") playing the exported program, for evaluate/compare."""
    path = Path(path)
    game = game or read_metadata(path).get("game") or "binpacking"
    module_name, function = get_game(game).agent_factory.split(":")
    agent = getattr(importlib.import_module(module_name), function)(load_function(path, game))
    try:
        agent.name, agent.family = f"evolved:{path.stem}", "evolved"
    except AttributeError:
        pass
    return agent


def start_from(spec: GameSpec, path: Path) -> tuple[GameSpec, dict[str, str]]:
    """`spec` with the function of program file `path` as its seed, and the provenance
    (``{"file", "sha256"}``) to record: ``evolve --start-from`` continues a search from an
    earlier run's program instead of the game's seed.

    The file is parsed, never executed here (the search scores its seed in the sandbox). A file
    whose metadata names another game, or without the game's function, is refused (ValueError
    naming the file). The seed's docstring is kept when the program has none, since prompts
    show it.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
        text = data.decode()
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"--start-from {path}: cannot read it ({error})") from None
    try:
        game = metadata_of(text).get("game")
    except (ValueError, AttributeError):
        raise ValueError(f"--start-from {path}: its '{MARK.strip()}' line is not a JSON object") from None
    if game is not None and game != spec.name:
        raise ValueError(f"--start-from {path}: it is a {game} program, not {spec.name}")
    try:
        node = code.function_node(text, spec.function_name)
    except code.ProgramError as error:
        raise ValueError(f"--start-from {path}: {error}") from None
    source = ast.unparse(node)
    if code.docstring(source) is None:
        source = code.rename_function(source, spec.function_name,
                                      docstring=code.docstring(spec.seed))
    seeded = replace(spec, seed=source, seed_variants=(),
                     seed_idea=f"the evolved program {path.name}")
    return seeded, {"file": path.name, "sha256": hashlib.sha256(data).hexdigest()}


def run_summary(run_dir: Path) -> dict[str, Any]:
    """Counts, timings and the progress curve of a run from its append-only log (`samples.jsonl`)."""
    from discoverygym.agents.evolution.samplelog import read_log

    rows = list(read_log(Path(run_dir)))
    if not rows:
        raise ValueError(f"{run_dir}: no samples logged")
    errors: dict[str, int] = {}
    for row in rows:
        if not row.get("ok"):
            kind = (row.get("error") or "failed").split(":")[0].split(" (")[0]
            errors[kind] = errors.get(kind, 0) + 1
    valid = [r for r in rows if r.get("ok")]
    llm_s = sum(r.get("llm_seconds") or 0.0 for r in rows)
    tokens = ({kind: round(sum(r["tokens"].get(kind, 0.0) for r in rows))
               for kind in ("prompt", "completion")}
              if all(r.get("tokens") is not None for r in rows) else None)  # None: not all logged
    eval_s = sum(r.get("eval_seconds") or 0.0 for r in rows)
    wall_s = rows[-1]["time"] - rows[0]["time"]
    best_train = max((r["score"] for r in valid), default=None)
    improvements = [{"sample": r["sample"], "train": r["score"], "validation": r.get("validation")}
                    for r in rows if r.get("improved")]
    stats = (load_checkpoint(Path(run_dir)) or {}).get("stats", {})
    seed = {"train": stats.get("seed_train"), "validation": stats.get("seed_validation")}
    return {"samples": len(rows), "valid": len(valid), "valid_fraction": len(valid) / len(rows),
            "failures": errors, "llm_seconds": round(llm_s, 1), "llm_tokens": tokens,
            "eval_seconds": round(eval_s, 1),
            "wall_seconds": round(wall_s, 1), "samples_per_s": len(rows) / wall_s if wall_s > 0 else None,
            "best_train": best_train, "seed": seed, "improvements": improvements,
            "curve": progress_curve(run_dir, rows, seed=seed)}


def ship_program(run_dir: Path, out: Path) -> Path:
    """Copy a run's best program to `out` with the run's compute in its metadata, and write
    `<out stem>.summary.json` (the log summary and its progress curve) and `<out stem>.curve.png`
    beside it."""
    run_dir, out = Path(run_dir), Path(out)
    best = run_dir / "best.py"
    metadata = read_metadata(best)
    summary = run_summary(run_dir)
    metadata["compute"] = {"llm_samples": summary["samples"], "llm_seconds": summary["llm_seconds"],
                           "llm_tokens": sum(summary["llm_tokens"].values()) if summary["llm_tokens"] else None,
                           "eval_seconds": summary["eval_seconds"],
                           "cpu_seconds": round(summary["llm_seconds"] + summary["eval_seconds"], 1)}
    metadata["samples"] = summary["samples"]
    source = ast.unparse(code.function_node(best.read_text(), get_game(metadata["game"]).function_name))
    write_program(out, source, metadata["game"], {k: v for k, v in metadata.items() if k != "game"})
    summary["source_sha256"] = source_sha256(out)  # what load_agent checks before running it here
    atomic_write_text(out.with_suffix(".summary.json"), json.dumps(summary, indent=2) + "\n")
    plot_curve(run_dir, out.with_suffix(".curve.png"), seed_scores=summary["seed"],
               title=f"{metadata['game']}: {metadata.get('llm')}, seed {metadata.get('seed')}")
    return out
