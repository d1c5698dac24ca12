"""Evaluation of saved models: records with the heuristics' metrics, agent wrapper, CLI commands."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import typer
import yaml
from discoverygym.agents.base import Agent, run_episode
from discoverygym.experiments.rl_commands import evaluate_model_command, train_command
from discoverygym.agents.rl.envs import BinPackingTopK, topk_agent_view
from discoverygym.agents.rl.evaluate import RLAgent, evaluate_model
from discoverygym.agents.rl.train import train
from discoverygym.envs.binpacking import instance_bounds, load_dataset
from discoverygym.envs.jobshop.checker import check_schedule
from discoverygym.envs.jobshop.instances import load_instance
from discoverygym.agents.records import COLUMNS, Record
from discoverygym.agents.rl.curve import curve_path
from typer.testing import CliRunner

BP = "discoverygym/OnlineBinPacking-v0"
CS = "discoverygym/CapSet-v0"
JS = "discoverygym/JobShop-v0"


@pytest.fixture(scope="module")
def binpacking_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = {
        "env_id": BP,
        "algo": "maskable_ppo",
        "env_kwargs": {"dataset": "weibull-60:seed=1,count=3"},
        "reward": "waste",
        "wrapper": {"name": "binpacking_topk", "k": 4},
        "policy": "binpacking",
        "policy_kwargs": {"scorer_kwargs": {"hidden": 16, "best_fit_prior": 5.0}},
        "algo_kwargs": {"n_steps": 64, "batch_size": 64, "n_epochs": 1},
        "wandb": {"mode": "disabled"},
    }
    return train(
        config=config, total_steps=128, run_dir=tmp_path_factory.mktemp("bp"), progress_bar=False
    )


@pytest.fixture(scope="module")
def jobshop_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = {
        "env_id": JS,
        "algo": "maskable_ppo",
        "env_kwargs": {"dataset": "random-4x3", "normalize_reward": True},
        "policy": "jobshop",
        "policy_kwargs": {"scorer_kwargs": {"hidden": 16}},
        "algo_kwargs": {"n_steps": 48, "batch_size": 48, "n_epochs": 1},
        "eval": {"dataset": "random-5x3:seed=0,n=2", "freq": 50},
        "wandb": {"mode": "disabled"},
    }
    return train(
        config=config, total_steps=96, run_dir=tmp_path_factory.mktemp("js"), progress_bar=False
    )


def test_binpacking_records_match_the_suite_protocol(binpacking_zip: Path) -> None:
    dataset = "weibull-200:seed=9,count=2"
    (record,) = evaluate_model(binpacking_zip, dataset, name="tiny")
    assert isinstance(record, Record) and tuple(record.to_dict()) == COLUMNS
    assert (record.game, record.dataset, record.agent, record.family, record.metric) == (
        "binpacking",
        dataset,
        "tiny",
        "rl",
        "excess_pct",
    )
    data = load_dataset(dataset)
    l1 = np.array([instance_bounds(inst).l1 for inst in data])
    assert record.bound == pytest.approx(l1.mean())
    assert record.compute["env_steps"] == 128 and record.compute["cpu_seconds"] > 0
    # the batched evaluation and the Agent played one episode at a time (the suites' path) agree
    agent = RLAgent.load(binpacking_zip)
    assert isinstance(agent, Agent) and agent.family == "rl"
    env = gym.make(BP, dataset=dataset)
    bins = [
        run_episode(env, agent, options={"instance": name}).final_info["bins_used"]
        for name in data.names
    ]
    assert record.value == pytest.approx(100 * (np.mean(bins) - l1.mean()) / l1.mean())
    assert record.gap == record.value


def test_jobshop_records_gap_to_best_upper_bound(jobshop_zip: Path) -> None:
    (record,) = evaluate_model(jobshop_zip, "ft06")
    instance = load_instance("ft06")
    assert (record.game, record.metric, record.family, record.bound) == (
        "jobshop",
        "gap_pct",
        "rl",
        55.0,
    )
    result = run_episode(gym.make(JS, instance="ft06"), RLAgent.load(jobshop_zip))
    makespan = check_schedule(instance, result.final_info["starts"])
    assert record.value == pytest.approx(100 * (makespan - 55) / 55)


def test_topk_view_matches_the_wrapper() -> None:
    """The agent-side view of the top-k wrapper gives the same observation and the same moves."""
    env = BinPackingTopK(gym.make(BP, dataset="weibull-200:seed=3,count=1"), k=3)
    raw = gym.make(BP, dataset="weibull-200:seed=3,count=1")
    obs, info = env.reset(seed=0)
    raw_obs, raw_info = raw.reset(seed=0)
    rng = np.random.default_rng(0)
    while True:
        view, mask, to_env = topk_agent_view(raw_obs, raw_info, k=3)
        for key in view:
            np.testing.assert_array_equal(view[key], obs[key])
        np.testing.assert_array_equal(mask, env.action_masks())
        action = int(rng.choice(np.flatnonzero(mask)))
        assert raw_info["action_mask"][to_env(action)] == 1
        obs, _, done, _, info = env.step(action)
        raw_obs, _, raw_done, _, raw_info = raw.step(to_env(action))
        assert done == raw_done
        if done:
            break
    np.testing.assert_array_equal(info["assignment"], raw_info["assignment"])


def test_cli_train_then_evaluate_json(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command("train")(train_command)
    app.command("evaluate")(evaluate_model_command)
    config = tmp_path / "tiny.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "env_id": BP,
                "env_kwargs": {"dataset": "weibull-60:seed=1,count=2"},
                "policy": "binpacking",
                "algo_kwargs": {"n_steps": 32, "batch_size": 32, "n_epochs": 1},
            }
        )
    )
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "train",
            "--config",
            str(config),
            "--algo",
            "maskable_ppo",
            "--total-steps",
            "64",
            "--seed",
            "1",
            "--out",
            str(tmp_path / "run"),
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    zip_path = tmp_path / "run" / "model.zip"
    assert zip_path.exists()
    result = runner.invoke(
        app,
        ["evaluate", "--agent", str(zip_path), "--dataset", "weibull-60:seed=5,count=2", "--json"],
    )
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.output)
    assert row["game"] == "binpacking" and row["metric"] == "excess_pct" and row["agent"] == "run"
    bad = runner.invoke(app, ["train", "--config", str(config), "--algo", "sac"])
    assert bad.exit_code != 0 and "unknown algo 'sac'" in bad.output
    missing = runner.invoke(app, ["evaluate", "--agent", "best_fit", "--dataset", "or1"])
    assert missing.exit_code != 0 and "--game is required" in missing.output


def test_shipped_models_load_and_play() -> None:
    """Every shipped model has its sidecars, loads, and plays a whole small instance set."""
    from discoverygym.agents.rl.evaluate import shipped_models

    models = shipped_models()
    assert {"ppo_binpacking", "ppo_jobshop", "ppo_tensor"} <= set(models)
    assert set(shipped_models("jobshop")) == {
        n for n in models if RLAgent.load(models[n]).config["env_id"] == JS
    }
    datasets = {
        BP: "weibull-100:seed=11,count=2",
        JS: "ft06",
        "discoverygym/TensorDecomposition-v0": "2x2x2",
    }
    values: dict[str, float] = {}
    for name, path in models.items():
        agent = RLAgent.load(path)
        assert (
            agent.name == name
            and agent.compute["env_steps"] > 0
            and agent.compute["cpu_seconds"] > 0
        )
        assert curve_path(path).exists(), f"{name} ships no training curve"
        env_id = agent.config["env_id"]
        dataset = f"n{agent.config['env_kwargs']['n']}" if env_id == CS else datasets[env_id]
        (record,) = evaluate_model(path, dataset)
        assert record.agent == name and record.family == "rl" and record.value >= 0
        values[name] = record.value
    # issue 14's cap set target: each shipped cap set policy beats the constant priority (2^n)
    capset = shipped_models("capset")
    assert {"ppo_capset_n4", "ppo_capset_n5", "ppo_capset_n6"} <= set(capset)
    for name, path in capset.items():
        n = RLAgent.load(path).config["env_kwargs"]["n"]
        assert values[name] > 2**n, f"{name}: {values[name]} vectors, greedy has {2**n}"
    # issue 5's tensor target: a valid (checker-verified) decomposition of <2,2,2> of rank <= 8
    (record,) = evaluate_model(models["ppo_tensor"], "2x2x2")
    assert record.value <= 8


@pytest.mark.parametrize("name", ["ppo_jobshop_3m", "ppo_jobshop_evolved"])
def test_shipped_job_shop_policies_beat_mwkr_on_every_taillard_size(name: str) -> None:
    """Issue 14's job shop "must": below the best dispatching rule (MWKR) on every Taillard size,
    greedy, each schedule checked by the independent checker (`evaluate_model` checks them)."""
    from discoverygym.agents.rl.evaluate import shipped_models
    from discoverygym.experiments.evaluate import evaluate

    model = shipped_models("jobshop")[name]
    for size in ("15x15", "20x15", "20x20", "30x15", "30x20", "50x15", "50x20", "100x20"):
        (rl,) = evaluate(str(model), None, f"taillard-{size}")
        (mwkr,) = evaluate("mwkr", "jobshop", f"taillard-{size}")
        assert rl.value < mwkr.value - 1.0, (size, rl.value, mwkr.value)


def test_ppo_binpacking_ss_is_below_one_percent_on_weibull_sets_it_never_saw() -> None:
    """Issue 14's Weibull target: a policy at or below 1 % excess on Weibull 5k and on a fresh
    Weibull 10k set (the 100k set, also below 1 %, is left to `compare --full`: 70 s)."""
    from discoverygym.agents.rl.evaluate import shipped_models

    model = shipped_models("binpacking")["ppo_binpacking_ss"]
    for dataset in ("weibull5k", "weibull-10k:seed=0"):
        (record,) = evaluate_model(model, dataset)
        assert record.value <= 1.0, (dataset, record.value)


def test_bc_binpacking_or_beats_best_fit_on_each_or_set() -> None:
    """Issue 14's OR-protocol target: the policy trained on generated U[20,100] items (capacity
    150) uses fewer bins than best fit on each of OR1-OR4, sets it never saw."""
    from discoverygym.agents.rl.evaluate import shipped_models
    from discoverygym.experiments.suites import get_suite

    model = shipped_models("binpacking")["bc_binpacking_or"]
    suite = get_suite("binpacking")
    for dataset in ("or1", "or2", "or3", "or4"):
        (record,) = evaluate_model(model, dataset)
        (best_fit,) = suite.evaluate("best_fit", dataset)
        assert record.value < best_fit.value, (dataset, record.value, best_fit.value)
