"""Sweeps: W&B YAML parsing, a local sweep with W&B offline, and resume after kill -9."""

from __future__ import annotations

import contextlib
import csv
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from discoverygym.experiments.sweep import run_local_sweep
from discoverygym.experiments.sweep_config import (
    SweepConfigError,
    expand_command,
    load_sweep_config,
)

PROGRAM = Path(__file__).with_name("sweep_program.py")
CONFIGS = Path(__file__).resolve().parents[2] / "experiments" / "configs"


def write_sweep(tmp_path: Path, **overrides) -> Path:
    config = {
        "name": "quadratic",
        "program": str(PROGRAM),
        "method": "grid",
        "metric": {"name": "loss", "goal": "minimize"},
        "parameters": {"x": {"values": [1.0, 3.0]}, "layers": {"value": 2}},
    }
    config.update(overrides)
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_parses_every_supported_distribution(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, method="bayes", run_cap=4, parameters={
        "a": {"min": 1, "max": 4},
        "b": {"min": 0.1, "max": 0.5},
        "c": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-2},
        "d": {"distribution": "q_uniform", "min": 0, "max": 10, "q": 2},
        "e": {"values": ["relu", "tanh"], "probabilities": [0.5, 0.5]},
        "f": {"value": 7},
        "g": {"distribution": "log_uniform", "min": -3, "max": 0},
    })
    config = load_sweep_config(path)
    kinds = {p.name: p.distribution for p in config.parameters}
    assert kinds == {"a": "int_uniform", "b": "uniform", "c": "log_uniform_values", "d": "q_uniform",
                     "e": "categorical", "f": "constant", "g": "log_uniform"}
    assert config.run_cap == 4 and config.direction == "minimize"


@pytest.mark.parametrize("override, message", [
    ({"method": "hyperband"}, "method"),
    ({"metric": {"name": "loss", "goal": "lowest"}}, "'lowest'"),
    ({"parameters": {"x": {"min": 2, "max": 1}}}, "parameters.x"),
    ({"parameters": {"x": {"distribution": "beta", "min": 0, "max": 1}}}, "'beta'"),
    ({"parameters": {"x": {"min": 0.0, "max": 1.0}}}, "grid search"),
    ({"metrics": []}, "metrics"),
])
def test_bad_configs_name_the_key_and_value(tmp_path: Path, override: dict, message: str) -> None:
    with pytest.raises(SweepConfigError, match="sweep.yaml") as error:
        load_sweep_config(write_sweep(tmp_path, **override))
    assert message in str(error.value)


def test_command_macros_expand_like_wandb_agent(tmp_path: Path) -> None:
    config = load_sweep_config(write_sweep(tmp_path, command=["${env}", "${interpreter}", "${program}", "--fixed", "${args}"]))
    assert expand_command(config, {"x": 1.5, "layers": 2}) == [sys.executable, str(PROGRAM), "--fixed", "--x=1.5", "--layers=2"]


def test_shipped_sweep_configs_parse() -> None:
    shipped = sorted(CONFIGS.glob("sweep_*.yaml"))
    assert shipped, "no sweep configs shipped in experiments/configs"
    for path in shipped:
        assert load_sweep_config(path).parameters


def test_two_trial_local_sweep_with_wandb_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("SWEEP_TEST_CALLS", str(calls))
    result = run_local_sweep(load_sweep_config(write_sweep(tmp_path)), tmp_path / "out", parallel=2, progress=False)
    assert [t.value for t in result.trials] == [2.0, 6.0]  # sorted best first: x=3 then x=1
    assert result.best.params == {"x": 3.0, "layers": 2}
    assert yaml.safe_load((tmp_path / "out" / "best.yaml").read_text())["parameters"]["x"] == 3.0
    rows = list(csv.DictReader((tmp_path / "out" / "trials.csv").open()))
    assert [row["loss"] for row in rows] == ["2.0", "6.0"]
    assert (tmp_path / "out" / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    runs = list((tmp_path / "out").glob("trial-*/wandb/offline-run-*"))
    assert len(runs) == 2, "each trial is a W&B run"
    assert sorted(calls.read_text().split("\n")[:-1]) == ["1.0 2", "3.0 2"]


def test_killed_sweep_resumes_without_repeating_finished_trials(tmp_path: Path) -> None:
    calls = tmp_path / "calls.txt"
    env = dict(os.environ, SWEEP_TEST_CALLS=str(calls), SWEEP_TEST_HANG="3.0")
    path = write_sweep(tmp_path, parameters={"x": {"values": [1.0, 3.0, 5.0]}, "layers": {"value": 1}})
    out = tmp_path / "out"
    cli = [sys.executable, "-m", "discoverygym.experiments.cli", "sweep", str(path), "--out", str(out)]
    sweep = subprocess.Popen(cli, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while "3.0 1" not in (calls.read_text() if calls.exists() else ""):  # x=3 hangs: the sweep is mid-trial
        assert time.monotonic() < deadline and sweep.poll() is None, "sweep never reached the hanging trial"
        time.sleep(0.2)
    os.killpg(sweep.pid, signal.SIGKILL)
    sweep.wait()
    before = calls.read_text().split("\n")[:-1]

    env.pop("SWEEP_TEST_HANG")
    done = subprocess.run(cli + ["--resume"], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    after = calls.read_text().split("\n")[:-1][len(before):]
    finished_before = [c for c in before if c != "3.0 1"]
    assert not set(after) & set(finished_before), "a finished trial ran again"
    assert "3.0 1" in after, "the interrupted trial was not retried"
    rows = list(csv.DictReader((out / "trials.csv").open()))
    assert sorted(float(r["loss"]) for r in rows if r["state"] == "complete") == [1.0, 5.0, 5.0]


def test_ray_executor_runs_the_same_sweep_on_a_local_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("ray", reason="the ray extra is not installed")
    from discoverygym.experiments.sweep import run_ray_sweep

    monkeypatch.setenv("SWEEP_TEST_CALLS", str(tmp_path / "calls.txt"))
    result = run_ray_sweep(load_sweep_config(write_sweep(tmp_path)), tmp_path / "out")
    assert [t.value for t in result.trials] == [2.0, 6.0]
    runs = list((tmp_path / "out").glob("trial-*/wandb/offline-run-*"))
    assert len(runs) == 2, "W&B offline mode reaches the Ray workers"


# --------------------------------------------------------------------------- faults


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting for a reaper counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def wait_dead(pids: list[int], seconds: float = 10.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if alive(p)]


def read_pids(path: Path) -> list[int]:
    return [int(p) for line in path.read_text().splitlines() for p in line.split()] if path.exists() else []


def random_sweep(tmp_path: Path, run_cap: int = 5) -> Path:
    return write_sweep(tmp_path, method="random", run_cap=run_cap,
                       parameters={"x": {"min": 0.0, "max": 6.0}, "layers": {"min": 1, "max": 9}})


def sweep_cli(path: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "discoverygym.experiments.cli", "sweep", str(path), "--out", str(out), *extra]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_trials_die_with_a_sigkilled_sweep_and_resume_continues_the_sequence(tmp_path: Path) -> None:
    calls, pids = tmp_path / "calls.txt", tmp_path / "pids.txt"
    env = dict(os.environ, SWEEP_TEST_CALLS=str(calls), SWEEP_TEST_PIDS=str(pids), SWEEP_TEST_HANG_CALL="3")
    path, out = random_sweep(tmp_path), tmp_path / "out"
    sweep = subprocess.Popen(sweep_cli(path, out), env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while len(read_pids(pids)) < 6:  # the third trial (and its child) started: it hangs
            assert time.monotonic() < deadline and sweep.poll() is None, "the sweep never reached trial 3"
            time.sleep(0.2)
        trial, child = read_pids(pids)[4:6]
        assert alive(trial) and alive(child)
        sweep.send_signal(signal.SIGKILL)  # the sweep alone, not its process group
        sweep.wait()
        assert wait_dead([trial, child]) == [], "the trial or its child outlived the SIGKILLed sweep"
    finally:
        for pid in read_pids(pids):  # never leave a sleeper behind, whatever failed
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    first = calls.read_text().splitlines()
    assert len(first) == 3

    env.pop("SWEEP_TEST_HANG_CALL")
    env.pop("SWEEP_TEST_PIDS")
    done = subprocess.run(sweep_cli(path, out, "--resume"), env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    after = calls.read_text().splitlines()[len(first):]
    assert after[0] == first[2], "the interrupted trial is retried first"
    assert not set(after[1:]) & set(first), "resumed trials repeat parameters of the first part"
    rows = list(csv.DictReader((out / "trials.csv").open()))
    complete = {(r["x"], r["layers"]) for r in rows if r["state"] == "complete"}
    assert len(complete) == 5, "five distinct configurations"


def test_a_resumed_random_sweep_draws_what_an_uninterrupted_one_draws(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWEEP_TEST_CALLS", str(tmp_path / "calls.txt"))
    config = load_sweep_config(random_sweep(tmp_path, run_cap=4))

    def params(result) -> list[tuple]:
        return [(t.params["x"], t.params["layers"]) for t in sorted(result.trials, key=lambda t: t.number)]

    whole = params(run_local_sweep(config, tmp_path / "whole", seed=3, progress=False))
    first = params(run_local_sweep(config, tmp_path / "parts", max_trials=2, seed=3, progress=False))
    both = params(run_local_sweep(config, tmp_path / "parts", resume=True, seed=3, progress=False))
    assert len(set(whole)) == 4 and both[:2] == first
    assert both == whole
    other = params(run_local_sweep(config, tmp_path / "other", seed=4, progress=False))
    assert not set(other) & set(whole)


def test_a_trial_leaves_no_process_behind_and_the_outputs_are_private(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    pids = tmp_path / "pids.txt"
    monkeypatch.setenv("SWEEP_TEST_CALLS", str(tmp_path / "calls.txt"))
    monkeypatch.setenv("SWEEP_TEST_PIDS", str(pids))
    out = tmp_path / "out"
    try:
        result = run_local_sweep(load_sweep_config(write_sweep(tmp_path)), out, progress=False)
        assert [t.value for t in result.trials] == [2.0, 6.0]
        assert len(read_pids(pids)) == 4
        assert wait_dead(read_pids(pids), 5.0) == [], "a finished trial's child survived it"
    finally:
        for pid in read_pids(pids):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    folders = [out, *out.glob("trial-*")]
    assert len(folders) == 3 and all(mode(p) == 0o700 for p in folders)
    files = [out / n for n in ("optuna.db", "trials.csv", "best.yaml", "sweep.png")]
    files += [t / n for t in out.glob("trial-*") for n in ("params.yaml", "log.txt")]
    assert all(mode(p) == 0o600 for p in files), {str(p): oct(mode(p)) for p in files}


def test_a_timed_out_trial_is_killed_with_its_children(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from discoverygym.experiments.sweep import TrialFailed, run_trial

    pids = tmp_path / "pids.txt"
    monkeypatch.setenv("SWEEP_TEST_CALLS", str(tmp_path / "calls.txt"))
    monkeypatch.setenv("SWEEP_TEST_PIDS", str(pids))
    monkeypatch.setenv("SWEEP_TEST_HANG", "1.0")
    config = load_sweep_config(write_sweep(tmp_path))
    try:
        with pytest.raises(TrialFailed, match="timed out after 3"):
            run_trial(config, {"x": 1.0, "layers": 2}, tmp_path / "trial", "t", timeout_s=3)
        assert len(read_pids(pids)) == 2 and wait_dead(read_pids(pids), 5.0) == []
    finally:
        for pid in read_pids(pids):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_parallel_sweep_kills_its_trials_and_retries_them(tmp_path: Path, sig) -> None:
    calls, pids = tmp_path / "calls.txt", tmp_path / "pids.txt"
    env = dict(os.environ, SWEEP_TEST_CALLS=str(calls), SWEEP_TEST_PIDS=str(pids), SWEEP_TEST_HANG="3.0")
    path = write_sweep(tmp_path, parameters={"x": {"values": [1.0, 3.0, 5.0]}, "layers": {"value": 1}})
    out = tmp_path / "out"
    sweep = subprocess.Popen(sweep_cli(path, out, "--parallel", "2"), env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while "3.0 1" not in (calls.read_text() if calls.exists() else "") or len(read_pids(pids)) < 6:
            assert time.monotonic() < deadline and sweep.poll() is None, "the sweep never hung"
            time.sleep(0.2)
        sweep.send_signal(sig)
        assert sweep.wait(timeout=30) != 0
        assert wait_dead(read_pids(pids)) == [], "a trial or its child outlived the interrupted sweep"
    finally:
        for pid in read_pids(pids):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(sweep.pid, signal.SIGKILL)
    env.pop("SWEEP_TEST_HANG")
    env.pop("SWEEP_TEST_PIDS")
    done = subprocess.run(sweep_cli(path, out, "--resume"), env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = list(csv.DictReader((out / "trials.csv").open()))
    assert sorted(float(r["loss"]) for r in rows if r["state"] == "complete") == [1.0, 5.0, 5.0]
