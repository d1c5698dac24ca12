"""Score one candidate: run it in an isolated child, take back only its decisions, score them here.

`evaluate_program(source, game, split)` is the public entry point: a static AST check
(`safety.check_source`, cheap early rejection), then a fresh
`python -m discoverygym.agents.evolution._child` inside the OS sandbox of `isolation`
(bubblewrap namespaces, unprivileged uid, read-only file system, private scratch tmpfs, empty
environment, death with this process; Landlock, seccomp and rlimits inside the child), with a
wall-clock limit enforced here by killing the child's whole process group (and with it its PID
namespace).

The child never returns a score. It writes one JSON line with the candidate's decisions; this
process reads at most `MAX_RESULT_BYTES` of it (more: the child is killed and the candidate
fails), parses it strictly and hands the decisions to the game's `<g>_verify`
(`scorers`), which replays them with the game's independent checker and computes the score.
Every failure of the candidate comes back as an `EvalResult` with `ok=False` and the reason
(only an unknown game or split raises, a KeyError listing the known names). `EvalResult.sandbox`
says which isolation layers held (`isolation.LAYERS`); `sandbox_check()` runs the seed once and
`isolation.missing_layers` says how to get the missing ones.
"""

from __future__ import annotations

import functools
import importlib
import json
import math
import os
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from discoverygym.agents.evolution import isolation, safety
from discoverygym.agents.evolution.games import get_game

KEPT_ENV = ("PATH", "LANG", "LC_ALL", "PYTHONPATH", "VIRTUAL_ENV", "TZ")
THREADS_ENV = isolation.THREADS_ENV
MAX_RESULT_BYTES = 8 * 2**20  # the decisions of the largest split are well under 1 MiB
MAX_ERROR_CHARS = 500  # of a candidate's error message, as stored


@dataclass
class EvalResult:
    """Outcome of scoring one program on one split.

    `score` is higher-is-better (None when not ok), computed by this process from the verified
    decisions; `scores` has one entry per input instance; `error` says why when `ok` is False;
    `seconds` is the wall-clock time of the evaluation; `sandbox` maps each isolation layer
    (`isolation.LAYERS`) to whether it held, plus "mode" ("bwrap" or "direct").
    """

    ok: bool
    score: float | None = None
    scores: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0
    split: str = "validation"
    sandbox: dict = field(default_factory=dict)
    decisions: Any = field(default=None, repr=False)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "score": self.score, "scores": self.scores, "error": self.error,
                "seconds": round(self.seconds, 3), "split": self.split}


@dataclass(frozen=True)
class SandboxLimits:
    """Per-evaluation limits: wall-clock and CPU seconds, address space in MiB."""

    timeout_s: float | None = None  # None: the game's default
    memory_mb: int = 2048


def scrubbed_env() -> dict[str, str]:
    """The child's environment in direct mode: a few harmless variables, never keys or tokens
    (bubblewrap starts from an empty one)."""
    env = {key: os.environ[key] for key in KEPT_ENV if key in os.environ}
    env.update(THREADS_ENV)
    env["HOME"] = "/nonexistent"
    return env


@functools.lru_cache(maxsize=32)
def _prepared(game: str, names: tuple[str, ...]) -> Any:
    """The game's data for `names`, loaded here (trusted) to verify the decisions."""
    return _scorer(game, "prepare")(names)


def _scorer(game: str, what: str):
    module_name, prefix = get_game(game).scorer.split(":")
    return getattr(importlib.import_module(module_name), f"{prefix}_{what}")


_RUNNING: set[subprocess.Popen] = set()  # the sandboxed children evaluating right now
_RUNNING_LOCK = threading.Lock()


def stop_all() -> int:
    """Kill every sandboxed child evaluating now, in any thread (an interrupted search drops its
    evaluations in flight instead of waiting for them); their calls return a failed
    `EvalResult`. Returns how many were killed."""
    with _RUNNING_LOCK:
        running = list(_RUNNING)
    for process in running:
        _kill_group(process)
    return len(running)


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.kill()
    except ProcessLookupError:
        pass


def _read_capped(process: subprocess.Popen, deadline: float, cap: int) -> tuple[bytes, str | None]:
    """Read the child's stdout until EOF; stop at `cap` bytes ("oversize") or at `deadline`
    ("timeout"). Never holds more than `cap` bytes."""
    fd = process.stdout.fileno()
    buffer = bytearray()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return b"", "timeout"
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(fd, min(1 << 16, cap + 1 - len(buffer)))
        if not chunk:
            return bytes(buffer), None
        buffer += chunk
        if len(buffer) > cap:
            return b"", "oversize"


def evaluate_program(
    source: str,
    game: str,
    split: str = "validation",
    *,
    limits: SandboxLimits | None = None,
    datasets: tuple[str, ...] | None = None,
    static_check: bool = True,
    keep_decisions: bool = False,
) -> EvalResult:
    """Score `source` (one function definition, the game's function) on `split` in the sandbox.

    `datasets` overrides the split's dataset names (e.g. a smaller training set).
    `static_check=False` skips the AST allow-list (tests use it to probe the runtime layers).
    `keep_decisions=True` returns the verified decisions too (a tensor walk's scheme, to be
    replayed; off by default: a bin packing run's assignments are large).
    """
    spec = get_game(game)
    limits = limits or SandboxLimits()
    names = tuple(datasets) if datasets is not None else spec.datasets(split)
    start = time.perf_counter()

    def failed(error: str, sandbox: dict | None = None) -> EvalResult:
        return EvalResult(False, error=error, seconds=time.perf_counter() - start, split=split,
                          sandbox=sandbox or {})

    if static_check:
        rejection = safety.check_source(source, spec.function_name)
        if rejection is not None:
            return failed(str(rejection))
    try:
        data = _prepared(game, names)
    except (KeyError, ValueError, OSError) as error:
        return failed(f"datasets {list(names)}: {error}")
    timeout = float(limits.timeout_s or spec.timeout_s)
    command, popen_kwargs, mode = isolation.child_command(
        [sys.executable, "-m", "discoverygym.agents.evolution._child"])
    with tempfile.TemporaryDirectory(prefix="dg-sandbox-") as workdir:
        os.chmod(workdir, 0o700)
        job = {"source": source, "game": game, "datasets": list(names), "mode": mode,
               "workdir": isolation.SCRATCH if mode == "bwrap" else workdir,
               "memory_mb": limits.memory_mb, "cpu_s": max(1, int(timeout) + 1),
               "readable": isolation.needed_paths()}
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            cwd=workdir if mode == "direct" else "/", start_new_session=True, close_fds=True,
            env=scrubbed_env() if mode == "direct" else {}, **popen_kwargs,
        )
        with _RUNNING_LOCK:
            _RUNNING.add(process)
        try:
            try:
                text = json.dumps(job).encode()
                process.stdin.write(struct.pack("<I", len(text)) + text)
                process.stdin.close()
            except BrokenPipeError:
                pass
            out, problem = _read_capped(process, time.monotonic() + timeout, MAX_RESULT_BYTES)
            if problem is None:
                try:
                    process.wait(timeout=max(0.1, timeout - (time.perf_counter() - start)))
                except subprocess.TimeoutExpired:
                    pass
        finally:
            _kill_group(process)  # anything the candidate left behind in its session
            with _RUNNING_LOCK:
                _RUNNING.discard(process)
            process.wait()
            process.stdout.close()
    if problem == "timeout":
        return failed(f"timeout: over the {timeout:g} s wall-clock limit",
                      {"mode": mode, **isolation.layers_of(mode, {})})
    if problem == "oversize":
        return failed(f"result over {MAX_RESULT_BYTES} bytes: child killed",
                      {"mode": mode, **isolation.layers_of(mode, {})})
    return _verify(game, data, out, process.returncode, mode, start, split, keep_decisions)


def _verify(game: str, data: Any, out: bytes, returncode: int, mode: str, start: float,
            split: str, keep_decisions: bool = False) -> EvalResult:
    """Parse the child's line strictly and score its decisions with the game's checker."""
    from discoverygym.agents.evolution.scorers import DecisionError

    def result(ok: bool, **kwargs) -> EvalResult:
        return EvalResult(ok, seconds=time.perf_counter() - start, split=split,
                          sandbox={"mode": mode, **isolation.layers_of(mode, reported)}, **kwargs)

    reported: dict = {}
    first, _, out = out.partition(b"\n")
    try:  # the layers line, written by the child before the candidate was compiled
        layers = json.loads(first).get("layers") if first.startswith(b'{"layers"') else None
    except (ValueError, RecursionError, AttributeError):
        layers = None
    if type(layers) is dict:
        reported = {k: v for k, v in layers.items() if k in isolation.LAYERS and v is True}
    else:
        out = first + b"\n" + out  # failed before the layers line: the whole output is the result
    if not out.strip():
        if returncode is not None and returncode < 0:
            name = signal.Signals(-returncode).name
            reason = {"SIGXCPU": "CPU time limit exceeded", "SIGKILL": "killed (memory or limit)",
                      "SIGSEGV": "crashed (segmentation fault)"}.get(name, f"killed by {name}")
            return result(False, error=f"{reason} ({name})")
        return result(False, error=f"child exited with status {returncode} and no result")
    try:
        message = json.loads(out)
    except (ValueError, RecursionError):
        return result(False, error="child wrote an unreadable result")
    if type(message) is not dict or type(message.get("ok")) is not bool:
        return result(False, error="child wrote a result without a boolean 'ok'")
    if not message["ok"]:
        error = message.get("error")
        text = error if isinstance(error, str) else "candidate failed (no reason given)"
        return result(False, error=text[:MAX_ERROR_CHARS])
    if set(message) != {"ok", "error", "decisions", "layers"}:
        return result(False, error=f"child result has unexpected keys {sorted(message)}")
    try:
        score, scores = _scorer(game, "verify")(data, message["decisions"])
    except DecisionError as error:
        return result(False, error=f"decisions rejected: {str(error)[:MAX_ERROR_CHARS]}")
    if not math.isfinite(score):
        return result(False, error=f"score is not finite: {score}")
    return result(True, score=float(score), scores=scores,
                  decisions=message["decisions"] if keep_decisions else None)


def sandbox_check(game: str = "binpacking") -> dict[str, bool]:
    """The layers that hold on this machine, measured by scoring the game's seed once on a
    tiny dataset (about a second). Keys: `isolation.LAYERS` plus "mode"."""
    tiny = {"binpacking": ("weibull-200:seed=0,count=1",), "jobshop": ("random-6x6:seed=0,n=1",),
            "tensor": ("2x2x2:mod2:seed=0:attempts=2000",)}
    spec = get_game(game)
    result = evaluate_program(spec.seed, game, "train", datasets=tiny.get(game))
    if not result.ok:
        raise RuntimeError(f"the sandbox cannot score the {game} seed: {result.error}")
    return result.sandbox
