"""The env contract (`discoverygym.envs.contract`), checked for every registered ``discoverygym/`` id.

One parametrised test over the Gymnasium registry: a game registered later (the cap set) is
held to every rule without touching this file. Each rule is a helper below whose failure
message names the rule; the batched env of an id (its ``vector_entry_point``) is checked where
a rule applies to it.
"""

from __future__ import annotations

import inspect
import math
import re
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import discoverygym.envs  # noqa: F401  (registers the ids)
from discoverygym.envs.batched import assert_same
from discoverygym.envs.contract import InvalidActionError

IDS = sorted(env_id for env_id in gym.registry if env_id.startswith("discoverygym/"))
MAX_STEPS = 20_000  # an episode of random legal play ends well before this in every game


def test_every_game_is_registered() -> None:
    assert {
        "discoverygym/OnlineBinPacking-v0",
        "discoverygym/JobShop-v0",
        "discoverygym/TensorDecomposition-v0",
    } <= set(IDS)


def make(env_id: str, **kwargs: Any) -> gym.Env:
    """The raw env (no wrappers: OrderEnforcing would hide the env's own reset check)."""
    return gym.make(env_id, **kwargs).unwrapped


def known_options(cls: type) -> list[str]:
    parameters = inspect.signature(cls.__init__).parameters.values()
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [p.name for p in parameters if p.name != "self" and p.kind in named]


def out_of_space_actions(space: spaces.Space) -> list[Any]:
    """Actions that are not in `space`: out of range, floats (integral too), bools, strings."""
    if isinstance(space, spaces.Discrete):
        n, start = int(space.n), int(space.start)
        return [
            start - 1,
            start + n,
            10**30,
            float(start),
            0.5,
            True,
            "0",
            None,
            np.array([start, start]),
            np.float64(start),
        ]
    if isinstance(space, spaces.MultiDiscrete):
        ok = np.zeros(space.shape, dtype=np.int64)
        too_big, negative = ok.copy(), ok.copy()
        too_big.flat[-1] = int(space.nvec.flat[-1])
        negative.flat[0] = -1
        ragged = [[0], [0, 1]]
        return [
            too_big,
            negative,
            ok.astype(np.float64),
            ok.astype(bool),
            ok[:-1],
            ragged,
            "0",
            None,
        ]
    raise AssertionError(f"extend the contract test to the action space {space}")


def pick(env: gym.Env, rng: np.random.Generator, info: dict[str, Any]) -> Any:
    """A random legal action (from the mask where the game has one)."""
    mask = getattr(env, "action_masks", None)
    if mask is not None:
        legal = np.flatnonzero(np.asarray(mask()))
        assert legal.size, "a running episode has a legal action"
        return int(rng.choice(legal))
    space = env.action_space
    if isinstance(space, spaces.Discrete):
        return int(space.start + rng.integers(space.n))
    return rng.integers(0, space.nvec).astype(np.int64)


def play(env: gym.Env, seed: int, bad_actions: list[Any] = ()) -> list[Any]:
    """One episode of random legal play; before each of the first steps, try every bad action
    (each must raise `InvalidActionError` and change nothing). Returns the trajectory."""
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    trajectory: list[Any] = [obs, info]
    for t in range(MAX_STEPS):
        if t < 3:
            for bad in bad_actions:
                with pytest.raises(InvalidActionError) as error:
                    env.step(bad)
                assert isinstance(error.value, ValueError)
                assert str(env.action_space) in str(error.value) or repr(bad)[:5] in str(
                    error.value
                ), f"rule: the error names the action or the space: {error.value}"
        out = env.step(pick(env, rng, info))
        trajectory.append(out)
        obs, reward, terminated, truncated, info = out
        if terminated or truncated:
            return trajectory
        assert "metric" not in info, "rule: the metric is in the final info only"
    raise AssertionError(f"no episode end within {MAX_STEPS} steps")


def check_final_info(env: gym.Env, info: dict[str, Any]) -> None:
    name = info.get("metric_name")
    assert isinstance(name, str) and name, f"rule: final info names the metric, got {name!r}"
    assert name == type(env).metric_name, "rule: metric_name is the env's metric_name"
    value = info.get("metric", "missing")
    assert value is None or (isinstance(value, float) and math.isfinite(value)), (
        f"rule: final info['metric'] is a finite float or None, got {value!r}"
    )
    if name in info:  # the game's older key of the same value
        assert info[name] == value


@pytest.mark.parametrize("env_id", IDS)
def test_env_contract(env_id: str) -> None:
    spec = gym.spec(env_id)
    env = make(env_id)
    cls = type(env)

    # construction: unknown options rejected with the known ones listed
    with pytest.raises(TypeError, match="bogus_option") as error:
        gym.make(env_id, bogus_option=1)
    for name in known_options(cls):
        assert repr(name) in str(error.value), f"rule: the error lists the known option {name!r}"

    # step() before reset() raises
    with pytest.raises(RuntimeError, match="reset"):
        env.step(env.action_space.sample())

    # reset options: a dict or None; unknown keys rejected with the known ones
    with pytest.raises(TypeError, match="'str'"):
        env.reset(seed=0, options="str")
    with pytest.raises(ValueError, match=r"bogus_option.*known"):
        env.reset(seed=0, options={"bogus_option": 1})

    # out-of-space actions raise InvalidActionError and change nothing; a legal episode ends
    # with the metric in its final info; the same seed replays the same episode
    bad = out_of_space_actions(env.action_space)
    first = play(env, seed=3, bad_actions=bad)
    check_final_info(env, first[-1][4])
    assert_same(first, play(make(env_id), seed=3), "rule: same seed, same episode")
    with pytest.raises(RuntimeError, match="reset"):  # the episode is over
        env.step(env.action_space.sample())

    # illegal actions inside the space are replaced and flagged, never raised
    if hasattr(env, "action_masks"):
        rng = np.random.default_rng(0)
        obs, info = env.reset(seed=1)
        flagged = False
        for _ in range(MAX_STEPS):
            mask = np.asarray(env.action_masks()).astype(bool)
            assert np.array_equal(mask, np.asarray(info["action_mask"]).astype(bool))
            illegal = np.flatnonzero(~mask)
            if illegal.size:
                obs, _, terminated, truncated, info = env.step(int(illegal[0]))
                assert info["illegal_action"] is True, "rule: illegal actions are flagged"
                flagged = True
                break
            obs, _, terminated, truncated, info = env.step(pick(env, rng, info))
            assert info["illegal_action"] is False
            if terminated or truncated:
                obs, info = env.reset()
        assert flagged, "a masked game reaches a state with an illegal action"

    # both checkers
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(make(env_id), skip_render_check=True)
        sb3_check_env(make(env_id), warn=False)

    if spec.vector_entry_point is not None:
        check_batched_contract(env_id, env)


def check_batched_contract(env_id: str, single: gym.Env) -> None:
    def make_vec(**kwargs: Any) -> gym.vector.VectorEnv:
        return gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point", **kwargs)

    with pytest.raises(TypeError, match="bogus_option"):
        make_vec(bogus_option=1)
    with pytest.raises(ValueError, match=r"10{9} batched observations.*limit of 1 GiB"):
        gym.make_vec(env_id, num_envs=10**9, vectorization_mode="vector_entry_point")
    venv = make_vec()
    space = venv.single_action_space
    ok = np.stack([np.asarray(space.sample()) for _ in range(2)]).astype(np.int64)
    with pytest.raises(RuntimeError, match="reset"):
        venv.step(ok)
    with pytest.raises(TypeError, match="'str'"):
        venv.reset(seed=0, options="str")
    with pytest.raises(ValueError, match=r"bogus_option.*known"):
        venv.reset(seed=0, options={"bogus_option": 1})
    venv.reset(seed=0)
    if isinstance(space, spaces.Discrete):
        low, high = int(space.start), int(space.start + space.n - 1)
        wrong_values = [np.array([low, low - 1]), np.array([high + 1, low])]
    else:
        too_big, negative = ok.copy(), ok.copy()
        too_big[1].flat[-1] = int(space.nvec.flat[-1])
        negative[0].flat[0] = -1
        wrong_values = [too_big, negative]
    wrong = [*wrong_values, ok.astype(np.float64), ok.astype(bool), ok[:1], ok.tolist() + [None]]
    for batch in wrong:
        with pytest.raises(InvalidActionError):
            venv.step(batch)

    # random legal play until both sub-envs ended once; their final infos carry the metric
    def run(seed: int) -> list[Any]:
        venv = make_vec()
        rng = np.random.default_rng(seed)
        obs, info = venv.reset(seed=seed)
        out: list[Any] = [obs, info]
        ended = np.zeros(2, dtype=bool)
        for _ in range(MAX_STEPS):
            masks = getattr(venv.unwrapped, "action_masks", None)
            if masks is not None:
                m = np.asarray(masks()).astype(bool)
                actions = (rng.random(m.shape) * m).argmax(axis=1)
            else:
                actions = np.stack([rng.integers(0, space.nvec) for _ in range(2)])
            step = venv.step(actions)
            out.append(step)
            done = step[2] | step[3]
            for i in np.flatnonzero(done).tolist():
                infos = step[4]
                assert infos["_metric_name"][i], "rule: batched final infos carry the metric"
                assert infos["metric_name"][i] == type(single).metric_name
            ended |= done
            if ended.all():
                return out
        raise AssertionError(f"no episode end within {MAX_STEPS} batched steps")

    assert_same(run(5), run(5), "rule: batched seeding replays the same episodes")


def test_contract_errors_name_the_value() -> None:
    """The helpers' messages carry the value and the limit (spot checks, game-independent)."""
    from discoverygym.envs.contract import check_memory, discrete_action, finite_number

    with pytest.raises(InvalidActionError, match=r"action 7 is outside .*0\.\.4"):
        discrete_action(7, 5)
    with pytest.raises(ValueError, match=re.escape("1.09 TiB") + ".*1 GiB"):
        check_memory("a test", int(1.09 * 2**40))
    with pytest.raises(ValueError, match="finite.*nan"):
        finite_number("penalty", float("nan"))
