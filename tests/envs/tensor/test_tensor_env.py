"""The TensorGame env: Gymnasium/SB3 contracts, replay of every shipped scheme, rewards, errors."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from hypothesis import given, settings
from hypothesis import strategies as st
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from discoverygym.envs.contract import InvalidActionError
from discoverygym.envs.tensor import decode_action, encode_action
from discoverygym.envs.tensor.env import DENSE_LIMIT, TensorDecompositionEnv
from discoverygym.envs.tensor.known import shipped, strassen
from discoverygym.envs.tensor.tensors import matmul_tensor, rank_upper_bound, verify_decomposition

ENV_ID = "discoverygym.envs:discoverygym/TensorDecomposition-v0"
CONFIGS = [
    {},
    {"field": "mod2"},
    {"n": 2, "m": 3, "p": 2, "max_steps": 5},
    {"n": 1, "m": 2, "p": 3, "coefficients": (-1, 0, 1), "rank_bound_every_step": False},
    {"n": 3, "m": 3, "p": 3, "field": "mod2", "coefficients": (0, 1, 2, 3)},
]


@pytest.mark.parametrize("kwargs", CONFIGS)
def test_gymnasium_and_sb3_check_env(kwargs) -> None:
    with warnings.catch_warnings():
        # SB3 takes any 3-D Box for an image; the residual is not one (MultiInputPolicy flattens it)
        warnings.filterwarnings("ignore", message=".*image.*")
        warnings.filterwarnings("ignore", message=".*minimal resolution.*")
        warnings.filterwarnings("ignore", message=".*alternative render modes.*")
        gym_check_env(TensorDecompositionEnv(**kwargs))
        sb3_check_env(TensorDecompositionEnv(**kwargs))
        env = gym.make(ENV_ID, render_mode="rgb_array", **kwargs)
        gym_check_env(env.unwrapped)


def _fits(dec, coefficients) -> bool:
    return all(
        np.isrealobj(x) and np.all(x == np.round(x)) and np.isin(x, coefficients).all() for x in dec
    )


def _replay_cases() -> list[tuple[str, str, str]]:
    cases = []
    for source, field in (
        ("alphatensor", "standard"),
        ("alphaevolve", "standard"),
        ("alphatensor_mod2", "mod2"),
    ):
        for key, dec in shipped(source).items():
            if _fits(dec, (0, 1) if field == "mod2" else (-2, -1, 0, 1, 2)):
                cases.append((source, field, key))
    return cases


REPLAY_CASES = _replay_cases()


def test_replay_covers_90_of_128_shipped_schemes() -> None:
    """The 38 left out use 0.5, 0.125, +-3 (AlphaTensor's large recombined sizes) or complex
    numbers (AlphaEvolve), outside the default coefficient set."""
    assert sum(len(shipped(s)) for s in ("alphatensor", "alphaevolve", "alphatensor_mod2")) == 128
    assert len(REPLAY_CASES) == 90
    assert ("alphaevolve", "standard", "3,3,3") in REPLAY_CASES and (
        "alphaevolve",
        "standard",
        "4,4,4",
    ) not in REPLAY_CASES


@pytest.mark.parametrize(("source", "field", "key"), REPLAY_CASES)
def test_replay_shipped_scheme(source: str, field: str, key: str) -> None:
    """A shipped scheme ends with a zero residual in exactly `rank` moves, and the env returns
    the same decomposition."""
    u, v, w = shipped(source)[key]
    size = tuple(int(x) for x in key.split(","))
    env = TensorDecompositionEnv(*size, field=field, rank_bound_every_step=False)
    env.reset(seed=0)
    rank = u.shape[1]
    for r in range(rank):
        _, reward, terminated, truncated, info = env.step(
            env.encode_action(u[:, r], v[:, r], w[:, r])
        )
        assert reward == -1.0 and not truncated
        assert terminated == (r == rank - 1), (
            f"{source} {key}: terminated at move {r + 1} of {rank}"
        )
    assert info["steps"] == rank and info["rank_bound"] == 0
    got = info["decomposition"]
    assert all(np.array_equal(g, np.asarray(x, dtype=np.int64)) for g, x in zip(got, (u, v, w)))


def test_strassen_return_is_minus_rank_and_info() -> None:
    env = TensorDecompositionEnv()
    obs, info = env.reset(seed=1)
    assert info == {"rank_bound": 8, "steps": 0, "field": "standard"}
    np.testing.assert_array_equal(obs["residual"], matmul_tensor(2, 2, 2))
    assert obs["steps_left"].tolist() == [8]
    u, v, w = strassen()
    total = 0.0
    for r in range(7):
        obs, reward, terminated, truncated, info = env.step(
            env.encode_action(u[:, r], v[:, r], w[:, r])
        )
        total += reward
        assert info["rank_bound"] == rank_upper_bound(env.residual)
    assert terminated and not truncated and total == -7
    assert obs["steps_left"].tolist() == [1] and not obs["residual"].any()
    verify_decomposition(matmul_tensor(2, 2, 2), *info["decomposition"])
    with pytest.raises(RuntimeError, match="reset"):
        env.step(env.action_space.sample())


@pytest.mark.parametrize("field", ["standard", "mod2"])
def test_truncation_penalty_is_rank_bound(field) -> None:
    env = TensorDecompositionEnv(2, 2, 3, field=field, max_steps=3, rank_bound_every_step=False)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(3):
        _, reward, terminated, truncated, info = env.step(
            rng.integers(len(env.coefficients), size=env.action_space.shape)
        )
    assert truncated and not terminated
    bound = rank_upper_bound(env.residual, field)
    assert bound > 0 and info["rank_bound"] == bound and reward == -1.0 - bound


@given(st.integers(0, 2**32 - 1), st.sampled_from(["standard", "mod2"]), st.integers(1, 6))
@settings(max_examples=25, deadline=None)
def test_residual_plus_played_terms_is_the_target(seed, field, moves) -> None:
    """Invariant: S_t + sum of played u (x) v (x) w = target (mod 2 in that field), checked with
    the independent reconstruction; both the dense and the support-only update paths."""
    for size in [(2, 2, 2), (5, 5, 4)]:  # 5x5x4 has 20*20*25 > DENSE_LIMIT entries
        env = TensorDecompositionEnv(*size, field=field, max_steps=10, rank_bound_every_step=False)
        assert env._dense == (int(np.prod(env.shape)) <= DENSE_LIMIT)
        env.action_space.seed(seed)
        obs, _ = env.reset(seed=seed, options={"target": "synthetic", "rank": 3})
        target = env.residual
        played = []
        for _ in range(moves):
            action = env.action_space.sample()
            played.append(env.decode_action(action))
            obs, *_ = env.step(action)
        u, v, w = (np.stack([p[k] for p in played], axis=1) for k in range(3))
        total = env.residual + np.einsum("ar,br,cr->abc", u, v, w)
        if field == "mod2":
            np.testing.assert_array_equal(total % 2, target)
        else:
            np.testing.assert_array_equal(total, target)
        assert env.observation_space.contains(obs)


@given(st.integers(0, 2**32 - 1))
@settings(max_examples=25, deadline=None)
def test_encode_decode_roundtrip(seed) -> None:
    rng = np.random.default_rng(seed)
    n, m, p = (int(x) for x in rng.integers(1, 4, 3))
    coefficients = tuple(
        sorted(rng.choice(np.arange(-3, 4), size=int(rng.integers(2, 7)), replace=False).tolist())
    )
    action = rng.integers(len(coefficients), size=n * m + m * p + p * n)
    u, v, w = decode_action(action, n, m, p, coefficients)
    assert {*u, *v, *w} <= set(coefficients)
    np.testing.assert_array_equal(encode_action(u, v, w, coefficients), action)


def test_synthetic_target_replays_its_demonstration() -> None:
    for field in ("standard", "mod2"):
        env = TensorDecompositionEnv(2, 3, 3, field=field)
        _, info = env.reset(seed=3, options={"target": "synthetic", "rank": 5})
        u, v, w = info["demonstration"]
        assert u.shape == (6, 5)
        for r in range(5):
            _, _, terminated, _, info = env.step(env.encode_action(u[:, r], v[:, r], w[:, r]))
        assert terminated
        # same seed, same target; self.np_random is the only source of randomness
        a = env.reset(seed=3, options={"target": "synthetic", "rank": 5})[0]["residual"]
        b = env.reset(seed=3, options={"target": "synthetic", "rank": 5})[0]["residual"]
        np.testing.assert_array_equal(a, b)


def test_custom_target_and_option_errors() -> None:
    env = TensorDecompositionEnv()
    target = np.zeros((4, 4, 4), dtype=np.int64)
    target[0, 0, 0] = 2
    obs, info = env.reset(options={"target": target})
    assert info["rank_bound"] == 1 and obs["residual"][0, 0, 0] == 2
    with pytest.raises(ValueError, match=r"shape \(4, 4\)"):
        env.reset(options={"target": np.zeros((4, 4))})
    with pytest.raises(ValueError, match="zero tensor"):
        env.reset(options={"target": np.zeros((4, 4, 4))})
    target[1, 2, 3] = 999
    with pytest.raises(ValueError, match=r"\[1, 2, 3\] = 999"):
        env.reset(options={"target": target})
    with pytest.raises(ValueError, match="'random'"):
        env.reset(options={"target": "random"})
    with pytest.raises(ValueError, match="rank=0"):
        env.reset(options={"target": "synthetic", "rank": 0})
    with pytest.raises(ValueError, match="'tagret'"):
        env.reset(options={"tagret": "matmul"})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0}, "n=0"),
        ({"coefficients": (-1, 0.5, 1)}, "0.5"),
        ({"coefficients": (1, 1, 0)}, "coefficient 1 appears twice"),
        ({"coefficients": (1, 3), "field": "mod2"}, r"all 1 modulo 2"),
        ({"field": "GF3"}, "'GF3'"),
        ({"max_steps": 0}, "max_steps=0"),
        ({"render_mode": "human"}, "'human'"),
        ({"n": 1000, "m": 1000, "p": 1000}, r"<1000,1000,1000> with 10{18} entries.*1 GiB"),
        ({"n": 40, "m": 40, "p": 40}, r"<40,40,40> with 4096000000 entries .*GiB.*limit of 1 GiB"),
        ({"max_steps": 10**12}, r"max_steps=10{12} .*2 \* max_steps \* c\^3 = 16000000000000.*2147483647"),
        ({"coefficients": (-(10**4), 0, 1)}, r"\|c\| = 10000 .*int32"),
    ],
)
def test_bad_config_names_the_value(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        TensorDecompositionEnv(**kwargs)


def test_bad_actions_name_the_value() -> None:
    env = TensorDecompositionEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action\[3\] = 7"):
        env.step(np.array([0, 0, 0, 7] + [0] * 8))
    with pytest.raises(ValueError, match=r"action\[0\] = -1"):
        env.step(np.array([-1] + [0] * 11))
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        env.step([0, 1, 2])
    with pytest.raises(ValueError, match=r"v\[1\] = 3 is not in the coefficient set"):
        env.encode_action([0, 0, 0, 1], [0, 3, 0, 0], [0, 0, 0, 0])
    assert env.step([2] * 12)[1] == -1.0  # a list works too (all-zero factors: a wasted move)


def test_render_modes() -> None:
    env = TensorDecompositionEnv(2, 2, 3, render_mode="ansi")
    env.reset(seed=0)
    text = env.render()
    assert "slice 0 (A[0,0])" in text and "step 0/12" in text and text.count("\n") == 1 + 4 * 7
    env = TensorDecompositionEnv(2, 2, 3, render_mode="rgb_array")
    env.reset(seed=0)
    image = env.render()
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert (image == 255).all(axis=2).any() and (image[..., 2] < 255).any()  # white zeros, red ones
    assert TensorDecompositionEnv().render() is None


def test_step_before_reset_raises() -> None:
    env = TensorDecompositionEnv()
    with pytest.raises(RuntimeError, match=r"reset\(\) before step\(\)"):
        env.step(env.action_space.sample())


@pytest.mark.parametrize(
    "action",
    [np.zeros(12), np.zeros(12, dtype=bool), [[0], [0, 1]], "0" * 12, None, 3, [2.0] * 12],
)
def test_actions_outside_the_space_raise_invalid_action_error(action) -> None:
    env = TensorDecompositionEnv()
    env.reset(seed=0)
    before = env.residual
    with pytest.raises(InvalidActionError, match="action"):
        env.step(action)
    assert np.array_equal(env.residual, before)


def test_bad_reset_option_types_and_unknown_constructor_options() -> None:
    env = TensorDecompositionEnv()
    with pytest.raises(TypeError, match="must be a dict or None, got str 'str'"):
        env.reset(options="str")
    with pytest.raises(TypeError, match=r"unknown option\(s\) \['size'\]; known: \['n', 'm', 'p'"):
        TensorDecompositionEnv(size=3)
