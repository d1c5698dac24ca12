"""The batched bin packing env reproduces SyncVectorEnv over single envs exactly."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space
from hypothesis import given, settings
from hypothesis import strategies as st

import discoverygym.envs  # noqa: F401  (registers the ids)
from discoverygym.envs.batched import RaggedSyncVectorEnv, assert_same_trajectories
from discoverygym.envs.binpacking import Dataset, Instance, OnlineBinPackingEnv, check_packing
from discoverygym.envs.binpacking.vector import OnlineBinPackingVectorEnv

ENV_ID = "discoverygym/OnlineBinPacking-v0"


def _dataset(seed: int, count: int, max_items: int, capacity: int) -> Dataset:
    """`count` instances of 1..max_items items (different lengths), sizes in 1..capacity."""
    rng = np.random.default_rng(seed)
    instances = []
    for k in range(count):
        n = int(rng.integers(1, max_items + 1))
        items = rng.integers(1, capacity + 1, size=n)
        instances.append(Instance.from_items(f"r{k}", capacity, items))
    return Dataset("random", tuple(instances))


def sample_actions(illegal_rate: float):
    """Uniform random legal actions, and with probability `illegal_rate` any action."""

    def sample(rng: np.random.Generator, masks: np.ndarray) -> np.ndarray:
        actions = (rng.random(masks.shape) * masks).argmax(axis=1)
        wild = rng.random(len(masks)) < illegal_rate
        actions[wild] = rng.integers(0, masks.shape[1], size=int(wild.sum()))
        return actions

    return sample


def _pair(num_envs: int, **kwargs):
    batched = OnlineBinPackingVectorEnv(num_envs=num_envs, **kwargs)
    reference = RaggedSyncVectorEnv([lambda: OnlineBinPackingEnv(**kwargs)] * num_envs)
    return batched, reference


@settings(max_examples=25)
@given(
    seed=st.integers(0, 2**31 - 1),
    num_envs=st.integers(1, 5),
    count=st.integers(1, 4),
    max_items=st.integers(1, 40),
    capacity=st.sampled_from([1, 5, 10, 100, 150]),
    mode=st.sampled_from(["histogram", "bins"]),
    max_bins=st.sampled_from([None, 3, 10]),
    illegal_rate=st.sampled_from([0.0, 0.2]),
)
def test_same_trajectories_as_sync_vector_env(
    seed, num_envs, count, max_items, capacity, mode, max_bins, illegal_rate
):
    data = _dataset(seed, count, max_items, capacity)
    kwargs = {"dataset": data, "observation": mode}
    if mode == "bins":
        kwargs["max_bins"] = max_bins
    batched, reference = _pair(num_envs, **kwargs)
    ended = assert_same_trajectories(
        batched,
        reference,
        seed=seed,
        steps=120,
        sample=sample_actions(illegal_rate),
        rng=np.random.default_rng(seed),
    )
    assert ended >= 1 or max_items * count > 24  # short episodes do end (and autoreset)


@pytest.mark.parametrize("mode", ["histogram", "bins"])
def test_weibull5k_many_bins_two_level_bitset(mode):
    """5000-item episodes use more than 64 bitset words per level (two summary words)."""
    batched, reference = _pair(2, dataset="weibull5k", observation=mode)
    assert_same_trajectories(
        batched,
        reference,
        seed=3,
        steps=300,
        sample=sample_actions(0.05),
        rng=np.random.default_rng(0),
    )
    if mode == "histogram":
        assert batched._ns == 2


def test_packings_are_valid_and_match_the_single_env():
    """Best fit through the batched env gives checked packings with the single env's bin counts."""
    data = _dataset(7, 3, 60, 100)
    env = OnlineBinPackingVectorEnv(num_envs=3, dataset=data)
    env.reset(seed=11)
    done = np.zeros(3, dtype=bool)
    finals = {}
    while not done.all():
        _, _, term, _, info = env.step(
            env.action_masks().argmax(axis=1)
        )  # lowest legal level = best fit
        for i in np.flatnonzero(term & ~done):
            finals[int(i)] = (info["instance"][i], info["assignment"][i], info["bins_used"][i])
        done |= term
    for i, (name, assignment, bins) in finals.items():
        inst = data.instance(name)
        report = check_packing(inst.sizes, inst.grid_capacity, assignment)
        assert report.num_bins == bins
        single = OnlineBinPackingEnv(dataset=data)
        _, sinfo = single.reset(seed=11 + i)
        assert sinfo["instance"] == name
        while True:
            _, _, term, _, sinfo = single.step(int(np.argmax(single.action_masks())))
            if term:
                break
        assert sinfo["bins_used"] == bins and np.array_equal(sinfo["assignment"], assignment)


def test_reset_mask_and_instance_option():
    data = _dataset(1, 3, 20, 50)
    batched, reference = _pair(3, dataset=data)
    mask = np.array([True, False, True])
    for env in (batched, reference):
        env.reset(seed=5)
        env.step(np.zeros(3, dtype=np.int64) + env.single_action_space.n - 1)
    out_b = batched.reset(options={"reset_mask": mask.copy(), "instance": "r1"})
    out_r = reference.reset(options={"reset_mask": mask.copy(), "instance": "r1"})
    from discoverygym.envs.batched import assert_same

    assert_same(out_b, out_r, "partial reset")
    assert list(out_b[1]["_instance"]) == [True, False, True]
    assert out_b[1]["instance"][0] == "r1" and out_b[1]["instance"][1] is None


def test_spaces_metadata_and_masks():
    env = OnlineBinPackingVectorEnv(num_envs=4, dataset="or1")
    single = OnlineBinPackingEnv(dataset="or1")
    assert env.single_observation_space == single.observation_space
    assert env.observation_space == batch_space(single.observation_space, 4)
    assert env.action_space == batch_space(single.action_space, 4)
    assert env.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    masks = env.action_masks()
    assert masks.shape == (4, single.action_space.n) and masks.dtype == np.int8
    assert np.array_equal(info["action_mask"], masks)


def test_bad_input_names_the_value():
    env = OnlineBinPackingVectorEnv(num_envs=2, dataset="or1")
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(2, dtype=np.int64))
    env.reset(seed=0)
    with pytest.raises(ValueError, match="151"):
        env.step(np.array([0, 151]))
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="integers"):
        env.step(np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="observation"):
        OnlineBinPackingVectorEnv(num_envs=2, observation="pixels")
    with pytest.raises(ValueError, match="num_envs"):
        OnlineBinPackingVectorEnv(num_envs=0)
    with pytest.raises(KeyError, match="u120"):
        env.reset(options={"instance": "u120_0"})


@pytest.mark.parametrize("mode", ["ansi", "rgb_array"])
def test_render_one_frame_per_env(mode):
    env = OnlineBinPackingVectorEnv(num_envs=2, dataset="or1", render_mode=mode)
    ref = gym.vector.SyncVectorEnv(
        [lambda: OnlineBinPackingEnv(dataset="or1", render_mode=mode)] * 2
    )
    for e in (env, ref):
        e.reset(seed=1)
        for _ in range(30):
            e.step(np.full(2, 149))
    frames, ref_frames = env.render(), ref.render()
    assert len(frames) == 2
    for a, b in zip(frames, ref_frames):
        assert np.array_equal(a, b) if mode == "rgb_array" else a == b


def test_make_vec_vector_entry_point():
    """Needs ``vector_entry_point`` set for this id in ``discoverygym.envs.ENV_SPECS``."""
    env = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point", dataset="or1")
    assert isinstance(env.unwrapped, OnlineBinPackingVectorEnv)
    assert env.num_envs == 3
    obs, _ = env.reset(seed=0)
    assert obs["histogram"].shape == (3, 151)


def test_three_summary_words_lowest_bin_across_words():
    """4200 items of 99 open 4200 bins at level 1 (> 4096: bitset words past the first summary
    word); 4200 items of 1 then fill them lowest index first, across all the words."""
    items = [99] * 4200 + [1] * 4200
    data = Dataset("fill", (Instance.from_items("fill", 100, items),))
    batched, reference = _pair(2, dataset=data)
    assert batched._ns == 3
    ended = assert_same_trajectories(
        batched,
        reference,
        seed=0,
        steps=8400,
        sample=lambda rng, masks: masks.argmax(axis=1),  # best fit: level 1 while there is one
        rng=np.random.default_rng(0),
    )
    assert ended == 2
