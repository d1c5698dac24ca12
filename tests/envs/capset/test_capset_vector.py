"""The batched cap set game reproduces SyncVectorEnv over single envs exactly."""

from __future__ import annotations

import discoverygym.envs  # noqa: F401  (registers the ids)
import gymnasium as gym
import numpy as np
import pytest
from discoverygym.envs.batched import RaggedSyncVectorEnv, assert_same, assert_same_trajectories
from discoverygym.envs.capset.checker import verify
from discoverygym.envs.capset.env import CapSetEnv
from discoverygym.envs.capset.vector import CapSetVectorEnv
from discoverygym.envs.vector_sb3 import make_sb3_vec_env
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space
from hypothesis import given, settings
from hypothesis import strategies as st

ENV_ID = "discoverygym/CapSet-v0"


def _pair(num_envs: int, **kwargs):
    batched = CapSetVectorEnv(num_envs=num_envs, **kwargs)
    reference = RaggedSyncVectorEnv([lambda: CapSetEnv(**kwargs)] * num_envs)
    return batched, reference


def mostly_legal(illegal_rate: float):
    """A random legal vector per game, or with probability `illegal_rate` any vector."""

    def sample(rng: np.random.Generator, masks: np.ndarray) -> np.ndarray:
        scores = rng.random(masks.shape) + masks
        actions = scores.argmax(axis=1)
        wild = rng.random(masks.shape[0]) < illegal_rate
        return np.where(wild, rng.integers(masks.shape[1], size=masks.shape[0]), actions)

    return sample


@settings(max_examples=15)
@given(
    seed=st.integers(0, 2**31 - 1),
    num_envs=st.integers(1, 4),
    n=st.integers(1, 4),
    illegal_rate=st.sampled_from([0.0, 0.3]),
)
def test_same_trajectories_as_sync_vector_env(seed, num_envs, n, illegal_rate) -> None:
    batched, reference = _pair(num_envs, n=n)
    ended = assert_same_trajectories(
        batched,
        reference,
        seed=seed,
        steps=60,
        sample=mostly_legal(illegal_rate),
        rng=np.random.default_rng(seed),
    )
    assert ended >= 1  # every game of n <= 4 ends within 20 steps (the largest cap set)


def test_n8_episodes_end_in_verified_sets() -> None:
    batched, reference = _pair(3, n=8)
    rng = np.random.default_rng(0)
    assert_same_trajectories(
        batched, reference, seed=0, steps=300, sample=mostly_legal(0.05), rng=rng
    )
    batched.reset(seed=0)
    done = np.zeros(3, dtype=bool)
    while not done.all():
        masks = batched.action_masks()
        _, rewards, terminated, _, info = batched.step(masks.argmax(axis=1))
        assert rewards.tolist() == [0.0 if d else 1.0 for d in done]  # autoreset steps: 0
        for i in np.flatnonzero(terminated):
            assert verify(8, info["cap_set"][i]) == info["size"][i] == 256
        done |= terminated


def test_spaces_metadata_and_masks() -> None:
    env = CapSetVectorEnv(num_envs=3, n=3)
    single = CapSetEnv(n=3)
    assert env.single_observation_space == single.observation_space
    assert env.observation_space == batch_space(single.observation_space, 3)
    assert env.action_space == batch_space(single.action_space, 3)
    assert env.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    with pytest.raises(RuntimeError, match="reset"):
        env.action_masks()
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert env.action_masks().shape == (3, 27) and info["added"].tolist() == [-1] * 3


def test_bad_input() -> None:
    env = CapSetVectorEnv(num_envs=2, n=2)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(2, dtype=np.int64))
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action 9 of sub-env 1 is outside"):
        env.step(np.array([0, 9]))
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match=r"unknown reset option\(s\) \['instance'\]; known: \[\]"):
        env.reset(options={"instance": 1})
    with pytest.raises(TypeError, match="known: \\['n', 'render_mode'\\]"):
        CapSetVectorEnv(num_envs=2, dim=3)


@pytest.mark.parametrize("mode", ["ansi", "rgb_array"])
def test_render_one_frame_per_env(mode) -> None:
    env = CapSetVectorEnv(num_envs=2, n=3, render_mode=mode)
    ref = gym.vector.SyncVectorEnv([lambda: CapSetEnv(n=3, render_mode=mode)] * 2)
    for e in (env, ref):
        e.reset(seed=1)
        e.step(np.array([4, 20]))
    frames = env.render()
    assert len(frames) == 2
    for a, b in zip(frames, ref.render()):
        assert np.array_equal(a, b) if mode == "rgb_array" else a == b


def test_make_vec_vector_entry_point_and_sb3() -> None:
    """Needs ``vector_entry_point`` set for this id in ``discoverygym.envs.ENV_SPECS``."""
    env = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point", n=4)
    assert isinstance(env.unwrapped, CapSetVectorEnv)
    obs, _ = env.reset(seed=0)
    assert obs["members"].shape == (3, 81)
    venv = make_sb3_vec_env(ENV_ID, num_envs=2, seed=0, n=3)
    venv.reset()
    masks = np.stack(venv.env_method("action_masks"))
    assert masks.shape == (2, 27)
    assert_same(masks.astype(bool), np.ones((2, 27), dtype=bool), "fresh masks")
