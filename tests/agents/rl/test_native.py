"""Training on the batched envs (``vec_env: native``): the batched forms of the RL wrappers
reproduce SyncVectorEnv over the wrapped single envs exactly, and every game trains natively."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from discoverygym.agents.rl.config import resolve_config
from discoverygym.agents.rl.envs import make_env, make_vec_env, native_kwargs, native_unsupported
from discoverygym.agents.rl.train import sidecars, train
from discoverygym.envs.batched import RaggedSyncVectorEnv, assert_same_trajectories
from discoverygym.envs.binpacking.vector import OnlineBinPackingVectorEnv
from discoverygym.envs.contract import InvalidActionError
from discoverygym.envs.tensor.vector import TensorDecompositionVectorEnv
from discoverygym.envs.vector_sb3 import SB3VecEnv

BP = "discoverygym/OnlineBinPacking-v0"
JS = "discoverygym/JobShop-v0"
TS = "discoverygym/TensorDecomposition-v0"


def _wrapped(env_id: str, kwargs: dict, reward: str | None, wrapper: dict | None, n: int):
    return RaggedSyncVectorEnv(
        [lambda: make_env(env_id, kwargs, reward=reward, monitor=False, wrapper=wrapper)] * n
    )


def _random_legal(rng: np.random.Generator, masks: np.ndarray) -> np.ndarray:
    picks = (rng.random(masks.shape) * masks).argmax(axis=1)
    # now and then any candidate, a padded one included (illegal: a new bin, flagged)
    odd = rng.random(len(picks)) < 0.2
    return np.where(odd, rng.integers(0, masks.shape[1], len(picks)), picks)


@pytest.mark.parametrize("k", [1, 4])
def test_binpacking_topk_waste_batched_equals_wrapped_single_envs(k: int) -> None:
    kwargs = {"dataset": "weibull-60:seed=1,count=3", "observation": "histogram"}
    batched = OnlineBinPackingVectorEnv(
        num_envs=3, **{**kwargs, "observation": "topk"}, topk=k, reward="waste"
    )
    reference = _wrapped(BP, kwargs, "waste", {"name": "binpacking_topk", "k": k}, 3)
    assert batched.single_observation_space == reference.single_observation_space
    assert batched.single_action_space == reference.single_action_space
    ended = assert_same_trajectories(
        batched, reference, seed=5, steps=200, sample=_random_legal, rng=np.random.default_rng(1)
    )
    assert ended >= 6  # several episodes ended, autoresets included
    with pytest.raises(InvalidActionError, match=f"outside the action space Discrete\\({k + 1}\\)"):
        batched.step(np.full(3, k + 1))
    with pytest.raises(InvalidActionError, match="outside the action space"):
        reference.envs[0].step(k + 1)


def test_binpacking_waste_alone_and_bad_arguments() -> None:
    kwargs = {"dataset": "weibull-60:seed=2,count=2"}
    batched = OnlineBinPackingVectorEnv(num_envs=2, **kwargs, reward="waste")
    reference = _wrapped(BP, kwargs, "waste", None, 2)
    assert_same_trajectories(
        batched,
        reference,
        seed=0,
        steps=90,
        sample=lambda rng, m: (rng.random(m.shape) * m).argmax(axis=1),
        rng=np.random.default_rng(0),
    )
    with pytest.raises(ValueError, match="reward 'wast'.*'bins', 'waste'"):
        OnlineBinPackingVectorEnv(num_envs=1, reward="wast")
    with pytest.raises(ValueError, match="topk must be an integer >= 1, got 0"):
        OnlineBinPackingVectorEnv(num_envs=1, observation="topk", topk=0)


@pytest.mark.parametrize("reward", ["rank_shaping", "residual_shaping"])
def test_tensor_shaping_curriculum_game_over_batched_equals_wrapped(reward: str) -> None:
    kwargs = {"n": 2, "m": 2, "p": 2, "coefficients": [0, 1], "max_steps": 6}
    curriculum = {"name": "tensor_curriculum", "matmul_prob": 0.5, "max_rank": 3}
    batched = TensorDecompositionVectorEnv(
        num_envs=4,
        **kwargs,
        reward=reward,
        game_over=True,
        curriculum={"matmul_prob": 0.5, "max_rank": 3},
    )
    reference = RaggedSyncVectorEnv(
        [
            lambda: make_env(TS, kwargs, reward=reward, monitor=False, wrapper=curriculum)
            # make_env adds TensorGameOver to every tensor env
        ]
        * 4
    )
    nvec = batched.single_action_space.nvec

    def sample(rng: np.random.Generator, masks: None) -> np.ndarray:
        return rng.integers(0, nvec, size=(4, len(nvec)))

    ended = assert_same_trajectories(
        batched, reference, seed=3, steps=60, sample=sample, rng=np.random.default_rng(2)
    )
    assert ended >= 20


def test_tensor_synthetic_targets_solved_by_their_demonstration_terminate() -> None:
    """Replaying a synthetic target's demonstration ends it (terminated, shaping pays the
    drop of the potential); the matmul sub-envs in the same reset carry no demonstration."""
    env = TensorDecompositionVectorEnv(
        num_envs=6,
        coefficients=[0, 1],
        reward="rank_shaping",
        game_over=True,
        curriculum={"matmul_prob": 0.5, "max_rank": 2},
    )
    _, info = env.reset(seed=11)
    demos = info.get("_demonstration", np.zeros(6, dtype=bool))
    assert 0 < demos.sum() < 6  # a mixed reset
    assert all(info["demonstration"][i] is None for i in np.flatnonzero(~demos))


def test_native_kwargs_of_the_shipped_configs() -> None:
    bp, js, ts = (resolve_config(n) for n in ("ppo_binpacking", "ppo_jobshop", "ppo_tensor"))
    assert native_kwargs(bp) == {
        **bp["env_kwargs"],
        "reward": "waste",
        "observation": "topk",
        "topk": 12,
    }
    assert native_kwargs(js) == js["env_kwargs"]
    assert native_kwargs(ts) == {
        **ts["env_kwargs"],
        "reward": "residual_shaping",
        "curriculum": {"matmul_prob": 0.5, "max_rank": 8},
        "game_over": True,
    }
    for config in (bp, js, ts):
        assert native_unsupported(config) is None
        assert config["vec_env"] == "native"
    cartpole = resolve_config({"env_id": "CartPole-v1", "algo": "ppo"})
    assert cartpole["vec_env"] == "dummy" and "no batched env" in native_unsupported(cartpole)
    with pytest.raises(ValueError, match="vec_env native: CartPole-v1 has no batched env"):
        resolve_config({"env_id": "CartPole-v1", "algo": "ppo", "vec_env": "native"})


def test_native_vec_env_matches_the_dummy_one_at_reset() -> None:
    config = resolve_config("ppo_binpacking", n_envs=2)
    native = make_vec_env({**config, "vec_env": "native"})
    dummy = make_vec_env({**config, "vec_env": "dummy"})
    try:
        assert isinstance(native.unwrapped, SB3VecEnv)
        assert native.observation_space == dummy.observation_space
        assert native.action_space == dummy.action_space
        a, b = native.reset(), dummy.reset()
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
        np.testing.assert_array_equal(
            np.stack(native.env_method("action_masks")), np.stack(dummy.env_method("action_masks"))
        )
    finally:
        native.close()
        dummy.close()


TINY = {
    BP: {
        "env_kwargs": {"dataset": "weibull-60:seed=1,count=3", "observation": "histogram"},
        "reward": "waste",
        "wrapper": {"name": "binpacking_topk", "k": 4},
        "policy": "binpacking",
        "eval": {"dataset": "weibull-60:seed=100,count=2", "freq": 100},
    },
    JS: {
        "env_kwargs": {"dataset": "random-4x3", "normalize_reward": True},
        "policy": "jobshop",
        "eval": {"dataset": "random-5x3:seed=0,n=2", "freq": 100},
    },
    TS: {
        "algo": "ppo",
        "env_kwargs": {"n": 2, "m": 2, "p": 2, "coefficients": [0, 1]},
        "reward": "residual_shaping",
        "wrapper": {"name": "tensor_curriculum", "matmul_prob": 0.5, "max_rank": 4},
        "policy": "MultiInputPolicy",
        "eval": {"dataset": "2x2x2", "freq": 100},
    },
}


@pytest.mark.parametrize("env_id", [BP, JS, TS])
def test_every_game_trains_on_its_batched_env(tmp_path: Path, env_id: str) -> None:
    config = {
        "env_id": env_id,
        "n_envs": 4,
        "algo_kwargs": {"n_steps": 32, "batch_size": 64, "n_epochs": 1},
        "wandb": {"mode": "disabled"},
        **TINY[env_id],
    }
    zip_path = train(config=config, total_steps=256, run_dir=tmp_path, progress_bar=False)
    config_path, meta_path = sidecars(zip_path)
    assert resolve_config(config_path)["vec_env"] == "native"
    meta = json.loads(meta_path.read_text())
    assert meta["compute"]["env_steps"] == 256
    assert meta["validation"] and np.isfinite(meta["validation"][-1]["score"])
