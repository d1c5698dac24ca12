"""Training smoke runs (every algo), SubprocVecEnv with masks, saved artifacts and W&B offline runs."""

from __future__ import annotations

import csv
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import yaml
from discoverygym.agents.rl.config import resolve_config, shipped_configs
from discoverygym.agents.rl.curve import curve_path
from discoverygym.agents.rl.evaluate import RLAgent, greedy_actions, load_model
from discoverygym.agents.rl.tracking import WandbOutputFormat
from discoverygym.agents.rl.train import sidecars, train

BP = "discoverygym/OnlineBinPacking-v0"
TINY_BP = {
    "env_id": BP,
    "env_kwargs": {"dataset": "weibull-60:seed=1,count=3"},
    "algo_kwargs": {"n_steps": 32, "batch_size": 32, "n_epochs": 1},
    "eval": {"dataset": "weibull-60:seed=100,count=2", "freq": 100},
}


def _tiny(algo: str, **extra) -> dict:
    config = {**TINY_BP, "algo": algo, **extra}
    if algo == "dqn":
        config["algo_kwargs"] = {
            "learning_starts": 50,
            "buffer_size": 500,
            "batch_size": 16,
            "train_freq": 4,
        }
        config["policy"] = "MultiInputPolicy"
    elif algo == "a2c":
        config["algo_kwargs"] = {"n_steps": 8}
    return config


@pytest.mark.parametrize(
    ("algo", "policy"),
    [
        ("maskable_ppo", "binpacking"),
        ("ppo", "binpacking"),
        ("a2c", None),
        ("dqn", "MultiInputPolicy"),
    ],
)
def test_every_algo_trains_saves_and_reloads(tmp_path: Path, algo: str, policy: str | None) -> None:
    zip_path = train(
        config=_tiny(algo, policy=policy),
        total_steps=200,
        seed=3,
        run_dir=tmp_path,
        progress_bar=False,
    )
    config_path, meta_path = sidecars(zip_path)
    assert zip_path.exists() and config_path.exists() and meta_path.exists()
    config = yaml.safe_load(config_path.read_text())
    assert config["algo"] == algo and config["seed"] == 3 and config["total_steps"] == 200
    meta = json.loads(meta_path.read_text())
    assert meta["compute"]["env_steps"] >= 200 and meta["compute"]["cpu_seconds"] > 0
    assert {"torch", "stable_baselines3", "sb3_contrib", "gymnasium", "numpy"} <= set(
        meta["versions"]
    )
    assert meta["validation"] and "excess_pct" in meta["validation"][-1]
    for saved in (zip_path, tmp_path / "best.zip"):  # each saved model carries its curve
        assert curve_path(saved).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # round trip: the reloaded model plays the same greedy actions as the saved one
    model, loaded_config, _ = load_model(zip_path)
    assert loaded_config == config
    env = gym.make(BP, dataset="weibull-60:seed=7,count=1")
    obs, info = env.reset(seed=0)
    agent = RLAgent.load(zip_path)
    for _ in range(30):
        mask = info["action_mask"][None].astype(bool)
        assert greedy_actions(model, [obs], mask)[0] == agent.act(obs, info)
        obs, _, terminated, _, info = env.step(agent.act(obs, info))
        assert not info["illegal_action"]
        if terminated:
            break


def test_maskable_ppo_with_subproc_vec_env(tmp_path: Path) -> None:
    config = _tiny("maskable_ppo", policy="binpacking", n_envs=2, vec_env="subproc", eval=None)
    zip_path = train(config=config, total_steps=128, run_dir=tmp_path, progress_bar=False)
    meta = json.loads(sidecars(zip_path)[1].read_text())
    assert meta["compute"]["env_steps"] == 128


def test_wandb_offline_run_written_with_metrics_and_model_artifact(tmp_path: Path) -> None:
    assert os.environ["WANDB_MODE"] == "offline"  # set by tests/conftest.py
    zip_path = train(
        config=_tiny("maskable_ppo", policy="binpacking"),
        total_steps=128,
        run_dir=tmp_path,
        wandb={"project": "discoverygym-tests", "group": "smoke", "tags": ["test"]},
        progress_bar=False,
    )
    meta = json.loads(sidecars(zip_path)[1].read_text())
    assert meta["wandb"]["mode"] == "offline"
    files = Path(meta["wandb"]["dir"])
    run_dir = files.parent
    assert run_dir.name.startswith("offline-run-") and run_dir.name.endswith(meta["wandb"]["id"])
    assert str(run_dir).startswith(os.environ["WANDB_DIR"])
    # the offline run file holds the config, SB3's and the validation metrics and the model
    # artifact (wandb-core may still be flushing it when `finish` returns under load: poll)
    needles = (
        b"maskable_ppo",
        b"train/approx_kl",
        b"eval/excess_pct",
        b"global_step",
        b"model.zip",
        b"smoke",
    )
    path = run_dir / f"run-{meta['wandb']['id']}.wandb"
    deadline = time.monotonic() + 30
    while True:
        data = path.read_bytes()
        missing = [n for n in needles if n not in data]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not missing, missing


def test_wandb_output_format_forwards_scalars_at_sb3_step() -> None:
    class Run:
        def __init__(self) -> None:
            self.logged: list[dict] = []

        def log(self, data: dict) -> None:
            self.logged.append(data)

    run = Run()
    writer = WandbOutputFormat(run)
    writer.write(
        {"train/loss": np.float32(0.5), "rollout/ep_rew_mean": 3, "skip": "text", "hidden": 1.0},
        {"train/loss": ("",), "rollout/ep_rew_mean": ("",), "skip": ("",), "hidden": ("wandb",)},
        step=1234,
    )
    assert run.logged == [{"train/loss": 0.5, "rollout/ep_rew_mean": 3, "global_step": 1234}]


def test_config_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="did you mean 'total_steps'"):
        resolve_config({"env_id": BP, "total_step": 5})
    with pytest.raises(ValueError, match="unknown algo 'sac'"):
        resolve_config({"env_id": BP, "algo": "sac"})
    with pytest.raises(FileNotFoundError, match="ppo_binpacking"):
        resolve_config("ppo_binpackin")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a list\n")
    with pytest.raises(ValueError, match="bad.yaml: expected a mapping"):
        resolve_config(bad)


def test_shipped_configs_resolve() -> None:
    names = shipped_configs()
    assert "ppo_binpacking" in names
    for name in names:
        config = resolve_config(name)
        assert config["env_id"].startswith("discoverygym/")


JS = "discoverygym/JobShop-v0"
TS = "discoverygym/TensorDecomposition-v0"


@pytest.mark.parametrize(
    ("env_id", "env_kwargs", "algo", "policy"),
    [
        (JS, {"dataset": "random-4x3"}, "ppo", "jobshop"),
        (JS, {"dataset": "random-4x3"}, "a2c", "jobshop"),
        (JS, {"dataset": "random-4x3"}, "dqn", "MultiInputPolicy"),
        (TS, {"coefficients": [0, 1], "field": "mod2"}, "a2c", None),
        (TS, {"coefficients": [-1, 0, 1]}, "ppo", None),
    ],
)
def test_other_games_train(
    tmp_path: Path, env_id: str, env_kwargs: dict, algo: str, policy: str | None
) -> None:
    config = {
        "env_id": env_id,
        "algo": algo,
        "env_kwargs": env_kwargs,
        "policy": policy,
        "wandb": {"mode": "disabled"},
        "algo_kwargs": {"n_steps": 16}
        if algo in ("ppo", "a2c", "maskable_ppo")
        else {"learning_starts": 16},
    }
    if algo in ("ppo", "maskable_ppo"):
        config["algo_kwargs"].update(batch_size=16, n_epochs=1)
    zip_path = train(config=config, total_steps=48, run_dir=tmp_path, progress_bar=False)
    model, _, meta = load_model(zip_path)
    assert meta["compute"]["env_steps"] >= 48 and model.num_timesteps >= 48


@pytest.mark.parametrize(
    ("algo", "message"),
    [
        ("dqn", "dqn needs a Discrete action space"),
        ("maskable_ppo", "maskable_ppo needs an env with action_masks"),
    ],
)
def test_unsupported_algo_for_the_tensor_game(tmp_path: Path, algo: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        train(
            config={"env_id": TS, "algo": algo, "wandb": {"mode": "disabled"}},
            total_steps=16,
            run_dir=tmp_path,
            progress_bar=False,
        )


def test_init_from_starts_from_the_saved_weights(tmp_path: Path) -> None:
    import torch as th
    from discoverygym.agents.rl.envs import make_vec_env
    from discoverygym.agents.rl.train import build_model

    config = _tiny("maskable_ppo", policy="binpacking", eval=None, wandb={"mode": "disabled"})
    zip_path = train(config=config, total_steps=64, run_dir=tmp_path / "a", progress_bar=False)
    resolved = resolve_config(config, init_from=str(zip_path), seed=9)
    model = build_model(resolved, make_vec_env(resolved))
    saved, _, _ = load_model(zip_path)
    for (name, a), (_, b) in zip(
        model.policy.state_dict().items(), saved.policy.state_dict().items()
    ):
        assert th.equal(a, b), name
    with pytest.raises(FileNotFoundError, match="init_from: no model at"):
        build_model(
            {**resolved, "init_from": str(tmp_path / "missing.zip")}, make_vec_env(resolved)
        )


def test_linear_schedules_in_algo_kwargs(tmp_path: Path) -> None:
    config = _tiny("maskable_ppo", policy="binpacking", eval=None, wandb={"mode": "disabled"},
                   algo_kwargs={**TINY_BP["algo_kwargs"], "learning_rate": "lin_0.001",
                                "clip_range": "lin_0.2"})
    zip_path = train(config=config, total_steps=64, run_dir=tmp_path, progress_bar=False)
    model, saved, _ = load_model(zip_path)
    assert saved["algo_kwargs"]["learning_rate"] == "lin_0.001"  # the config keeps the spelling
    # SB3 calls schedules with the remaining progress: 1 at the first update, 0 at the end
    assert model.lr_schedule(1.0) == pytest.approx(0.001)
    assert model.lr_schedule(0.25) == pytest.approx(0.00025)
    assert model.clip_range(0.5) == pytest.approx(0.1)
    for bad in ("lin_", "lin_abc", "exp_0.1", "lin_-1"):
        with pytest.raises(ValueError, match=f"lin_<positive number>.*{bad}"):
            resolve_config({**config, "algo_kwargs": {"learning_rate": bad}})


def test_validation_on_several_sets_averages_them(tmp_path: Path) -> None:
    from discoverygym.agents.rl.evaluate import validate

    sets = ["weibull-60:seed=100,count=2", "weibull-60:seed=200,count=3"]
    config = _tiny("maskable_ppo", policy="binpacking", wandb={"mode": "disabled"},
                   eval={"dataset": sets, "freq": 100})
    zip_path = train(config=config, total_steps=64, run_dir=tmp_path, progress_bar=False)
    model, saved, _ = load_model(zip_path)
    both = validate(model, saved)
    one = [validate(model, {**saved, "eval": {**saved["eval"], "dataset": s}}) for s in sets]
    assert both["score"] == pytest.approx((one[0]["score"] + one[1]["score"]) / 2)
    assert both["excess_pct"] == pytest.approx((one[0]["excess_pct"] + one[1]["excess_pct"]) / 2)
    assert both[f"{sets[1]}/score"] == pytest.approx(one[1]["score"])
    meta = json.loads(sidecars(zip_path)[1].read_text())
    assert meta["validation"] and "score" in meta["validation"][-1]
    with open(tmp_path / "progress.csv", newline="") as f:  # one column per key, per-set keys too
        rows = list(csv.reader(f))
    assert {len(row) for row in rows} == {len(rows[0])}
    assert f"eval/{sets[1].replace(',', ';')}/score" in rows[0]
    with pytest.raises(ValueError, match="eval.dataset is an empty list"):
        validate(model, {**saved, "eval": {**saved["eval"], "dataset": []}})


def test_a_run_stopped_early_leaves_a_usable_best_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed after its validations but before it saves model.zip and writes its sidecars, the
    run's best.zip still has its config and a provisional meta beside it: it loads and plays."""
    from discoverygym.agents.rl.evaluate import evaluate_model
    from stable_baselines3.common.base_class import BaseAlgorithm

    original = BaseAlgorithm.save

    def save_then_die(self, path, *args, **kwargs):
        if Path(path).name == "model.zip":
            raise KeyboardInterrupt
        return original(self, path, *args, **kwargs)

    config = _tiny("maskable_ppo", policy="binpacking", wandb={"mode": "disabled"},
                   eval={"dataset": "weibull-60:seed=100,count=2", "freq": 32})
    monkeypatch.setattr(BaseAlgorithm, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train(config=config, total_steps=64, run_dir=tmp_path, progress_bar=False)
    best = tmp_path / "best.zip"
    config_path, meta_path = sidecars(best)
    assert best.exists() and config_path.exists() and not (tmp_path / "model.zip").exists()
    meta = json.loads(meta_path.read_text())
    assert meta["provisional"] and meta["best"]["score"] == min(v["score"] for v in meta["validation"])
    (record,) = evaluate_model(best, "weibull-60:seed=100,count=2")
    assert record.value == pytest.approx(meta["best"]["excess_pct"])


def _sigterm_after_validations(count: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGTERM to this process (as `kill` or a scheduler's preemption sends it) right after the
    run's `count`-th validation, so that it lands mid-training whatever the machine's speed."""
    from discoverygym.agents.rl.callbacks import ValidationCallback

    done = [0]
    original = ValidationCallback.evaluate_now

    def evaluate_then_kill(self: Any, model: Any) -> dict[str, float]:
        result = original(self, model)
        done[0] += 1
        if done[0] == count:
            os.kill(os.getpid(), signal.SIGTERM)
        return result

    monkeypatch.setattr(ValidationCallback, "evaluate_now", evaluate_then_kill)


def test_sigterm_stops_training_and_keeps_the_model_with_its_notes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sigterm_guard: Any
) -> None:
    """Stopped early, the run still saves model.zip, its config and meta (saying so), the best
    checkpoint's sidecars and the curve, and the process goes on."""
    config = _tiny("maskable_ppo", policy="binpacking", wandb={"mode": "disabled"},
                   eval={"dataset": "weibull-60:seed=100,count=2", "freq": 64})
    _sigterm_after_validations(2, monkeypatch)
    zip_path = train(config=config, total_steps=10**7, run_dir=tmp_path, progress_bar=False)
    assert signal.getsignal(signal.SIGTERM) is sigterm_guard  # the handler is put back
    meta = json.loads(sidecars(zip_path)[1].read_text())
    assert meta["interrupted"].endswith("of 10,000,000 env steps")
    assert 0 < meta["compute"]["env_steps"] < 10**7 and meta["validation"]
    assert sidecars(tmp_path / "best.zip")[0].is_file() and curve_path(zip_path).is_file()
    assert "provisional" not in json.loads(sidecars(tmp_path / "best.zip")[1].read_text())
    assert load_model(zip_path)[0].num_timesteps == meta["compute"]["env_steps"]


def test_train_command_says_it_was_interrupted_with_exit_code_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sigterm_guard: Any
) -> None:
    from discoverygym.experiments.cli import app
    from typer.testing import CliRunner

    config = tmp_path / "tiny.yaml"
    tiny = _tiny("maskable_ppo", policy="binpacking", wandb={"mode": "disabled"})
    config.write_text(yaml.safe_dump(tiny))
    _sigterm_after_validations(1, monkeypatch)
    result = CliRunner().invoke(app, ["train", "--config", str(config), "--total-steps",
                                      "10000000", "--out", str(tmp_path / "run"), "--no-progress"])
    output = " ".join(result.output.split())
    assert result.exit_code == 130, result.output
    assert "Interrupted: stopped by Ctrl-C or SIGTERM at" in output and "are saved" in output
    assert (tmp_path / "run" / "model.zip").is_file()
