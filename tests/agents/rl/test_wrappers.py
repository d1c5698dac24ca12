"""Training wrappers: reward shaping keeps the objective, curricula are seeded, SB3 accepts them."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from discoverygym.agents.rl.envs import (
    BinPackingTopK,
    BinPackingWasteReward,
    TensorCurriculum,
    TensorRankShaping,
    make_env,
)
from discoverygym.agents.rl.evaluate import evaluate_model
from discoverygym.agents.rl.train import train
from hypothesis import given, settings
from hypothesis import strategies as st
from stable_baselines3.common.env_checker import check_env

BP = "discoverygym/OnlineBinPacking-v0"
TS = "discoverygym/TensorDecomposition-v0"


@settings(max_examples=10)
@given(seed=st.integers(0, 1000))
def test_waste_reward_is_minus_the_wasted_space(seed: int) -> None:
    env = BinPackingWasteReward(gym.make(BP, dataset="weibull-50:seed=2,count=3"))
    _, info = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    total, done = 0.0, False
    while not done:
        _, reward, done, _, info = env.step(int(rng.choice(np.flatnonzero(info["action_mask"]))))
        total += reward
    items = env.unwrapped.instance.sizes.sum() / env.unwrapped.capacity
    assert total == pytest.approx(items - info["bins_used"])


@settings(max_examples=10)
@given(seed=st.integers(0, 1000))
def test_rank_shaping_adds_only_the_initial_bound(seed: int) -> None:
    """Shaped return = env return + the target's rank bound, whatever the moves."""
    raw = gym.make(TS, coefficients=(-1, 0, 1), max_steps=6)
    shaped = TensorRankShaping(gym.make(TS, coefficients=(-1, 0, 1), max_steps=6))
    options = {"target": "synthetic", "rank": 3}
    _, info = raw.reset(seed=seed, options=options)
    shaped.reset(seed=seed, options=options)
    bound0 = info["rank_bound"]
    rng = np.random.default_rng(seed)
    totals = [0.0, 0.0]
    while True:
        action = rng.integers(0, 3, size=raw.action_space.shape)
        _, r1, done1, trunc1, _ = raw.step(action)
        _, r2, done2, trunc2, _ = shaped.step(action)
        totals[0] += r1
        totals[1] += r2
        assert (done1, trunc1) == (done2, trunc2)
        if done1 or trunc1:
            break
    assert totals[1] == pytest.approx(totals[0] + bound0)


def test_curriculum_is_seeded_and_mixes_targets() -> None:
    def targets(seed: int) -> list[bytes]:
        env = TensorCurriculum(gym.make(TS), matmul_prob=0.5, max_rank=4)
        out = [env.reset(seed=seed)[0]["residual"].tobytes()]
        out += [env.reset()[0]["residual"].tobytes() for _ in range(20)]
        return out

    a, b = targets(3), targets(3)
    assert a == b
    matmul = gym.make(TS).reset()[0]["residual"].tobytes()
    assert 0 < sum(t == matmul for t in a) < len(a)


def test_wrapped_envs_pass_sb3_check_env() -> None:
    check_env(BinPackingTopK(gym.make(BP, dataset="weibull-100:seed=1,count=2"), k=5), warn=False)
    check_env(
        make_env(
            TS,
            {"coefficients": [-1, 0, 1]},
            reward="rank_shaping",
            wrapper={"name": "tensor_curriculum"},
            monitor=False,
        ),
        warn=False,
    )
    with pytest.raises(ValueError, match="unknown wrapper 'topk'; known: binpacking_topk"):
        make_env(BP, {}, wrapper={"name": "topk"})
    with pytest.raises(ValueError, match="needs OnlineBinPackingEnv"):
        BinPackingTopK(gym.make(BP, observation="bins"))


def test_tensor_training_smoke_and_rank_record(tmp_path: Path) -> None:
    config = {
        "env_id": TS,
        "algo": "ppo",
        "env_kwargs": {"coefficients": [-1, 0, 1]},
        "reward": "rank_shaping",
        "wrapper": {"name": "tensor_curriculum", "max_rank": 4},
        "policy_kwargs": {"net_arch": [32]},
        "algo_kwargs": {"n_steps": 64, "batch_size": 64, "n_epochs": 1},
        "eval": {"dataset": "2x2x2:synthetic=2,n=3", "freq": 64},
        "wandb": {"mode": "disabled"},
    }
    zip_path = train(config=config, total_steps=128, run_dir=tmp_path, progress_bar=False)
    (record,) = evaluate_model(zip_path, "2x2x2")
    assert (record.game, record.metric, record.bound, record.family) == (
        "tensor",
        "rank",
        7.0,
        "rl",
    )
    assert record.value >= 7


def test_the_tensor_games_move_limit_ends_the_episode_for_training() -> None:
    """`make_env` reports the tensor game's end at max_steps as termination (no bootstrap),
    with the env's penalty and final info unchanged."""
    env = make_env(TS, {"coefficients": [0, 1], "max_steps": 3}, monitor=False)
    raw = gym.make(TS, coefficients=[0, 1], max_steps=3)
    env.reset(seed=0)
    raw.reset(seed=0)
    zero = np.zeros(12, dtype=np.int64)
    for _ in range(3):
        _, r1, done1, trunc1, info1 = env.step(zero)
        _, r2, done2, trunc2, info2 = raw.step(zero)
        assert r1 == r2 and info1["rank_bound"] == info2["rank_bound"] and not trunc1
    assert (done1, trunc1, done2, trunc2) == (True, False, False, True)
    assert r1 == -1.0 - info2["rank_bound"]
