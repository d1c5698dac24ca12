"""The cap set game in the RL layer: its adapter scores through the game's checker, and the
shipped config trains, validates and evaluates (a tiny run)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from discoverygym.agents.base import run_episode
from discoverygym.agents.heuristics.capset import PriorityAgent
from discoverygym.agents.rl.config import resolve_config
from discoverygym.agents.rl.envs import game_of
from discoverygym.agents.rl.evaluate import SizeMismatch, evaluate_model
from discoverygym.agents.rl.games import adapter
from discoverygym.agents.rl.train import train
from discoverygym.envs.capset.env import CapSetEnv


def test_adapter_episodes_and_scores() -> None:
    capset = adapter(game_of("discoverygym/CapSet-v0"))
    assert capset.episodes("n5", {"n": 4, "render_mode": None}) == [
        ({"render_mode": None, "n": 5}, None)
    ]
    assert capset.eval_env_kwargs({"n": 4}) == {}
    final = run_episode(CapSetEnv(n=5), PriorityAgent()).final_info
    assert capset.summarise([final], "n5") == pytest.approx(
        {"size": 32.0, "gap_pct": 100 * 13 / 45, "score": 100 * 13 / 45}
    )
    (record,) = capset.records([final], "n5", "model", {"env_steps": 1.0}, 0.5)
    assert (record.game, record.metric, record.value, record.bound) == ("capset", "size", 32, 45)
    assert record.family == "rl" and record.gap == pytest.approx(100 * 13 / 45)
    with pytest.raises(KeyError, match="n1, n2"):
        capset.episodes("n12", {})


def test_adapter_verifies_the_cap_set_it_is_given() -> None:
    capset = adapter("capset")
    final = run_episode(CapSetEnv(n=3), PriorityAgent()).final_info
    forged = {**final, "size": 9}
    with pytest.raises(AssertionError, match="disagree"):
        capset.summarise([forged], "n3")
    line = {**final, "cap_set": np.array([[0, 0, 0], [1, 1, 1], [2, 2, 2]], dtype=np.int8)}
    with pytest.raises(ValueError, match="lie on a line"):
        capset.records([line], "n3", "model", {}, 0.0)


def test_shipped_config_trains_and_evaluates(tmp_path: Path) -> None:
    config = resolve_config("ppo_capset")
    assert config["env_id"] == "discoverygym/CapSet-v0" and config["env_kwargs"] == {"n": 4}
    tiny = {
        **config,
        "env_kwargs": {"n": 3},
        "n_envs": 2,
        "algo_kwargs": {**config["algo_kwargs"], "n_steps": 32, "batch_size": 32},
        "eval": {"dataset": "n3", "freq": 64},
        "wandb": {"mode": "disabled"},
    }
    zip_path = train(config=tiny, total_steps=128, run_dir=tmp_path, progress_bar=False)
    (record,) = evaluate_model(zip_path, "n3")
    assert record.game == "capset" and record.family == "rl" and record.bound == 9
    assert 1 <= record.value <= 9 and record.compute["env_steps"] >= 128
    with pytest.raises(SizeMismatch, match="'n4'"):
        evaluate_model(zip_path, "n4")
