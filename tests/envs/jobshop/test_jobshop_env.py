"""JobShopEnv: the Gymnasium/SB3 contracts, and (hypothesis) every schedule of random legal play on
random instances is verified by the independent checker."""

from __future__ import annotations

import re
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given
from hypothesis import strategies as st
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import discoverygym.envs  # noqa: F401 - registers the ids
from discoverygym.envs.contract import InvalidActionError
from discoverygym.envs.jobshop.checker import check_schedule
from discoverygym.envs.jobshop.env import JOB_FEATURES, MACHINE_FEATURES, JobShopEnv
from discoverygym.envs.jobshop.instances import JobShopInstance, load_instance

CONFIGS = [
    {"instance": "ft06"},
    {"instance": "ta01"},
    {"instance": "la01", "left_shift": False},
    {"dataset": "ft"},  # mixed sizes: padded to 20 jobs x 10 machines
    {"dataset": "random-3x2"},
    {"dataset": "random-4x4:seed=1,n=3", "normalize_reward": True, "render_mode": "ansi"},
]


@pytest.mark.parametrize("kwargs", CONFIGS, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
def test_gymnasium_and_sb3_check_env(kwargs: dict) -> None:
    env = gym.make("discoverygym/JobShop-v0", **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # SB3 recommends 1-D arrays; (J, F) is deliberate
        check_env(env.unwrapped, skip_render_check=False)
        sb3_check_env(env)
    env.close()


def test_spaces_and_padding() -> None:
    env = JobShopEnv(dataset="ft")
    assert env.action_space == gym.spaces.Discrete(20)
    assert env.observation_space["jobs"].shape == (20, len(JOB_FEATURES))
    assert env.observation_space["machines"].shape == (10, len(MACHINE_FEATURES))
    obs, info = env.reset(seed=0, options={"instance": "ft06"})
    assert info["instance"] == "ft06"
    assert obs["action_mask"].tolist() == [1] * 6 + [0] * 14
    assert not obs["jobs"][6:].any() and not obs["machines"][6:].any()
    assert np.array_equal(env.action_masks(), obs["action_mask"].astype(bool))
    with pytest.raises(ValueError, match="larger than"):
        env.reset(options={"instance": "ta01"})


def test_generator_dataset_is_seeded_and_names_are_loadable() -> None:
    env = JobShopEnv(dataset="random-6x4")
    _, first = env.reset(seed=3)
    _, again = env.reset(seed=3)
    assert first["instance"] == again["instance"]
    inst = load_instance(first["instance"])
    assert np.array_equal(inst.durations, env.instance.durations)
    _, other = env.reset(seed=4)
    assert other["instance"] != first["instance"]


def test_features_of_ft06_at_reset() -> None:
    env = JobShopEnv(instance="ft06")
    obs, _ = env.reset(seed=0)
    inst = env.instance
    T = inst.trivial_lower_bound
    jobs = obs["jobs"]
    assert np.allclose(jobs[:, 0], inst.durations[:, 0] / T)
    assert np.allclose(jobs[:, 1], inst.machines[:, 0] / 5)
    assert np.allclose(jobs[:, 2], inst.durations.sum(1) / T)
    assert np.allclose(jobs[:, 3], 1.0)
    assert not jobs[:, 4:7].any()
    loads = np.bincount(inst.machines.ravel(), inst.durations.ravel())
    assert np.allclose(jobs[:, 7], loads[inst.machines[:, 0]] / T)
    assert np.allclose(obs["machines"][:, 1], loads / T)
    assert np.allclose(obs["machines"][:, 2], 1.0)


def test_left_shift_insertion_fills_gaps() -> None:
    # job 0: M0 for 5 then M1 for 5; job 1: M1 for 2 then M0 for 1.
    inst = JobShopInstance("gap", np.array([[0, 1], [1, 0]]), np.array([[5, 5], [2, 1]]), num_machines=2)
    for left_shift, expected in ((True, 0), (False, 10)):
        env = JobShopEnv(instance=inst, left_shift=left_shift)
        env.reset(seed=0)
        env.step(0)
        env.step(0)  # job 0 occupies M1 during [5, 10)
        env.step(1)
        assert env.starts[1, 0] == expected
    env = JobShopEnv(instance=inst)
    env.reset(seed=0)
    for action in (0, 0, 1, 1):
        *_, info = env.step(action)
    assert check_schedule(inst, info["starts"]) == info["makespan"] == 10


def test_illegal_actions_fall_back_and_are_flagged() -> None:
    env = JobShopEnv(dataset="ft", illegal_action_penalty=2.0)
    env.reset(seed=0, options={"instance": "ft06"})
    _, reward, _, _, info = env.step(9)  # a padded job
    assert info["illegal_action"] and env.starts[0, 0] == 0 and reward <= -2.0
    _, reward, _, _, info = env.step(np.int64(1))
    assert not info["illegal_action"]
    _, _, _, _, info = env.step(19)  # a padded job: "ft" pads to ft20's 20 jobs
    assert info["illegal_action"]
    for _ in range(4):
        env.step(0)
    assert env.action_masks()[0] == 0  # job 0 is finished
    _, _, _, _, info = env.step(0)
    assert info["illegal_action"] and env.starts[1, 1] >= 0


@pytest.mark.parametrize("action", [-1, 20, 10**30, "a", 1.5, 1.0, True, None, np.array([1, 2])])
def test_actions_outside_the_space_raise_naming_the_value(action) -> None:
    env = JobShopEnv(dataset="ft")
    env.reset(seed=0, options={"instance": "ft06"})
    before = env.starts
    with pytest.raises(InvalidActionError, match=re.escape(repr(action)[:6])) as error:
        env.step(action)
    assert isinstance(error.value, ValueError) and "Discrete(20)" in str(error.value)
    assert np.array_equal(env.starts, before)  # nothing was played


def test_lifecycle_errors_and_render_modes() -> None:
    with pytest.raises(ValueError, match="human"):
        JobShopEnv(instance="ft06", render_mode="human")
    with pytest.raises(ValueError, match="either"):
        JobShopEnv(instance="ft06", dataset="ft")
    with pytest.raises(KeyError, match="ft06"):
        JobShopEnv(instance="ft6")
    env = JobShopEnv(instance="ft06", render_mode="rgb_array")
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset(seed=0)
    env.step(0)
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    done = False
    while not done:
        _, _, done, _, _ = env.step(int(np.flatnonzero(env.action_masks())[0]))
    with pytest.raises(RuntimeError, match="over"):
        env.step(0)
    text = JobShopEnv(instance="ft06", render_mode="ansi")
    text.reset(seed=0)
    text.step(0)
    out = text.render()
    assert isinstance(out, str) and out.count("\n") >= 6 and "M0" in out


@st.composite
def instances(draw) -> JobShopInstance:
    jobs = draw(st.integers(1, 6))
    machines = draw(st.integers(1, 5))
    ops = draw(st.integers(1, 5))
    if draw(st.booleans()):  # classic: every job visits every machine once
        ops = machines
        route = [draw(st.permutations(range(machines))) for _ in range(jobs)]
    else:  # general: any machine sequence, repeats allowed
        route = [[draw(st.integers(0, machines - 1)) for _ in range(ops)] for _ in range(jobs)]
    durations = [[draw(st.integers(0, 20)) for _ in range(ops)] for _ in range(jobs)]
    return JobShopInstance("h", np.array(route), np.array(durations), num_machines=machines)


@given(
    instance=instances(),
    choices=st.lists(st.integers(0, 10**6), min_size=30, max_size=30),
    left_shift=st.booleans(),
)
def test_random_legal_play_builds_checked_schedules(
    instance: JobShopInstance, choices: list[int], left_shift: bool
) -> None:
    env = JobShopEnv(instance=instance, left_shift=left_shift)
    obs, info = env.reset(seed=0)
    T = max(instance.trivial_lower_bound, 1)
    total, steps, done, order = 0.0, 0, False, []
    initial_bound = env.makespan_lower_bound
    while not done:
        assert env.observation_space.contains(obs)
        legal = np.flatnonzero(info["action_mask"])
        assert legal.tolist() == [j for j in range(instance.num_jobs) if (env.starts[j] < 0).any()]
        j = int(legal[choices[steps % len(choices)] % len(legal)])
        k = int(np.argmax(env.starts[j] < 0))
        expected_start = obs["jobs"][j, 5] * T  # the earliest_start feature is the start it gets
        bound_before = env.makespan_lower_bound
        obs, reward, done, truncated, info = env.step(j)
        order.append((j, k))
        assert not truncated and not info["illegal_action"]
        assert env.starts[j, k] == pytest.approx(expected_start, abs=1e-3 * T)
        assert reward == bound_before - env.makespan_lower_bound <= 0
        total += reward
        steps += 1
    assert steps == instance.durations.size
    makespan = check_schedule(instance, info["starts"])
    assert info["makespan"] == makespan
    assert total == initial_bound - makespan
    assert info["gap_pct"] is None and info["upper_bound"] is None
    # Semi-active (both modes): every operation starts at 0, at its job predecessor's end or at
    # the end of another operation on its machine.
    starts, durations, machines = info["starts"], instance.durations, instance.machines
    ends = starts + durations
    for j in range(instance.num_jobs):
        for k in range(instance.num_operations):
            s = starts[j, k]
            same_machine = machines == machines[j, k]
            same_machine[j, k] = False
            same = ends[same_machine]
            assert s == 0 or (k and s == ends[j, k - 1]) or s in same.tolist()
    if left_shift:  # active: no operation fits into an idle gap of its machine before its start
        for j in range(instance.num_jobs):
            for k in range(instance.num_operations):
                s, d, m = starts[j, k], durations[j, k], machines[j, k]
                ready = ends[j, k - 1] if k else 0
                others = (machines == m) & (durations > 0)
                others[j, k] = False
                busy_s, busy_e = starts[others], ends[others]
                for t in [ready, *busy_e[(busy_e >= ready) & (busy_e < s)].tolist()]:
                    fits = t < s and not ((busy_s < t + d) & (busy_e > t)).any()
                    assert not fits, f"operation ({j},{k}) at {s} could start at {t}"
    if not left_shift:  # appending: each machine processes its operations in dispatch order
        for m in range(instance.num_machines):
            sequence = [starts[j, k] for j, k in order if machines[j, k] == m]
            assert sequence == sorted(sequence)


def test_full_episode_on_ta01_with_bounds_in_info() -> None:
    env = JobShopEnv(instance="ta01")
    _, info = env.reset(seed=0)
    rng = np.random.default_rng(0)
    done = False
    while not done:
        legal = np.flatnonzero(info["action_mask"])
        _, _, done, _, info = env.step(int(rng.choice(legal)))
    assert info["upper_bound"] == info["lower_bound"] == 1231 and info["optimal"]
    assert info["makespan"] == check_schedule(env.instance, info["starts"]) >= 1231
    assert info["gap_pct"] == pytest.approx(100 * (info["makespan"] - 1231) / 1231)


# --------------------------------------------------------------------------- hostile input


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"illegal_action_penalty": float("nan")}, ValueError, r"illegal_action_penalty must be a finite number, got nan"),
        ({"illegal_action_penalty": float("inf")}, ValueError, r"finite number, got inf"),
        ({"illegal_action_penalty": -1}, ValueError, r"must be >= 0.0, got -1"),
        ({"illegal_action_penalty": "1"}, TypeError, r"must be a number, got str '1'"),
        ({"instance": 10**6}, TypeError, r"instance must be a name, a path or a JobShopInstance, got int"),
        ({"dataset": 7}, TypeError, r"dataset must be a set name \(str\), got int 7"),
        ({"dataset": "random-100000000x100000000"}, ValueError, r"padded to 100000000 jobs.*1 GiB"),
        ({"dataset": "random-100000000x100000000:seed=1,n=1"}, ValueError, r"100000000x100000000.*1 GiB"),
        ({"instance": "ft06", "bogus": 1}, TypeError, r"unknown option\(s\) \['bogus'\]; known: \['instance', 'dataset'"),
    ],
)
def test_bad_constructor_options_name_the_value_and_limit(kwargs, error, message) -> None:
    with pytest.raises(error, match=message):
        JobShopEnv(**kwargs)


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"instance": 10**6}, TypeError, r"'instance' must be a name, a path or a JobShopInstance, got int 1000000"),
        ({"seed": 1}, ValueError, r"unknown reset options \['seed'\]; known: \['instance'\]"),
        ("str", TypeError, r"must be a dict or None, got str 'str'"),
    ],
)
def test_bad_reset_options_name_the_value(options, error, message) -> None:
    env = JobShopEnv(dataset="ft")
    with pytest.raises(error, match=message):
        env.reset(seed=0, options=options)
    env.reset(seed=0, options={"instance": "ft06"})  # still usable
