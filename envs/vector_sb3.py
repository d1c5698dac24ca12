"""Stable-Baselines3 `VecEnv` over a Gymnasium vector env (the native batched games included).

SB3's algorithms (PPO, A2C, and sb3-contrib's MaskablePPO) take an SB3 `VecEnv`, whose API
differs from `gymnasium.vector.VectorEnv`: SB3 resets a finished sub-env within the same
step (the returned observation is the new episode's first; the last one is in
``infos[i]["terminal_observation"]``, with ``infos[i]["TimeLimit.truncated"]``), returns a
list of per-env info dicts, and reads action masks through ``env_method("action_masks")``
(sb3-contrib's ``get_action_masks`` stacks what it returns). `SB3VecEnv` converts: after each
step it resets the finished sub-envs at once with Gymnasium's
``reset(options={"reset_mask": done})`` (which the batched games and `SyncVectorEnv` support).

Info lists: building N dicts per step costs more than a batched game step, so by default
(``info_keys="final"``) only the sub-envs whose episode ended get their full info (every key
of that step, plus the two SB3 keys above); the others get an empty dict. ``info_keys="all"``
copies every key for every sub-env.

It lives in ``discoverygym.envs`` (not ``agents.rl``): it is env plumbing, usable by any SB3
training code, and needs nothing from the agents.

    from discoverygym.envs.vector_sb3 import make_sb3_vec_env
    from sb3_contrib import MaskablePPO
    venv = make_sb3_vec_env("discoverygym/JobShop-v0", num_envs=64, seed=0, dataset="random-10x10")
    MaskablePPO("MultiInputPolicy", venv, n_steps=64).learn(10_000)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.envs.registration import load_env_creator
from stable_baselines3.common.vec_env import VecEnv, VecMonitor

from discoverygym.envs import GAMES

__all__ = ["SB3VecEnv", "VECTOR_ENTRY_POINTS", "make_sb3_vec_env", "make_vector_env"]

# The native batched class of every registered game (what ENV_SPECS' vector_entry_point names).
VECTOR_ENTRY_POINTS: dict[str, str] = {
    game.env_id: game.vector_entry_point for game in GAMES if game.vector_entry_point
}


def make_vector_env(env_id: str, num_envs: int, **kwargs: Any) -> gym.vector.VectorEnv:
    """The native batched env of `env_id` (``gym.make_vec(..., vectorization_mode=
    "vector_entry_point")`` when the id is registered with one, else the class directly)."""
    import discoverygym.envs  # noqa: F401  (registers the ids)

    spec = gym.spec(env_id)
    if spec.vector_entry_point is not None:
        return gym.make_vec(
            env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs
        )
    if spec.id not in VECTOR_ENTRY_POINTS:
        raise KeyError(
            f"{env_id!r} has no batched implementation; known: {', '.join(VECTOR_ENTRY_POINTS)}"
        )
    return load_env_creator(VECTOR_ENTRY_POINTS[spec.id])(num_envs=num_envs, **kwargs)


def make_sb3_vec_env(
    env_id: str,
    num_envs: int,
    *,
    seed: int | None = None,
    monitor: bool = True,
    info_keys: str = "final",
    **kwargs: Any,
) -> VecEnv:
    """`SB3VecEnv` over the native batched `env_id` (kwargs: the single env's), seeded with
    `seed` (sub-env i gets seed + i) and wrapped in `VecMonitor` (episode returns/lengths in
    the final infos, as `Monitor` adds them) unless ``monitor=False``."""
    venv: VecEnv = SB3VecEnv(make_vector_env(env_id, num_envs, **kwargs), info_keys=info_keys)
    if seed is not None:
        venv.seed(seed)
    if monitor:
        venv = VecMonitor(venv)
    return venv


def _split(infos: dict[str, Any], i: int, out: dict[str, Any]) -> dict[str, Any]:
    """Sub-env `i`'s entries of a Gymnasium batched info dict, added to `out`."""
    for key, value in infos.items():
        if key.startswith("_"):
            continue
        if isinstance(value, dict):
            mask = infos.get(f"_{key}")
            if mask is None or mask[i]:
                out[key] = _split(value, i, {})
            continue
        mask = infos.get(f"_{key}")
        if mask is not None and not mask[i]:
            continue
        out[key] = value[i]
    return out


class SB3VecEnv(VecEnv):
    """An SB3 `VecEnv` stepping a Gymnasium `VectorEnv` (see the module docstring).

    ``env_method("action_masks")`` returns the list of the N masks (from the vector env's own
    batched ``action_masks()``, or each sub-env's through ``call`` for `SyncVectorEnv`).
    Other ``env_method``/``get_attr`` names are looked up on the vector env itself: a batched
    result of length N is split per sub-env, anything else is repeated.
    """

    def __init__(self, venv: gym.vector.VectorEnv, info_keys: str = "final") -> None:
        if info_keys not in ("final", "all"):
            raise ValueError(f"info_keys must be 'final' or 'all', got {info_keys!r}")
        self.venv = venv
        self.info_keys = info_keys
        self._actions: np.ndarray | None = None
        self._started = False
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)
        self.reset_infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]

    # ------------------------------------------------------------------ VecEnv API

    def reset(self) -> Any:
        options = self._options[0] if self._options else {}
        if any(o != options for o in self._options):
            raise ValueError(
                "SB3VecEnv resets every sub-env with one options dict; got different ones"
            )
        seeds = None if all(s is None for s in self._seeds) else list(self._seeds)
        obs, infos = self.venv.reset(seed=seeds, options=dict(options) or None)
        self.reset_infos = [_split(infos, i, {}) for i in range(self.num_envs)]
        self._reset_seeds()
        self._reset_options()
        self._started = True
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> tuple[Any, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        obs, rewards, terminated, truncated, infos = self.venv.step(self._actions)
        done = terminated | truncated
        if self.info_keys == "all":
            out = [_split(infos, i, {}) for i in range(self.num_envs)]
        else:
            out = [{} for _ in range(self.num_envs)]
        if done.any():
            ended = np.flatnonzero(done).tolist()
            for i in ended:
                info = out[i] if self.info_keys == "all" else _split(infos, i, out[i])
                info["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
                info["terminal_observation"] = _index(obs, i)
            obs, reset_infos = self.venv.reset(options={"reset_mask": done})
            for i in ended:
                self.reset_infos[i] = _split(reset_infos, i, {})
        return obs, rewards.astype(np.float32), done, out

    def close(self) -> None:
        self.venv.close()

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        idx = list(self._get_indices(indices))
        if hasattr(self.venv, attr_name):
            value = getattr(self.venv, attr_name)
            return [value for _ in idx]
        if isinstance(self.venv, (gym.vector.SyncVectorEnv, gym.vector.AsyncVectorEnv)):
            values = self.venv.get_attr(attr_name)  # per sub-env; AttributeError when absent
            return [values[i] for i in idx]
        raise AttributeError(f"{type(self.venv).__name__} has no attribute {attr_name!r}")

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        setattr(self.venv, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: Any = None, **method_kwargs: Any
    ) -> list[Any]:
        idx = list(self._get_indices(indices))
        if method_name == "action_masks" and not hasattr(self.venv, "action_masks"):
            masks = self.venv.call("action_masks")
            return [np.asarray(masks[i]) for i in idx]
        result = getattr(self.venv, method_name)(*method_args, **method_kwargs)
        if isinstance(result, (np.ndarray, list, tuple)) and len(result) == self.num_envs:
            return [result[i] for i in idx]
        return [result for _ in idx]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: Any = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        frames = self.venv.render()
        return list(frames) if frames is not None else [None] * self.num_envs

    def action_masks(self) -> np.ndarray:
        """All sub-envs' masks, (num_envs, n) (a shortcut; MaskablePPO uses env_method)."""
        return np.stack(self.env_method("action_masks"))


def _index(obs: Any, i: int) -> Any:
    """Sub-env `i`'s observation out of a batched one (dict of arrays or array)."""
    if isinstance(obs, dict):
        return {key: value[i] for key, value in obs.items()}
    return obs[i]
