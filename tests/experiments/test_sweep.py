"""Sweeps: W&B YAML parsing, a local sweep with W&B offline, and resume after kill -9."""

from __future__ import annotations

import csv
import os
import signal
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
    done = subprocess.run(cli + ["--resume"], env=env, capture_output=True, text=True, timeout=300)
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
