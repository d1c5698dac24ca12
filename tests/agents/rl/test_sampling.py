"""Decoding by sampling (`evaluate --samples K`): the best of K sampled rollouts per instance."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from discoverygym.agents.rl import games
from discoverygym.experiments.rl_commands import evaluate_model_command
from discoverygym.agents.rl.evaluate import (
    evaluate_model,
    load_model,
    model_name,
    play_best_of,
    play_greedy,
    shipped_models,
)
from discoverygym.agents.rl.train import train
from discoverygym.envs.jobshop.checker import check_schedule
from discoverygym.envs.jobshop.instances import load_instance
from discoverygym.experiments.compare import _sampled_agents, sampling_costs
from discoverygym.agents.records import Record
from discoverygym.experiments.suites import get_suite, split_samples
from typer.testing import CliRunner

JS = "discoverygym/JobShop-v0"
DATASET = "random-6x4:seed=3,n=3"


@pytest.fixture(scope="module")
def jobshop_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = {
        "env_id": JS,
        "env_kwargs": {"dataset": "random-5x4", "normalize_reward": True},
        "policy": "jobshop",
        "policy_kwargs": {"scorer_kwargs": {"hidden": 16}},
        "n_envs": 4,
        "algo_kwargs": {"n_steps": 32, "batch_size": 64, "n_epochs": 1},
        "wandb": {"mode": "disabled"},
    }
    return train(
        config=config, total_steps=128, run_dir=tmp_path_factory.mktemp("js"), progress_bar=False
    )


def _episodes(config: dict, dataset: str = DATASET) -> list:
    adapter = games.adapter("jobshop")
    return adapter.episodes(dataset, adapter.eval_env_kwargs(config["env_kwargs"]))


def test_best_of_k_is_the_best_of_its_rollouts_each_replayable_alone(jobshop_zip: Path) -> None:
    model, config, _ = load_model(jobshop_zip)
    episodes = _episodes(config)
    best, rollouts = play_best_of(model, config, episodes, samples=6, seed=7)
    assert len(best) == len(rollouts) == 3 and all(len(r) == 6 for r in rollouts)
    for i, (chosen, mine) in enumerate(zip(best, rollouts)):
        spans = [f["makespan"] for f in mine]
        assert chosen["makespan"] == min(spans) and all(chosen["makespan"] <= s for s in spans)
        for final in mine:  # every rollout is a feasible schedule of its instance
            assert check_schedule(load_instance(final["instance"]), final["starts"]) == final[
                "makespan"
            ]
            assert final["instance"] == episodes[i][1]["instance"]
    assert any(len({f["makespan"] for f in mine}) > 1 for mine in rollouts), "no sampling"
    # each rollout alone in its batch (chunk=1) is the same rollout: own generator per rollout
    _, alone = play_best_of(model, config, episodes, samples=6, seed=7, chunk=1)
    for mine, single in zip(rollouts, alone):
        for a, b in zip(mine, single):
            np.testing.assert_array_equal(a["starts"], b["starts"])
    # the same seed reproduces; another seed samples other rollouts
    again, _ = play_best_of(model, config, episodes, samples=6, seed=7)
    assert [f["makespan"] for f in again] == [f["makespan"] for f in best]
    _, other = play_best_of(model, config, episodes, samples=6, seed=8)
    assert any(
        not np.array_equal(a["starts"], b["starts"])
        for mine, theirs in zip(rollouts, other)
        for a, b in zip(mine, theirs)
    )


def test_one_deterministic_sample_is_greedy(jobshop_zip: Path) -> None:
    model, config, _ = load_model(jobshop_zip)
    episodes = _episodes(config)
    best, _ = play_best_of(model, config, episodes, samples=1, deterministic=True)
    greedy = play_greedy(model, JS, episodes)
    for a, b in zip(best, greedy):
        np.testing.assert_array_equal(a["starts"], b["starts"])
    with pytest.raises(ValueError, match="samples must be a positive integer, got 0"):
        play_best_of(model, config, episodes, samples=0)


def test_sampled_record_states_k_and_cost_and_scores_the_best(jobshop_zip: Path) -> None:
    model, config, _ = load_model(jobshop_zip)
    (greedy,) = evaluate_model(jobshop_zip, DATASET, name="tiny")
    (sampled,) = evaluate_model(jobshop_zip, DATASET, name="tiny", samples=8, seed=0)
    assert sampled.agent == "tiny@8" and greedy.agent == "tiny"
    assert sampled.compute["samples"] == 8 and "samples" not in greedy.compute
    assert sampled.compute["env_steps"] == greedy.compute["env_steps"]
    assert sampled.seconds > 0 and sampled.bound == greedy.bound
    best, _ = play_best_of(model, config, _episodes(config), samples=8, seed=0)
    summary = games.adapter("jobshop").summarise(best, DATASET)
    assert sampled.value == pytest.approx(summary["gap_pct"])


def test_sampling_through_the_cli_and_the_suite(jobshop_zip: Path) -> None:
    app = typer.Typer()
    app.command("evaluate")(evaluate_model_command)
    app.command("other")(lambda: None)  # two commands: typer keeps the subcommand's name
    result = CliRunner().invoke(
        app,
        ["evaluate", "--agent", str(jobshop_zip), "--dataset", "ft06", "--samples", "3", "--json"],
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    name = model_name(jobshop_zip)
    assert [r["agent"] for r in rows] == [name, f"{name}@3"]  # greedy, and beside it best of 3
    assert rows[1]["compute"]["samples"] == 3
    (record,) = get_suite("jobshop").evaluate(f"{jobshop_zip}@2", "ft06")
    assert record.agent == f"{name}@2" and record.compute["samples"] == 2
    assert split_samples("ppo_jobshop@128") == ("ppo_jobshop", 128)
    assert split_samples("best_fit") == ("best_fit", 0)
    assert split_samples("x@0") == ("x@0", 0)


def test_tensor_and_binpacking_models_sample() -> None:
    """MultiDiscrete (tensor) and masked top-k (bin packing) policies sample too."""
    models = shipped_models()
    model, config, _ = load_model(models["ppo_tensor"])
    adapter = games.adapter("tensor")
    episodes = adapter.episodes("2x2x2", adapter.eval_env_kwargs(config["env_kwargs"]))
    best, rollouts = play_best_of(model, config, episodes, samples=4, seed=1)
    ranks = [adapter.episode_score(f) for f in rollouts[0]]
    assert adapter.episode_score(best[0]) == min(ranks)
    model, config, _ = load_model(models["ppo_binpacking"])
    adapter = games.adapter("binpacking")
    episodes = adapter.episodes(
        "weibull-100:seed=5,count=2", adapter.eval_env_kwargs(config["env_kwargs"])
    )
    best, rollouts = play_best_of(model, config, episodes, samples=3, seed=1)
    for chosen, mine in zip(best, rollouts):
        assert chosen["bins_used"] == min(f["bins_used"] for f in mine)


def test_compare_adds_sampled_agents_and_their_cost() -> None:
    suite = get_suite("jobshop")
    names = ["mwkr", "ppo_jobshop"]
    assert _sampled_agents(suite, names, None, [16, 128]) == ["ppo_jobshop@16", "ppo_jobshop@128"]
    assert _sampled_agents(suite, ["ppo_jobshop"], ["ppo_jobshop", "ppo_jobshop@4"], []) == [
        "ppo_jobshop@4"
    ]
    assert _sampled_agents(suite, ["mwkr"], None, [16]) == []
    records = [
        Record("jobshop", "ft", "ppo_jobshop", "rl", "gap_pct", 10.0, seconds=1.5),
        Record(
            "jobshop", "ft", "ppo_jobshop@16", "rl", "gap_pct", 7.0, seconds=20.0,
            compute={"samples": 16.0},
        ),
    ]
    text = sampling_costs(records)
    assert "ppo_jobshop@16 on ft: best of 16 sampled rollouts per instance, 20.0 s" in text
    assert "(greedy: 1.5 s)" in text
    assert sampling_costs(records[:1]) == ""
