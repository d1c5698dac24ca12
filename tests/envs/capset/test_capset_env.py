"""CapSet-v0: the env contract, the game's rules against a brute-force reference, rendering."""

from __future__ import annotations

import itertools

import discoverygym.envs  # noqa: F401  (registers the ids)
import gymnasium as gym
import numpy as np
import pytest
from discoverygym.envs.capset.checker import verify
from discoverygym.envs.capset.construction import greedy_cap_set
from discoverygym.envs.capset.env import CapSetEnv
from discoverygym.envs.capset.geometry import all_vectors, index_of
from discoverygym.envs.capset.known import known_cap_set
from gymnasium.utils.env_checker import check_env
from hypothesis import given
from hypothesis import strategies as st
from stable_baselines3.common.env_checker import check_env as sb3_check_env

ENV_ID = "discoverygym/CapSet-v0"


def first_legal(info) -> int:
    return int(np.flatnonzero(info["action_mask"])[0])


@pytest.mark.parametrize("n", [1, 3, 4, 8, 9])
def test_both_env_checkers_pass(n) -> None:
    check_env(gym.make(ENV_ID, n=n).unwrapped)
    sb3_check_env(CapSetEnv(n=n))


def test_spaces_and_reset() -> None:
    env = gym.make(ENV_ID, n=4)
    obs, info = env.reset(seed=3)
    assert env.action_space == gym.spaces.Discrete(81)
    assert obs["members"].shape == obs["blocked"].shape == (81,)
    assert obs["members"].dtype == np.int8 and obs["steps"].dtype == np.float32
    assert not obs["members"].any() and not obs["blocked"].any() and obs["steps"][0] == 0
    assert info["action_mask"].dtype == np.int8 and info["action_mask"].all()
    assert (info["n"], info["size"], info["illegal_action"], info["added"]) == (4, 0, False, -1)
    assert env.observation_space.contains(obs)


def test_action_i_is_the_ith_product_vector() -> None:
    env = CapSetEnv(n=3)
    env.reset()
    for i, v in enumerate(itertools.product((0, 1, 2), repeat=3)):
        assert tuple(all_vectors(3)[i]) == v
    env.step(5)  # (0, 1, 2)
    assert env.cap_set.tolist() == [[0, 1, 2]]
    assert index_of(np.array([[0, 1, 2], [2, 2, 2]]), 3).tolist() == [5, 26]


def test_adding_blocks_the_third_points() -> None:
    env = CapSetEnv(n=2)
    env.reset()
    env.step(0)  # (0, 0)
    obs, reward, terminated, truncated, info = env.step(4)  # (1, 1): blocks (2, 2) = index 8
    assert reward == 1.0 and not terminated and not truncated
    assert np.flatnonzero(obs["blocked"]).tolist() == [8]
    assert np.flatnonzero(obs["members"]).tolist() == [0, 4]
    assert info["action_mask"][[0, 4, 8]].tolist() == [0, 0, 0]
    assert info["action_mask"].sum() == 6 and info["added"] == 4 and obs["steps"][0] == 2


@given(n=st.integers(1, 4), choices=st.lists(st.integers(0, 10**6), min_size=1, max_size=100))
def test_invariants_against_brute_force(n, choices) -> None:
    """Whatever legal vectors are played: the members are a cap set, `blocked` is exactly the
    third points of member pairs, the mask is the rest, the return is the size, and the final
    set is complete."""
    env = CapSetEnv(n=n)
    obs, info = env.reset(seed=0)
    everything = [tuple(v) for v in all_vectors(n).tolist()]
    total, done, k = 0.0, False, 0
    while not done:
        legal = np.flatnonzero(info["action_mask"])
        action = int(legal[choices[k % len(choices)] % len(legal)])
        k += 1
        obs, reward, done, truncated, info = env.step(action)
        total += reward
        assert not truncated and not info["illegal_action"] and info["added"] == action
        members = [everything[i] for i in np.flatnonzero(obs["members"])]
        thirds = {
            tuple((-(x + y)) % 3 for x, y in zip(a, b)) for a, b in itertools.combinations(members, 2)
        }
        assert {everything[i] for i in np.flatnonzero(obs["blocked"])} == thirds
        assert np.array_equal(info["action_mask"], 1 - obs["members"] - obs["blocked"])
        assert verify(n, members) == info["size"] == obs["steps"][0] == total
    assert not info["action_mask"].any()
    assert len(members) + len(thirds) == 3**n  # complete: every other vector is blocked
    assert verify(n, info["cap_set"]) == info["size"]
    assert index_of(info["cap_set"], n).tolist() == info["actions"].tolist()


def test_final_info() -> None:
    env = CapSetEnv(n=3)
    _, info = env.reset()
    done = False
    while not done:
        _, _, done, _, info = env.step(first_legal(info))
    assert (info["size"], info["best_known"], info["optimal"]) == (8, 9, False)
    assert info["gap_pct"] == pytest.approx(100 / 9)
    env8 = CapSetEnv(n=8)
    env8.reset()
    for action in index_of(known_cap_set(8), 8):
        _, _, done, _, info = env8.step(int(action))
    assert done and info["size"] == 512 and info["optimal"] is None and info["gap_pct"] == 0.0


def test_funsearch_set_replays_to_a_complete_set_of_512() -> None:
    env = CapSetEnv(n=8)
    _, info = env.reset()
    actions = index_of(known_cap_set(8), 8)
    for step, action in enumerate(actions, start=1):
        assert info["action_mask"][action] == 1
        _, reward, done, _, info = env.step(int(action))
        assert done == (step == 512) and reward == 1.0 and not info["illegal_action"]
    assert verify(8, info["cap_set"]) == 512


def test_lowest_legal_play_is_the_constant_priority_construction() -> None:
    for n in (3, 6, 9):
        env = CapSetEnv(n=n)
        _, info = env.reset()
        done = False
        while not done:
            _, _, done, _, info = env.step(first_legal(info))
        assert np.array_equal(info["cap_set"], greedy_cap_set(n))
        assert info["size"] == 2**n


def test_illegal_actions_add_the_lowest_legal_vector() -> None:
    env = CapSetEnv(n=2)
    env.reset()
    env.step(4)  # (1, 1)
    _, reward, _, _, info = env.step(np.int64(4))  # a member: illegal
    assert info["illegal_action"] and info["added"] == 0 and reward == 1.0  # (0, 0) instead
    assert env.cap_set.tolist() == [[1, 1], [0, 0]]
    legal = np.flatnonzero(info["action_mask"])
    _, reward, _, _, info = env.step(np.array(8))  # (2, 2) completes (0,0), (1,1): blocked
    assert info["illegal_action"] and info["added"] == legal[0] == 1 and reward == 1.0
    legal = np.flatnonzero(info["action_mask"])
    _, _, _, _, info = env.step(int(legal[-1]))
    assert not info["illegal_action"] and info["added"] == legal[-1]


@pytest.mark.parametrize("action", [-1, 9, 10**20, 1.5, "3", None, np.array([1, 2]), 2.0])
def test_bad_actions_raise_value_error(action) -> None:
    env = CapSetEnv(n=2)
    env.reset()
    with pytest.raises(ValueError, match="action"):
        env.step(action)


def test_call_order_errors() -> None:
    env = CapSetEnv(n=1)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    with pytest.raises(RuntimeError, match="reset"):
        env.action_masks()
    env.reset()
    env.step(0)
    _, _, done, _, info = env.step(1)
    assert done and info["size"] == 2 and info["optimal"] is True
    with pytest.raises(RuntimeError, match="episode is over"):
        env.step(2)
    env.reset()
    assert env.size == 0 and env.action_masks().all()


def test_unknown_options_list_the_known_ones() -> None:
    with pytest.raises(TypeError, match=r"unknown CapSetEnv option\(s\) \['dimension'\]; known: \['n', 'render_mode'\]"):
        CapSetEnv(dimension=4)
    with pytest.raises(TypeError, match="known: \\['n', 'render_mode'\\]"):
        gym.make(ENV_ID, seed=1)
    env = CapSetEnv(n=2)
    with pytest.raises(ValueError, match=r"unknown reset option\(s\) \['instance'\]; known: \[\]"):
        env.reset(options={"instance": 10**6})
    with pytest.raises(TypeError, match="options must be a dict or None, got str"):
        env.reset(options="str")
    env.reset(options={})


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n": 0}, ValueError, "n must be an integer from 1 to 9, got 0"),
        ({"n": 10}, ValueError, "got 10"),
        ({"n": 10**30}, ValueError, "got 1000000000000000000000000000000"),
        ({"n": 4.0}, TypeError, "got 4.0"),
        ({"n": "4"}, TypeError, "got '4'"),
        ({"n": True}, TypeError, "got True"),
        ({"render_mode": "human"}, ValueError, "render_mode 'human' is not supported"),
    ],
)
def test_bad_constructor_arguments(kwargs, error, message) -> None:
    with pytest.raises(error, match=message):
        CapSetEnv(**kwargs)


def test_reset_is_deterministic_and_seeds_np_random() -> None:
    env = CapSetEnv(n=3)
    a, _ = env.reset(seed=1)
    env.step(0)
    b, _ = env.reset(seed=1)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert env.np_random is not None


def test_render_ansi_and_rgb() -> None:
    env = CapSetEnv(n=2, render_mode="ansi")
    env.reset()
    env.step(0)
    env.step(4)
    text = env.render()
    assert text.splitlines()[0] == (
        "cap set in F_3^2: size 2 (best known 4), 1 blocked, 6 free, last added [1, 1]"
    )
    assert text.splitlines()[2:] == ["0 O..", "1 .O.", "2 ..x"]
    big = CapSetEnv(n=8, render_mode="ansi")
    big.reset()
    assert len(big.render().splitlines()) == 1  # summary only above n = 6
    for n, shape in [(1, (16, 48, 3)), (3, (48, 144, 3)), (4, (144, 144, 3)), (8, (324, 324, 3))]:
        env = CapSetEnv(n=n, render_mode="rgb_array")
        env.reset()
        first = env.render()
        env.step(0)
        second = env.render()
        assert first.shape == second.shape == shape and second.dtype == np.uint8
        assert not np.array_equal(first, second)
    with pytest.raises(RuntimeError, match="reset"):
        CapSetEnv(n=2, render_mode="ansi").render()
    with pytest.warns(UserWarning, match="without a render_mode"):
        assert CapSetEnv(n=2).render() is None
