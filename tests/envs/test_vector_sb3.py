"""SB3 VecEnv adapter over the batched games: SB3 semantics, and PPO / MaskablePPO train on it."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from sb3_contrib import MaskablePPO
from sb3_contrib.common.maskable.utils import get_action_masks, is_masking_supported
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv

from discoverygym.envs.binpacking import OnlineBinPackingEnv, weibull_dataset
from discoverygym.envs.jobshop import JobShopEnv
from discoverygym.envs.vector_sb3 import SB3VecEnv, make_sb3_vec_env, make_vector_env


def _same(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            _same(a[key], b[key])
    else:
        assert np.array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize(
    ("env_id", "single", "kwargs"),
    [
        (
            "discoverygym/OnlineBinPacking-v0",
            OnlineBinPackingEnv,
            {"dataset": weibull_dataset(12, 0, 3)},
        ),
        ("discoverygym/JobShop-v0", JobShopEnv, {"dataset": "random-3x3"}),
    ],
)
def test_same_as_dummy_vec_env(env_id, single, kwargs):
    """The adapter's observations, rewards, dones, terminal observations and masks are those of
    SB3's DummyVecEnv over single envs, seeded alike."""
    n = 3
    ours = make_sb3_vec_env(env_id, n, seed=7, monitor=False, **kwargs)
    ref = DummyVecEnv([lambda: single(**kwargs)] * n)
    ref.seed(7)
    _same(ours.reset(), ref.reset())
    rng = np.random.default_rng(0)
    ended = 0
    for _ in range(40):
        masks = get_action_masks(ours)
        _same(masks.astype(bool), get_action_masks(ref).astype(bool))
        actions = (rng.random(masks.shape) * masks).argmax(axis=1)
        obs, rew, done, infos = ours.step(actions)
        obs_r, rew_r, done_r, infos_r = ref.step(actions)
        _same(obs, obs_r)
        assert rew.dtype == rew_r.dtype and np.array_equal(rew, rew_r)
        assert np.array_equal(done, done_r)
        for i in np.flatnonzero(done):
            _same(infos[i]["terminal_observation"], infos_r[i]["terminal_observation"])
            assert infos[i]["TimeLimit.truncated"] == infos_r[i]["TimeLimit.truncated"]
            ended += 1
    assert ended >= n


def test_masks_through_sync_vector_env_too():
    venv = SB3VecEnv(gym.vector.SyncVectorEnv([lambda: JobShopEnv(instance="ft06")] * 2))
    venv.reset()
    assert is_masking_supported(venv)
    assert get_action_masks(venv).shape == (2, 6)


def test_info_keys_all_and_bad_value():
    venv = SB3VecEnv(
        make_vector_env("discoverygym/JobShop-v0", 2, instance="ft06"), info_keys="all"
    )
    venv.reset()
    _, _, _, infos = venv.step(np.array([0, 1]))
    assert set(infos[0]) == {"action_mask", "illegal_action"}
    with pytest.raises(ValueError, match="info_keys"):
        SB3VecEnv(make_vector_env("discoverygym/JobShop-v0", 2, instance="ft06"), info_keys="some")


def test_maskable_ppo_trains_on_batched_job_shop():
    venv = make_sb3_vec_env("discoverygym/JobShop-v0", 8, seed=0, dataset="random-4x3")
    model = MaskablePPO(
        "MultiInputPolicy", venv, n_steps=32, batch_size=64, n_epochs=1, seed=0, device="cpu"
    )
    model.learn(256)
    assert model.num_timesteps >= 256
    assert len(model.ep_info_buffer) > 0  # VecMonitor saw finished episodes


def test_maskable_ppo_and_ppo_train_on_batched_bin_packing():
    kwargs = {"dataset": weibull_dataset(20, 0, 2)}
    venv = make_sb3_vec_env("discoverygym/OnlineBinPacking-v0", 8, seed=0, **kwargs)
    MaskablePPO(
        "MultiInputPolicy", venv, n_steps=32, batch_size=64, n_epochs=1, device="cpu"
    ).learn(256)
    venv = make_sb3_vec_env("discoverygym/OnlineBinPacking-v0", 8, seed=0, **kwargs)
    model = PPO("MultiInputPolicy", venv, n_steps=32, batch_size=64, n_epochs=1, device="cpu")
    model.learn(256)
    assert len(model.ep_info_buffer) > 0


def test_ppo_trains_on_batched_tensor_game():
    venv = make_sb3_vec_env(
        "discoverygym/TensorDecomposition-v0", 4, seed=0, n=2, m=2, p=2, max_steps=4
    )
    model = PPO("MultiInputPolicy", venv, n_steps=32, batch_size=64, n_epochs=1, device="cpu")
    model.learn(128)
    assert len(model.ep_info_buffer) > 0
