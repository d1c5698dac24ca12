"""The batched tensor game reproduces SyncVectorEnv over single envs exactly."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space
from hypothesis import given, settings
from hypothesis import strategies as st

import discoverygym.envs  # noqa: F401  (registers the ids)
from discoverygym.envs.batched import RaggedSyncVectorEnv, assert_same, assert_same_trajectories
from discoverygym.envs.tensor import known_decomposition, rank_upper_bound
from discoverygym.envs.tensor.env import TensorDecompositionEnv
from discoverygym.envs.tensor.vector import TensorDecompositionVectorEnv, rank_upper_bounds

ENV_ID = "discoverygym/TensorDecomposition-v0"


def _pair(num_envs: int, **kwargs):
    batched = TensorDecompositionVectorEnv(num_envs=num_envs, **kwargs)
    reference = RaggedSyncVectorEnv([lambda: TensorDecompositionEnv(**kwargs)] * num_envs)
    return batched, reference


def sparse_actions(nvec: np.ndarray, zero_index: int, density: float):
    """Random factors, most entries zero (so that residuals reach zero now and then)."""

    def sample(rng: np.random.Generator, masks: None) -> np.ndarray:
        shape = (sample.num_envs, len(nvec))
        actions = rng.integers(0, nvec, size=shape)
        return np.where(rng.random(shape) < density, actions, zero_index)

    return sample


@settings(max_examples=20)
@given(
    seed=st.integers(0, 2**31 - 1),
    num_envs=st.integers(1, 4),
    size=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 2)),
    field=st.sampled_from(["standard", "mod2"]),
    max_steps=st.sampled_from([None, 2, 5]),
    every_step=st.booleans(),
    synthetic=st.booleans(),
)
def test_same_trajectories_as_sync_vector_env(
    seed, num_envs, size, field, max_steps, every_step, synthetic
):
    n, m, p = size
    kwargs = dict(n=n, m=m, p=p, field=field, max_steps=max_steps, rank_bound_every_step=every_step)
    batched, reference = _pair(num_envs, **kwargs)
    coefficients = batched.coefficients
    sample = sparse_actions(batched.single_action_space.nvec, coefficients.index(0), 0.3)
    sample.num_envs = num_envs
    options = {"target": "synthetic", "rank": 1} if synthetic else None
    assert_same_trajectories(
        batched,
        reference,
        seed=seed,
        steps=40,
        sample=sample,
        rng=np.random.default_rng(seed),
        options=options,
    )


@pytest.mark.parametrize("field", ["standard", "mod2"])
def test_strassen_replay_terminates_with_the_decomposition(field):
    """Sub-env 0 replays a known <2,2,2> scheme (rank 7); sub-env 1 plays zeros; both match Sync."""
    batched, reference = _pair(2, field=field)
    U, V, W = known_decomposition(2, 2, 2, field, coefficients=batched.coefficients)
    rank = U.shape[1]
    zero = np.zeros(batched.single_action_space.shape, dtype=np.int64) + batched.coefficients.index(
        0
    )
    outs = []
    for env in (batched, reference):
        env.reset(seed=0)
        steps = []
        for r in range(rank):
            action = batched.encode_action(U[:, r], V[:, r], W[:, r])
            steps.append(env.step(np.stack([action, zero])))
        outs.append(steps)
    assert_same(outs[0], outs[1], "replay")
    *_, term, trunc, info = outs[0][-1]
    assert term[0] and not trunc[0] and info["_decomposition"][0]
    got = info["decomposition"][0]
    want = tuple(f % 2 if field == "mod2" else f for f in (U, V, W))
    for a, b in zip(got, want):
        assert np.array_equal(a, b)
    assert info["rank_bound"][0] == 0


@settings(max_examples=20)
@given(seed=st.integers(0, 2**31 - 1), field=st.sampled_from(["standard", "mod2"]))
def test_batched_rank_bounds_equal_the_single_function(seed, field):
    rng = np.random.default_rng(seed)
    tensors = rng.integers(-2, 3, size=(5, 4, 6, 3)) * (rng.random((5, 4, 6, 3)) < 0.4)
    expected = [rank_upper_bound(t, field) for t in tensors]
    assert rank_upper_bounds(tensors, field).tolist() == expected


def test_spaces_metadata_no_masks():
    env = TensorDecompositionVectorEnv(num_envs=3, n=2, m=3, p=2)
    single = TensorDecompositionEnv(n=2, m=3, p=2)
    assert env.single_observation_space == single.observation_space
    assert env.observation_space == batch_space(single.observation_space, 3)
    assert env.action_space == batch_space(single.action_space, 3)
    assert env.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    assert not hasattr(env, "action_masks")
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert info["rank_bound"].tolist() == [rank_upper_bound(single.reset()[0]["residual"])] * 3


def test_bad_input():
    env = TensorDecompositionVectorEnv(num_envs=2)
    env.reset(seed=0)
    bad = np.zeros((2, 12), dtype=np.int64)
    bad[1, 3] = 5
    with pytest.raises(ValueError, match="entry 3 of sub-env 1 is 5"):
        env.step(bad)
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros((2, 11), dtype=np.int64))
    with pytest.raises(ValueError, match="target"):
        env.reset(options={"target": "identity"})
    with pytest.raises(ValueError, match="unknown reset option"):
        env.reset(options={"rank_bound": 3})


@pytest.mark.parametrize("mode", ["ansi", "rgb_array"])
def test_render_one_frame_per_env(mode):
    env = TensorDecompositionVectorEnv(num_envs=2, render_mode=mode)
    ref = gym.vector.SyncVectorEnv([lambda: TensorDecompositionEnv(render_mode=mode)] * 2)
    for e in (env, ref):
        e.reset(seed=1)
        e.step(np.full((2, 12), 3))
    for a, b in zip(env.render(), ref.render()):
        assert np.array_equal(a, b) if mode == "rgb_array" else a == b


def test_make_vec_vector_entry_point():
    """Needs ``vector_entry_point`` set for this id in ``discoverygym.envs.ENV_SPECS``."""
    env = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point", n=2, m=2, p=2)
    assert isinstance(env.unwrapped, TensorDecompositionVectorEnv)
    obs, _ = env.reset(seed=0)
    assert obs["residual"].shape == (3, 4, 4, 4)
