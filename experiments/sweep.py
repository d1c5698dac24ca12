"""`discoverygym sweep CONFIG`: run a W&B-format sweep locally, on Ray, or on a W&B server.

- `local` (default): optuna drives the search (grid -> GridSampler, random -> RandomSampler,
  bayes -> TPE) with its state in `<out>/optuna.db`, so a killed sweep resumes without
  repeating finished trials (`--resume`); trials run as parallel processes, each one a W&B run
  (offline unless you are logged in) grouped by the sweep's name.
- `ray`: Ray Tune on the cluster at `--ray-address` (or a local instance), the same trials
  and the same W&B settings, propagated to the workers.
- `wandb`: `wandb sweep` + `wandb agent` against the W&B server (needs a login).

Each trial runs the sweep's `command` exactly as `wandb agent` would (see
`sweep_config.expand_command`) and reports its metric with
`discoverygym.agents.tracking.report_trial_metrics`.

Trials die with the sweep: each trial runs in its own process group, killed whole when the
trial ends (normally, on timeout or on an exception) and when the sweep gets SIGINT or SIGTERM;
and the group's leader, a small supervisor, gets `PR_SET_PDEATHSIG` (Linux) and kills the group
when the sweep dies, SIGKILL included. Descendants that leave the trial's process group (a new
session or group of their own) are out of reach. A resumed random or bayes sweep continues its
sampler's sequence (`sweep_sampler.TrialSeededSampler`): trial n draws the same parameters as in
an uninterrupted sweep. Trials interrupted by a kill or a signal are run again on `--resume`.
The output folder and every trial folder are 0700, the files written here 0600.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from discoverygym.agents.runfiles import (
    FILE_MODE,
    atomic_write_bytes,
    atomic_write_text,
    private_dir,
)
from discoverygym.agents.tracking import RESULT_ENV
from discoverygym.experiments.sweep_config import Parameter, SweepConfig, expand_command

EXECUTORS = ("local", "ray", "wandb")


class TrialFailed(RuntimeError):
    """A trial whose program failed or did not report the sweep's metric."""


@dataclass
class TrialResult:
    """One finished trial."""

    number: int
    params: dict[str, Any]
    value: float | None
    state: str
    seconds: float
    error: str = ""


@dataclass
class SweepResult:
    """Every trial, sorted best first, and where the outputs went."""

    config: SweepConfig
    trials: list[TrialResult]
    out_dir: Path

    @property
    def best(self) -> TrialResult | None:
        done = [t for t in self.trials if t.value is not None]
        return done[0] if done else None


# --------------------------------------------------------------------------- one trial


def _resolve_executable(command: list[str]) -> list[str]:
    """Find console scripts (like `discoverygym`) beside this interpreter if not on PATH."""
    head = command[0]
    if os.sep not in head and shutil.which(head) is None:
        sibling = Path(sys.executable).parent / head
        if sibling.exists():
            return [str(sibling), *command[1:]]
    return command


def trial_environment(config: SweepConfig, trial_dir: Path, run_name: str) -> dict[str, str]:
    """The environment of one trial: W&B grouped by sweep, offline unless logged in."""
    env = dict(os.environ)
    if "WANDB_MODE" not in env and "WANDB_API_KEY" not in env:
        env["WANDB_MODE"] = "offline"
    env.update(
        WANDB_DIR=str(trial_dir),
        WANDB_RUN_GROUP=config.name,
        WANDB_NAME=run_name,
        WANDB_JOB_TYPE="sweep-trial",
        WANDB_SILENT="true",
        **{RESULT_ENV: str(trial_dir / "result.json")},
    )
    return env


# The trial's supervisor, the leader of the trial's process group: it asks for SIGTERM when the
# sweep dies (prctl(2) PR_SET_PDEATHSIG = 1; a sweep that died before the prctl is caught by
# getppid), runs the command in its group and exits with its status; on SIGTERM it kills the
# whole group, itself included, so the trial's children die with a SIGKILLed sweep too. A separate
# interpreter (-I -S: no site, no PYTHON* variables), so no Python code runs between fork and
# exec in the sweep's threads.
_SUPERVISOR = """
import ctypes, os, signal, subprocess, sys
def end(signum, frame):
    os.killpg(0, signal.SIGKILL)
signal.signal(signal.SIGTERM, end)
if ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0) != 0:
    sys.exit("discoverygym sweep: prctl(PR_SET_PDEATHSIG) failed")
if os.getppid() != int(sys.argv[1]):
    end(0, None)
try:
    child = subprocess.Popen(sys.argv[2:])
except OSError as error:
    sys.exit(f"discoverygym sweep: cannot run {sys.argv[2]!r}: {error}")
code = child.wait()
sys.exit(code if code >= 0 else 128 - code)
"""


def _dying_with_this_process(command: list[str]) -> list[str]:
    """`command` under a supervisor that kills its process group when this process dies (Linux;
    start it with `start_new_session=True`). Exit status: the command's, 128 + N if signal N
    killed it."""
    if not sys.platform.startswith("linux"):
        return command
    return [sys.executable, "-I", "-S", "-c", _SUPERVISOR, str(os.getpid()), *command]


class _SweepInterrupted(BaseException):
    """Raised by a trial the sweep killed on a signal. Optuna records Exceptions and
    KeyboardInterrupt as failed trials but lets other exceptions through with the trial left
    RUNNING, as a SIGKILL would leave it, so `--resume` runs it again."""


class _TrialGroups:
    """The process groups of the running trials, to kill on an interrupt."""

    def __init__(self) -> None:
        self._groups: set[int] = set()
        self._lock = threading.Lock()
        self.interrupted = threading.Event()
        self.signal = signal.SIGINT

    def add(self, group: int) -> None:
        with self._lock:
            self._groups.add(group)

    def discard(self, group: int) -> None:
        with self._lock:
            self._groups.discard(group)

    def kill_all(self) -> None:
        with self._lock:
            groups = list(self._groups)
        for group in groups:
            _kill_group(group)


TRIALS = _TrialGroups()


def _kill_group(group: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)


@contextlib.contextmanager
def _trials_die_on_signals() -> Iterator[None]:
    """While a sweep runs: SIGINT and SIGTERM kill every trial's group, then interrupt the sweep
    (KeyboardInterrupt, or SystemExit(143) for SIGTERM). Only from the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        TRIALS.signal = signum
        TRIALS.interrupted.set()
        TRIALS.kill_all()
        if signum == signal.SIGTERM:
            raise SystemExit(128 + signum)
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    TRIALS.interrupted.clear()
    try:
        yield
    finally:
        TRIALS.kill_all()
        for sig, old in previous.items():
            signal.signal(sig, old)


def run_trial(config: SweepConfig, params: dict[str, Any], trial_dir: Path, run_name: str,
              timeout_s: float | None = None) -> float:
    """Run one trial's command; return the metric it reported or raise `TrialFailed`.

    The trial runs in its own process group, killed whole when this returns or raises, and
    dies with this process (see the module doc).
    """
    import json

    private_dir(trial_dir)
    atomic_write_text(trial_dir / "params.yaml", yaml.safe_dump(params, sort_keys=False))
    result_path = trial_dir / "result.json"
    result_path.unlink(missing_ok=True)
    command = _resolve_executable(expand_command(config, params))
    if shutil.which(command[0]) is None:
        raise TrialFailed(f"cannot run {command[0]!r}: no such executable")
    log_fd = os.open(trial_dir / "log.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, FILE_MODE)
    os.fchmod(log_fd, FILE_MODE)
    with open(log_fd, "w") as log:
        log.write("$ " + " ".join(command) + "\n")
        log.flush()
        try:
            process = subprocess.Popen(
                _dying_with_this_process(command), stdout=log, stderr=subprocess.STDOUT,
                env=trial_environment(config, trial_dir, run_name), stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as error:
            raise TrialFailed(f"cannot run {command[0]!r}: {error}") from None
        TRIALS.add(process.pid)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise TrialFailed(f"timed out after {timeout_s} s (log: {trial_dir / 'log.txt'})") from None
        finally:
            _kill_group(process.pid)  # on timeout and interrupts, and what a finished trial left
            process.wait()
            TRIALS.discard(process.pid)
    if process.returncode != 0:
        tail = (trial_dir / "log.txt").read_text().strip().splitlines()[-5:]
        raise TrialFailed(f"exit code {process.returncode}: " + " | ".join(tail))
    if not result_path.exists():
        raise TrialFailed(f"the program reported no metrics (expected {result_path})")
    metrics = json.loads(result_path.read_text())
    if config.metric not in metrics:
        raise TrialFailed(f"metric {config.metric!r} not reported; got {sorted(metrics)}")
    value = float(metrics[config.metric])
    if math.isnan(value):
        raise TrialFailed(f"metric {config.metric!r} is NaN")
    return value


# --------------------------------------------------------------------------- local (optuna)


def _suggest(trial: Any, parameter: Parameter) -> Any:
    name, d = parameter.name, parameter.distribution
    if d in ("constant", "categorical"):
        return trial.suggest_categorical(name, list(parameter.values))
    if d == "int_uniform":
        return trial.suggest_int(name, int(parameter.low), int(parameter.high))
    if d == "uniform":
        return trial.suggest_float(name, parameter.low, parameter.high)
    if d == "q_uniform":
        return trial.suggest_float(name, parameter.low, parameter.high, step=parameter.q)
    if d == "log_uniform":
        return trial.suggest_float(name, math.exp(parameter.low), math.exp(parameter.high), log=True)
    value = trial.suggest_float(name, parameter.low, parameter.high, log=True)
    if d == "q_log_uniform_values":
        value = max(parameter.low, min(parameter.high, round(value / parameter.q) * parameter.q))
    return value


def _sampler(config: SweepConfig, seed: int):
    """Grid: optuna's GridSampler (it skips the grid points already run, so it resumes as it is);
    random and bayes: seeded per trial number, so a resumed sweep continues the sequence."""
    import optuna

    from discoverygym.experiments.sweep_sampler import TrialSeededSampler

    if config.method == "grid":
        return optuna.samplers.GridSampler({p.name: list(p.grid_values()) for p in config.parameters}, seed=seed)
    if config.method == "random":
        return TrialSeededSampler(lambda trial_seed: optuna.samplers.RandomSampler(seed=trial_seed), seed)
    startup = min(5, max(1, (config.run_cap or 10) // 3))
    return TrialSeededSampler(
        lambda trial_seed: optuna.samplers.TPESampler(seed=trial_seed, n_startup_trials=startup), seed)


def _trial_budget(config: SweepConfig, max_trials: int | None) -> int:
    if max_trials is not None:
        return max_trials
    if config.run_cap is not None:
        return config.run_cap
    if config.method == "grid":
        return math.prod(len(p.grid_values()) for p in config.parameters)
    raise ValueError(f"{config.path}: random and bayes sweeps need run_cap in the file or --trials")


def run_local_sweep(config: SweepConfig, out_dir: Path, max_trials: int | None = None, parallel: int = 1,
                    resume: bool = False, seed: int = 0, timeout_s: float | None = None,
                    progress: bool = True) -> SweepResult:
    """Run the sweep with optuna on this machine; trials in `parallel` processes."""
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    database = out_dir / "optuna.db"
    if database.exists() and not resume:
        raise FileExistsError(f"{out_dir} already holds a sweep; pass --resume to continue it or choose another --out")
    private_dir(out_dir)
    database.touch(mode=FILE_MODE)  # sqlite keeps the mode, and gives it to its journal files
    database.chmod(FILE_MODE)
    study = optuna.create_study(
        study_name=config.name, storage=f"sqlite:///{database}", sampler=_sampler(config, seed),
        direction=config.direction, load_if_exists=True,
    )
    _retry_interrupted(config, study)
    finished = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    remaining = max(0, _trial_budget(config, max_trials) - finished)

    def objective(trial: Any) -> float:
        params = {p.name: _suggest(trial, p) for p in config.parameters}
        trial.set_user_attr("params", params)
        start = time.perf_counter()
        try:
            return run_trial(config, params, out_dir / f"trial-{trial.number:04d}",
                             f"{config.name}-{trial.number}", timeout_s)
        except (TrialFailed, KeyboardInterrupt) as error:
            if TRIALS.interrupted.is_set():
                raise _SweepInterrupted from error
            if isinstance(error, TrialFailed):
                trial.set_user_attr("error", str(error))
            raise
        finally:
            trial.set_user_attr("seconds", time.perf_counter() - start)

    if remaining:
        from rich.progress import Progress

        try:
            with _trials_die_on_signals(), Progress(disable=not progress) as bar:
                task = bar.add_task(f"sweep {config.name}", total=remaining)
                study.optimize(
                    objective, n_trials=remaining, n_jobs=parallel, catch=(TrialFailed,),
                    callbacks=[lambda study, trial: bar.advance(task)],
                )
        except _SweepInterrupted:
            if TRIALS.signal == signal.SIGTERM:
                raise SystemExit(128 + signal.SIGTERM) from None
            raise KeyboardInterrupt from None
    return _collect(config, study, out_dir)


def _retry_interrupted(config: SweepConfig, study: Any) -> None:
    """Trials a killed or interrupted sweep left RUNNING are failed and run again with the same
    parameters: a grid point is released for the grid sampler to revisit, other searches queue
    the parameters."""
    from optuna.trial import TrialState

    storage = study._storage
    for stale in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        storage.set_trial_user_attr(stale._trial_id, "error", "interrupted; retried on resume")
        if config.method == "grid":
            storage.set_trial_system_attr(stale._trial_id, "grid_id", -1)
        else:
            study.enqueue_trial(stale.params, user_attrs={"retry_of": stale.number})
        storage.set_trial_state_values(stale._trial_id, TrialState.FAIL)


def _collect(config: SweepConfig, study: Any, out_dir: Path) -> SweepResult:
    from optuna.trial import TrialState

    results = []
    for t in study.get_trials(deepcopy=False):
        if t.state == TrialState.RUNNING:
            continue
        results.append(TrialResult(
            number=t.number, params=t.user_attrs.get("params", t.params),
            value=t.value if t.state == TrialState.COMPLETE else None, state=t.state.name.lower(),
            seconds=float(t.user_attrs.get("seconds", 0.0)), error=t.user_attrs.get("error", ""),
        ))
    return write_outputs(SweepResult(config, results, out_dir))


# --------------------------------------------------------------------------- ray


def _ray_space(parameter: Parameter) -> Any:
    from ray import tune

    d = parameter.distribution
    if d in ("constant", "categorical"):
        return tune.choice(list(parameter.values))
    if d == "int_uniform":
        return tune.randint(int(parameter.low), int(parameter.high) + 1)
    if d == "uniform":
        return tune.uniform(parameter.low, parameter.high)
    if d == "q_uniform":
        return tune.quniform(parameter.low, parameter.high, parameter.q)
    if d == "log_uniform":
        return tune.loguniform(math.exp(parameter.low), math.exp(parameter.high))
    if d == "q_log_uniform_values":
        return tune.qloguniform(parameter.low, parameter.high, parameter.q)
    return tune.loguniform(parameter.low, parameter.high)


def run_ray_sweep(config: SweepConfig, out_dir: Path, address: str | None = None,
                  max_trials: int | None = None, seed: int = 0, timeout_s: float | None = None) -> SweepResult:
    """Run the sweep with Ray Tune on the cluster at `address` (None: a local Ray instance)."""
    import ray
    from ray import tune

    out_dir = private_dir(out_dir.resolve())
    env_vars = {k: v for k, v in os.environ.items() if k.startswith("WANDB_")}
    env_vars.setdefault("WANDB_MODE", "offline" if "WANDB_API_KEY" not in os.environ else "online")
    ray.init(address=address, runtime_env={"env_vars": env_vars}, ignore_reinit_error=True,
             include_dashboard=False, log_to_driver=False)
    try:
        if config.method == "grid":
            space = {p.name: tune.grid_search(list(p.grid_values())) for p in config.parameters}
            samples = 1
        else:
            space = {p.name: _ray_space(p) for p in config.parameters}
            samples = _trial_budget(config, max_trials)

        def trainable(params: dict[str, Any]) -> dict[str, float]:
            trial_id = tune.get_context().get_trial_id()
            try:
                value = run_trial(config, params, out_dir / f"trial-{trial_id}", f"{config.name}-{trial_id}", timeout_s)
            except TrialFailed as error:
                return {"failed": 1.0, "error": str(error)}
            return {config.metric: value, "failed": 0.0}

        tuner = tune.Tuner(
            trainable, param_space=space,
            tune_config=tune.TuneConfig(num_samples=samples),
            run_config=tune.RunConfig(name=config.name, storage_path=str(out_dir / "ray"), verbose=0),
        )
        grid = tuner.fit()
        results = []
        for number, r in enumerate(grid):
            metrics = r.metrics or {}
            ok = metrics.get("failed") == 0.0
            results.append(TrialResult(
                number=number, params=dict(r.config), value=metrics.get(config.metric) if ok else None,
                state="complete" if ok else "fail", seconds=float(metrics.get("time_total_s", 0.0)),
                error=str(metrics.get("error", r.error or "")),
            ))
    finally:
        ray.shutdown()
    return write_outputs(SweepResult(config, results, out_dir))


# --------------------------------------------------------------------------- wandb server


def run_wandb_sweep(config: SweepConfig, count: int | None = None, project: str | None = None) -> str:
    """Create the sweep on the W&B server and run an agent here; returns the sweep id."""
    if not os.environ.get("WANDB_API_KEY") and not (Path.home() / ".netrc").exists():
        raise RuntimeError("the wandb executor needs a W&B login (`wandb login` or WANDB_API_KEY); use --executor local")
    wandb_cli = str(Path(sys.executable).parent / "wandb")
    command = [wandb_cli, "sweep", str(config.path)] + (["--project", project] if project else [])
    created = subprocess.run(command, capture_output=True, text=True, check=True)
    sweep_id = created.stderr.strip().split()[-1]
    agent = [wandb_cli, "agent", sweep_id] + (["--count", str(count)] if count else [])
    subprocess.run(agent, check=True)
    return sweep_id


# --------------------------------------------------------------------------- outputs


def write_outputs(result: SweepResult) -> SweepResult:
    """trials.csv sorted by the metric, best.yaml, and a metric-against-parameter figure."""
    sign = 1.0 if result.config.goal == "minimize" else -1.0
    result.trials.sort(key=lambda t: (t.value is None, sign * (t.value or 0.0), t.number))
    names = [p.name for p in result.config.parameters]
    table = io.StringIO(newline="")
    writer = csv.writer(table)
    writer.writerow(["trial", "state", result.config.metric, *names, "seconds", "error"])
    for t in result.trials:
        writer.writerow([t.number, t.state, "" if t.value is None else t.value,
                         *[t.params.get(n, "") for n in names], f"{t.seconds:.2f}", t.error])
    atomic_write_text(result.out_dir / "trials.csv", table.getvalue())
    if result.best is not None:
        best = {"metric": {result.config.metric: result.best.value}, "parameters": result.best.params,
                "trial": result.best.number}
        atomic_write_text(result.out_dir / "best.yaml", yaml.safe_dump(best, sort_keys=False))
    _plot(result)
    return result


def _plot(result: SweepResult) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [t for t in result.trials if t.value is not None]
    params = result.config.parameters
    fig, axes = plt.subplots(1, len(params), figsize=(3.2 * len(params), 3.0), squeeze=False)
    for ax, p in zip(axes[0], params):
        xs = [t.params[p.name] for t in done]
        if p.distribution in ("constant", "categorical"):
            labels = [str(v) for v in p.values]
            xs = [labels.index(str(x)) for x in xs]
            ax.set_xticks(range(len(labels)), labels, rotation=30)
        elif p.is_log:
            ax.set_xscale("log")
        ax.scatter(xs, [t.value for t in done], s=18, alpha=0.8)
        if result.best is not None and p.name in result.best.params and p.distribution not in ("constant", "categorical"):
            ax.axvline(result.best.params[p.name], color="tab:red", linewidth=0.8)
        ax.set_xlabel(p.name)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(result.config.metric)
    fig.suptitle(f"{result.config.name}: {result.config.metric} ({result.config.goal})")
    fig.tight_layout()
    image = io.BytesIO()
    fig.savefig(image, format="png", dpi=110)
    plt.close(fig)
    atomic_write_bytes(result.out_dir / "sweep.png", image.getvalue())
