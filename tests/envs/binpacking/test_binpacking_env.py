"""The env: Gymnasium and SB3 checkers, the spec (observations, masks, illegal actions, rewards,
final info), bad input, and rendering. Every packing it produces goes through the checker."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from discoverygym.envs.binpacking import Instance, check_packing, instance_bounds, load_dataset
from discoverygym.envs.binpacking.env import OnlineBinPackingEnv

ENV_ID = "discoverygym.envs:discoverygym/OnlineBinPacking-v0"


@pytest.mark.parametrize("observation", ["histogram", "bins"])
@pytest.mark.parametrize("render_mode", [None, "ansi", "rgb_array"])
@pytest.mark.parametrize("dataset", ["or1", "t60"])
def test_gymnasium_and_sb3_checkers_pass(
    observation: str, render_mode: str | None, dataset: str
) -> None:
    env = gym.make(ENV_ID, dataset=dataset, observation=observation, render_mode=render_mode)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any checker warning fails the test
        check_env(env.unwrapped, skip_render_check=False)
        sb3_check_env(env)


@pytest.mark.parametrize("observation", ["histogram", "bins"])
def test_checkers_pass_on_the_default_set_and_small_max_bins(observation: str) -> None:
    kwargs = {} if observation == "histogram" else {"observation": "bins", "max_bins": 30}
    env = gym.make(ENV_ID, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)
        sb3_check_env(env)


def test_make_without_kwargs_uses_the_documented_defaults() -> None:
    env = gym.make(ENV_ID)
    obs, info = env.reset(seed=0)
    base = env.unwrapped
    assert base.dataset.name == "weibull5k" and base.observation_mode == "histogram"
    assert set(obs) == {"histogram", "item", "items_left"} and obs["histogram"].shape == (101,)
    assert env.action_space == gym.spaces.Discrete(101) and base.new_bin_action == 100
    assert obs["items_left"][0] == 5000 and info["num_items"] == 5000 and info["bins_used"] == 0
    assert info["action_mask"].tolist() == [0] * 100 + [1]


def test_bins_mode_spaces_and_padding() -> None:
    env = OnlineBinPackingEnv(dataset="or1", observation="bins")
    obs, info = env.reset(seed=0, options={"instance": "u120_00"})
    assert env.action_space == gym.spaces.Discrete(121) and env.new_bin_action == 120
    assert obs["bins"].shape == (120,) and obs["valid"].dtype == np.int8 and not obs["valid"].any()
    obs, reward, *_, info = env.step(120)
    assert reward == -1.0 and obs["valid"].tolist() == [1] + [0] * 119
    assert obs["bins"][0] == 150 - 42 and obs["bins"][1:].sum() == 0
    # item 2 (69) fits bin 0 (108 left): legal
    assert (
        info["action_mask"][0] == 1
        and info["action_mask"][1] == 0
        and info["action_mask"][120] == 1
    )
    obs, reward, *_, info = env.step(0)
    assert reward == 0.0 and obs["bins"][0] == 150 - 42 - 69 and not info["illegal_action"]


@pytest.mark.parametrize("observation", ["histogram", "bins"])
def test_illegal_actions_open_a_new_bin(observation: str) -> None:
    env = OnlineBinPackingEnv(dataset="or1", observation=observation)
    env.reset(seed=0, options={"instance": "u120_00"})
    env.step(env.new_bin_action)  # bin 0 holds 42
    _, reward, _, _, info = env.step(5)  # no bin at level 5 / bin 5 not open
    assert info["illegal_action"] and reward == -1.0 and info["bins_used"] == 2
    _, reward, _, _, info = env.step(env.new_bin_action)
    assert not info["illegal_action"] and info["bins_used"] == 3


@pytest.mark.parametrize("action", [-1, 151, 2.5, "0", None])
def test_actions_outside_the_space_raise_naming_the_value(action) -> None:
    env = OnlineBinPackingEnv(dataset="or1")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=str(action).replace(".", r"\.")):
        env.step(action)


def test_numpy_actions_are_accepted() -> None:
    env = OnlineBinPackingEnv(dataset="or1")
    env.reset(seed=0)
    env.step(np.int64(150))
    env.step(np.array(150))
    env.step(np.array([150]))


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({"observation": "image"}, "observation 'image'"),
        ({"render_mode": "human"}, "render_mode 'human'"),
        ({"observation": "bins", "max_bins": 0}, "max_bins must be an integer >= 1, got 0"),
        ({"max_bins": 10}, "max_bins only applies"),
    ],
)
def test_bad_kwargs(kwargs, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        OnlineBinPackingEnv(dataset="or1", **kwargs)


def test_bad_names() -> None:
    with pytest.raises(KeyError, match="unknown dataset 'orl'. Did you mean or1, or2, or3"):
        OnlineBinPackingEnv(dataset="orl")
    with pytest.raises(KeyError, match="did you mean u120_00"):
        OnlineBinPackingEnv(dataset="or1", instance="u120_0")
    env = OnlineBinPackingEnv(dataset="or1")
    with pytest.raises(KeyError, match="unknown instance 'x'"):
        env.reset(options={"instance": "x"})
    with pytest.raises(ValueError, match="unknown reset options"):
        env.reset(options={"seed": 3})


def test_reset_draws_instances_with_the_env_rng() -> None:
    env = OnlineBinPackingEnv(dataset="or1")
    names = [env.reset(seed=s)[1]["instance"] for s in range(30)]
    assert len(set(names)) > 5
    assert names == [env.reset(seed=s)[1]["instance"] for s in range(30)]
    assert env.reset(options={"instance": "u120_07"})[1]["instance"] == "u120_07"
    fixed = OnlineBinPackingEnv(dataset="or1", instance="u120_03")
    assert {fixed.reset(seed=s)[1]["instance"] for s in range(5)} == {"u120_03"}


def test_step_before_reset_and_after_the_end() -> None:
    env = OnlineBinPackingEnv(instance=Instance.from_items("two", 10, [6, 6]))
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset()
    env.step(10)
    *_, terminated, truncated, info = env.step(10)
    assert terminated and not truncated and info["bins_used"] == 2
    with pytest.raises(RuntimeError, match="episode is over"):
        env.step(10)


def test_final_info_has_the_bounds_and_a_valid_packing() -> None:
    env = OnlineBinPackingEnv(dataset="or2", instance="u250_13")
    obs, info = env.reset()
    total, done = 0.0, False
    while not done:
        obs, reward, done, _, info = env.step(env.new_bin_action)  # one bin per item
        total += reward
    assert total == -250 and info["bins_used"] == 250
    assert (info["l1"], info["l2"], info["optimum"]) == (102, 102, 103)
    assert info["excess_pct"] == pytest.approx(100 * (250 - 102) / 102)
    assert (
        check_packing(env.instance.items, env.instance.capacity, info["assignment"]).num_bins == 250
    )
    assert obs["items_left"][0] == 0 and obs["item"][0] == 0


def test_max_bins_truncates_in_bins_mode() -> None:
    env = OnlineBinPackingEnv(dataset="or1", observation="bins", max_bins=2)
    env.reset(seed=0)
    env.step(2)
    env.step(2)
    *_, reward, terminated, truncated, info = env.step(2)
    assert (
        truncated and not terminated and reward == -1.0 and info["truncated_reason"] == "max_bins"
    )
    assert env.done


def _expected_mask(env: OnlineBinPackingEnv) -> np.ndarray:
    item, rem = env.current_item, env.remaining
    mask = np.zeros(env.action_space.n, dtype=np.int8)
    if env.observation_mode == "histogram":
        for level in rem:
            if level >= item:
                mask[level] = 1
    else:
        for b, level in enumerate(rem):
            mask[b] = level >= item
    mask[env.new_bin_action] = 1
    return mask


@settings(max_examples=30)
@given(
    observation=st.sampled_from(["histogram", "bins"]),
    capacity=st.integers(2, 30),
    data=st.data(),
)
def test_random_play_keeps_every_invariant(
    observation: str, capacity: int, data: st.DataObject
) -> None:
    sizes = data.draw(st.lists(st.integers(1, capacity), min_size=1, max_size=40))
    env = OnlineBinPackingEnv(
        instance=Instance.from_items("h", capacity, sizes), observation=observation
    )
    obs, info = env.reset(seed=data.draw(st.integers(0, 1000)))
    total, done, illegal = 0.0, False, 0
    while not done:
        assert np.array_equal(info["action_mask"], _expected_mask(env)) and np.array_equal(
            env.action_masks(), info["action_mask"]
        )
        assert env.observation_space.contains(obs)
        rem = env.remaining
        if observation == "histogram":
            assert np.array_equal(obs["histogram"], np.bincount(rem, minlength=capacity + 1))
        else:
            assert np.array_equal(obs["bins"][: rem.size], rem) and obs["valid"].sum() == rem.size
        action = data.draw(st.integers(0, env.action_space.n - 1))
        obs, reward, done, truncated, info = env.step(action)
        assert not truncated
        total += reward
        illegal += info["illegal_action"]
    report = check_packing(sizes, capacity, info["assignment"])
    assert total == -info["bins_used"] == -report.num_bins
    assert info["l1"] <= info["l2"] <= info["bins_used"]
    assert np.array_equal(
        env.remaining, [capacity - report.loads[b] for b in range(report.num_bins)]
    )


def test_render_modes() -> None:
    env = OnlineBinPackingEnv(dataset="or1", render_mode="ansi")
    env.reset(seed=0, options={"instance": "u120_00"})
    env.step(150)
    text = env.render()
    assert (
        "u120_00" in text
        and "item 2/120, size 69" in text
        and "bins open 1" in text
        and "42/150" in text
    )

    env = OnlineBinPackingEnv(dataset="weibull5k", render_mode="rgb_array")
    env.reset(seed=0)
    first = env.render()
    assert first.shape == (240, 480, 3) and first.dtype == np.uint8
    frames = [first]
    for _ in range(3000):  # more bins than pixel columns
        env.step(100)
    frames.append(env.render())
    assert frames[1].shape == first.shape and not np.array_equal(frames[1], first)
    assert env.bins_used == 3000


def test_render_without_mode_warns_and_returns_none() -> None:
    env = OnlineBinPackingEnv(dataset="or1")
    env.reset(seed=0)
    with pytest.warns(UserWarning, match="render_mode"):
        assert env.render() is None


def test_single_custom_instance_and_mixed_capacities() -> None:
    inst = Instance.from_items("mine", 1.0, [0.5, 0.25, 0.25])
    env = OnlineBinPackingEnv(instance=inst)
    obs, info = env.reset()
    assert info["capacity"] == 100 and info["scale"] == 100 and obs["item"][0] == 50
    from discoverygym.envs.binpacking import Dataset

    with pytest.raises(ValueError, match="mixes capacities"):
        OnlineBinPackingEnv(dataset=Dataset("mixed", (inst, load_dataset("or1")[0])))
    assert instance_bounds(inst).l1 == 1


# --------------------------------------------------------------------------- hostile input


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"observation": "bins", "max_bins": 10**12}, ValueError, r"max_bins=10{12}.*TiB.*1 GiB"),
        ({"observation": "bins", "max_bins": 0}, ValueError, r"max_bins .* >= 1, got 0"),
        ({"observation": "bins", "max_bins": 2.5}, TypeError, r"max_bins .*got 2\.5"),
        ({"dataset": 3}, TypeError, r"dataset must be a name or a Dataset, got int 3"),
        ({"observation": ["bins"]}, ValueError, r"observation \['bins'\]"),
        ({"bogus": 1}, TypeError, r"unknown option\(s\) \['bogus'\]; known: \['dataset'"),
    ],
)
def test_bad_constructor_options_name_the_value_and_limit(kwargs, error, message) -> None:
    with pytest.raises(error, match=message):
        OnlineBinPackingEnv(**{"dataset": "or1", **kwargs})


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"instance": 10**6}, TypeError, r"'instance' must be an instance name \(str\), got int 1000000"),
        ({"instance": None, "seed": 1}, ValueError, r"unknown reset options \['seed'\]; known: \['instance'\]"),
        ("str", TypeError, r"must be a dict or None, got str 'str'"),
        ([("instance", "u120_00")], TypeError, r"must be a dict or None, got list"),
    ],
)
def test_bad_reset_options_name_the_value(options, error, message) -> None:
    env = OnlineBinPackingEnv(dataset="or1")
    with pytest.raises(error, match=message):
        env.reset(seed=0, options=options)
    env.reset(seed=0, options={"instance": "u120_00"})  # still usable
