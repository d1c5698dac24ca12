"""The batched job-shop env reproduces SyncVectorEnv over single envs exactly."""

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
from discoverygym.envs.jobshop import JobShopEnv, JobShopInstance, check_schedule, generate_instance
from discoverygym.envs.jobshop.vector import JobShopVectorEnv

ENV_ID = "discoverygym/JobShop-v0"


def sample_actions(illegal_rate: float):
    """Uniform random legal jobs; with probability `illegal_rate` any job of the action space
    (finished and padded ones too: illegal actions inside the space)."""

    def sample(rng: np.random.Generator, masks: np.ndarray) -> np.ndarray:
        actions = (rng.random(masks.shape) * masks).argmax(axis=1)
        wild = rng.random(len(masks)) < illegal_rate
        actions[wild] = rng.integers(0, masks.shape[1], size=int(wild.sum()))
        return actions

    return sample


def _pair(num_envs: int, **kwargs):
    batched = JobShopVectorEnv(num_envs=num_envs, **kwargs)
    reference = RaggedSyncVectorEnv([lambda: JobShopEnv(**kwargs)] * num_envs)
    return batched, reference


def _zero_heavy(seed: int, jobs: int, machines: int) -> JobShopInstance:
    """A generated instance with some zero durations (as in orb07) and short durations (gaps)."""
    base = generate_instance(jobs, machines, seed)
    rng = np.random.default_rng(seed)
    durations = np.where(rng.random(base.durations.shape) < 0.2, 0, base.durations % 7)
    return JobShopInstance(f"zero-{seed}", base.machines, durations, machines)


@settings(max_examples=20)
@given(
    seed=st.integers(0, 2**31 - 1),
    num_envs=st.integers(1, 4),
    jobs=st.integers(1, 7),
    machines=st.integers(1, 5),
    left_shift=st.booleans(),
    normalize_reward=st.booleans(),
    penalty=st.sampled_from([0.0, 2.5]),
    illegal_rate=st.sampled_from([0.0, 0.2]),
)
def test_generated_instances_same_as_sync_vector_env(
    seed, num_envs, jobs, machines, left_shift, normalize_reward, penalty, illegal_rate
):
    batched, reference = _pair(
        num_envs,
        dataset=f"random-{jobs}x{machines}",
        left_shift=left_shift,
        normalize_reward=normalize_reward,
        illegal_action_penalty=penalty,
    )
    ended = assert_same_trajectories(
        batched,
        reference,
        seed=seed,
        steps=70,
        sample=sample_actions(illegal_rate),
        rng=np.random.default_rng(seed),
    )
    assert ended >= num_envs or jobs * machines > 35  # short episodes end and autoreset


@settings(max_examples=10)
@given(seed=st.integers(0, 2**31 - 1), left_shift=st.booleans())
def test_zero_durations_and_gaps_same_as_sync_vector_env(seed, left_shift):
    inst = _zero_heavy(seed, 6, 4)
    batched, reference = _pair(3, instance=inst, left_shift=left_shift)
    assert_same_trajectories(
        batched,
        reference,
        seed=seed,
        steps=60,
        sample=sample_actions(0.1),
        rng=np.random.default_rng(seed),
    )


@pytest.mark.parametrize(
    "kwargs",
    [{"dataset": "ft"}, {"instance": "orb07"}, {"dataset": "la01,ft06,abz5"}],
)
def test_benchmark_sets_mixed_sizes_same_as_sync_vector_env(kwargs):
    """Mixed instance sizes (padding), zero-length operations (orb07), ragged final ``starts``."""
    batched, reference = _pair(3, **kwargs)
    assert_same_trajectories(
        batched,
        reference,
        seed=5,
        steps=150,
        sample=sample_actions(0.05),
        rng=np.random.default_rng(1),
    )


def test_schedules_are_feasible_and_makespans_match_info():
    env = JobShopVectorEnv(num_envs=4, dataset="random-6x4")
    env.reset(seed=2)
    rng = np.random.default_rng(0)
    finished = 0
    for _ in range(80):
        masks = env.action_masks()
        _, _, term, _, info = env.step((rng.random(masks.shape) * masks).argmax(axis=1))
        for i in np.flatnonzero(term):
            from discoverygym.envs.jobshop import load_instance

            inst = load_instance(info["instance"][i])
            makespan = check_schedule(inst, info["starts"][i])
            assert makespan == info["makespan"][i]
            finished += 1
    assert finished >= 4


def _play(env: JobShopVectorEnv, actions: list[np.ndarray]) -> list:
    return [env.step(a) for a in actions]


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), before=st.integers(0, 30), after=st.integers(1, 40),
       source=st.integers(0, 2), dataset=st.sampled_from(["ft06,la01,ta01", "random-5x3"]))
def test_set_state_resumes_and_copies_exactly(seed, before, after, source, dataset):
    """From a saved state, the same moves give the same trajectory (terminations, autoresets and
    final infos included); with `source`, every sub-env plays on as that sub-env would."""
    env = JobShopVectorEnv(num_envs=3, dataset=dataset)
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    jobs = env.single_action_space.n
    for action in sample_moves(rng, before, 3, jobs):
        env.step(action)
    saved, moves = env.get_state(), sample_moves(rng, after, 3, jobs)
    first = _play(env, moves)
    assert_same(env.set_state(saved), _observations_of(saved, env), "restored observations")
    assert_same(_play(env, moves), first, "replayed trajectory")
    copied = env.set_state(saved, source=source)
    for i in range(3):
        assert env.instance(i).name == saved["_instances"][source].name
    same_moves = [np.full(3, m[source]) for m in moves]
    again = _play(env, same_moves)
    for (obs, *_), (ref_obs, *_) in zip(again, first):
        for k in ("jobs", "machines", "action_mask"):
            assert np.array_equal(obs[k], np.repeat(ref_obs[k][source:source + 1], 3, axis=0))
    assert copied["jobs"].shape[0] == 3


def sample_moves(rng: np.random.Generator, count: int, envs: int, jobs: int) -> list[np.ndarray]:
    """Random job indices (illegal ones included: the env applies its rule for them)."""
    return [rng.integers(0, jobs, size=envs) for _ in range(count)]


def _observations_of(state: dict, env: JobShopVectorEnv) -> dict:
    return {"jobs": state["_jobs"], "machines": state["_machines"],
            "action_mask": state["_maskb"].astype(np.int8)}


def test_set_state_bad_input():
    env = JobShopVectorEnv(num_envs=2, instance="ft06")
    with pytest.raises(RuntimeError, match="reset"):
        env.get_state()
    env.reset(seed=0)
    saved = env.get_state()
    with pytest.raises(ValueError, match="source 2 is not a sub-env of the state"):
        env.set_state(saved, source=2)
    other = JobShopVectorEnv(num_envs=3, instance="ft06")
    other.reset(seed=0)
    with pytest.raises(ValueError, match="the state has 2 sub-envs, this env 3"):
        other.set_state(saved)
    assert other.set_state(saved, source=1)["jobs"].shape == (3, 6, 8)


def test_reset_mask_and_instance_option():
    batched, reference = _pair(3, dataset="ft")
    for env in (batched, reference):
        env.reset(seed=5)
        env.step(np.zeros(3, dtype=np.int64))
    mask = np.array([False, True, True])
    out_b = batched.reset(options={"reset_mask": mask.copy(), "instance": "ft06"})
    out_r = reference.reset(options={"reset_mask": mask.copy(), "instance": "ft06"})
    assert_same(out_b, out_r, "partial reset")
    assert list(out_b[1]["instance"]) == [None, "ft06", "ft06"]
    custom = generate_instance(5, 5, 0, name="custom")
    out_b = batched.reset(seed=1, options={"instance": custom})
    out_r = reference.reset(seed=1, options={"instance": custom})
    assert_same(out_b, out_r, "custom instance")
    with pytest.raises(ValueError, match="larger"):
        batched.reset(options={"instance": "ta71"})


def test_spaces_metadata_and_masks():
    env = JobShopVectorEnv(num_envs=4, instance="ta01")
    single = JobShopEnv(instance="ta01")
    assert env.single_observation_space == single.observation_space
    assert env.observation_space == batch_space(single.observation_space, 4)
    assert env.action_space == batch_space(single.action_space, 4)
    assert env.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    masks = env.action_masks()
    assert masks.shape == (4, 15) and masks.dtype == bool
    assert np.array_equal(info["action_mask"], masks.astype(np.int8))


def test_bad_input():
    env = JobShopVectorEnv(num_envs=2, instance="ft06")
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(2, dtype=np.int64))
    env.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="integers"):
        env.step(np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="unknown reset options"):
        env.reset(options={"seed": 3})
    with pytest.raises(ValueError, match="render_mode"):
        JobShopVectorEnv(num_envs=2, instance="ft06", render_mode="human")


@pytest.mark.parametrize("mode", ["ansi", "rgb_array"])
def test_render_one_frame_per_env(mode):
    env = JobShopVectorEnv(num_envs=2, instance="ft06", render_mode=mode)
    ref = gym.vector.SyncVectorEnv([lambda: JobShopEnv(instance="ft06", render_mode=mode)] * 2)
    for e in (env, ref):
        e.reset(seed=1)
        for _ in range(10):
            e.step(np.array([0, 3]))
    frames, ref_frames = env.render(), ref.render()
    assert len(frames) == 2
    for a, b in zip(frames, ref_frames):
        assert np.array_equal(a, b) if mode == "rgb_array" else a == b


def test_make_vec_vector_entry_point():
    """Needs ``vector_entry_point`` set for this id in ``discoverygym.envs.ENV_SPECS``."""
    env = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point", instance="ft06")
    assert isinstance(env.unwrapped, JobShopVectorEnv)
    obs, _ = env.reset(seed=0)
    assert obs["jobs"].shape == (3, 6, 8)
