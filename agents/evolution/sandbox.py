"""Score one candidate in a separate, hardened process (the parent side of the sandbox).

`evaluate_program(source, game, split)` is the public entry point: a static AST check
(`safety.check_source`), then a fresh `python -m discoverygym.agents.evolution._child` in its
own session and temporary working directory, with a scrubbed environment (no API keys or
tokens: only the variables in `KEPT_ENV`), rlimits set in the child, and a wall-clock limit
enforced here by killing the child's whole process group. Every failure of the candidate comes
back as an `EvalResult` with `ok=False` and the reason (only an unknown game or split raises,
a KeyError listing the known names).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

from discoverygym.agents.evolution import safety
from discoverygym.agents.evolution.games import get_game

KEPT_ENV = ("PATH", "LANG", "LC_ALL", "PYTHONPATH", "VIRTUAL_ENV", "TZ")
THREADS_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "NUMEXPR_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}


@dataclass
class EvalResult:
    """Outcome of scoring one program on one split.

    `score` is higher-is-better (None when not ok); `scores` has one entry per input instance;
    `error` says why when `ok` is False; `seconds` is the wall-clock time of the evaluation.
    """

    ok: bool
    score: float | None = None
    scores: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0
    split: str = "validation"
    sandbox: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "score": self.score, "scores": self.scores, "error": self.error,
                "seconds": round(self.seconds, 3), "split": self.split}


@dataclass(frozen=True)
class SandboxLimits:
    """Per-evaluation limits: wall-clock and CPU seconds, address space in MiB."""

    timeout_s: float | None = None  # None: the game's default
    memory_mb: int = 2048


def scrubbed_env() -> dict[str, str]:
    """The child's environment: a few harmless variables, never keys or tokens."""
    env = {key: os.environ[key] for key in KEPT_ENV if key in os.environ}
    env.update(THREADS_ENV)
    env["HOME"] = "/nonexistent"
    return env


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.kill()


def evaluate_program(
    source: str,
    game: str,
    split: str = "validation",
    *,
    limits: SandboxLimits | None = None,
    datasets: tuple[str, ...] | None = None,
    static_check: bool = True,
) -> EvalResult:
    """Score `source` (one function definition, the game's function) on `split` in the sandbox.

    `datasets` overrides the split's dataset names (e.g. a smaller training set).
    `static_check=False` skips the AST allow-list (tests use it to probe the runtime layers).
    """
    spec = get_game(game)
    limits = limits or SandboxLimits()
    names = tuple(datasets) if datasets is not None else spec.datasets(split)
    start = time.perf_counter()
    if static_check:
        rejection = safety.check_source(source, spec.function_name)
        if rejection is not None:
            return EvalResult(False, error=str(rejection), split=split)
    timeout = float(limits.timeout_s or spec.timeout_s)
    with tempfile.TemporaryDirectory(prefix="dg-sandbox-") as workdir:
        os.chmod(workdir, 0o700)
        job = {"source": source, "game": game, "datasets": list(names), "workdir": workdir,
               "memory_mb": limits.memory_mb, "cpu_s": max(1, int(timeout) + 1)}
        process = subprocess.Popen(
            [sys.executable, "-m", "discoverygym.agents.evolution._child"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            cwd=workdir, env=scrubbed_env(), start_new_session=True, close_fds=True,
        )
        try:
            out, _ = process.communicate(json.dumps(job).encode(), timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            process.communicate()
            return EvalResult(False, error=f"timeout: over the {timeout:g} s wall-clock limit",
                              seconds=time.perf_counter() - start, split=split)
        finally:
            _kill_group(process)  # anything the candidate left behind in its session
    seconds = time.perf_counter() - start
    return _parse(out, process.returncode, seconds, split)


def _parse(out: bytes, returncode: int, seconds: float, split: str) -> EvalResult:
    lines = out.decode(errors="replace").strip().splitlines()
    if not lines:
        if returncode < 0:
            name = signal.Signals(-returncode).name
            reason = {"SIGXCPU": "CPU time limit exceeded", "SIGKILL": "killed (memory or limit)",
                      "SIGSEGV": "crashed (segmentation fault)"}.get(name, f"killed by {name}")
            return EvalResult(False, error=f"{reason} ({name})", seconds=seconds, split=split)
        return EvalResult(False, error=f"child exited with status {returncode} and no result",
                          seconds=seconds, split=split)
    try:
        data = json.loads(lines[-1])
    except json.JSONDecodeError:
        return EvalResult(False, error="child wrote an unreadable result", seconds=seconds, split=split)
    return EvalResult(
        ok=bool(data.get("ok")), score=data.get("score"), scores=data.get("scores") or {},
        error=data.get("error"), seconds=seconds, split=split, sandbox=data.get("sandbox") or {},
    )
