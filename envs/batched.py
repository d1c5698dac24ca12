"""Shared machinery of the native batched (numpy over the batch) vector envs of every game.

`BatchedVectorEnv` is a `gymnasium.vector.VectorEnv` that keeps the state of ``num_envs``
sub-envs in arrays with a leading batch dimension. It reproduces
`gymnasium.vector.SyncVectorEnv` over ``num_envs`` copies of the game's single env exactly:

- seeds: ``reset(seed=s)`` seeds sub-env ``i`` with ``s + i`` (a list gives one seed per
  sub-env, None keeps each sub-env's generator, or draws a fresh one the first time); each
  sub-env owns a `numpy.random.Generator` made by `gymnasium.utils.seeding.np_random`, used
  in the same order as the single env uses its ``np_random``;
- autoreset: `AutoresetMode.NEXT_STEP` (``metadata["autoreset_mode"]``): the ``step`` after a
  sub-env terminated or truncated resets it (the action is ignored) and returns its reset
  observation and info, reward 0, ``terminated = truncated = False``;
- ``reset(options={"reset_mask": mask})`` resets only the masked sub-envs;
- infos: a dict of arrays with a boolean ``"_key"`` mask per key, as
  `VectorEnv._add_info` builds them (the same dtypes and the same fill for missing entries);
- masked games define ``action_masks()``: the legal actions of every sub-env as a
  (num_envs, n) array, the batched ``info["action_mask"]``.

Subclasses implement `_reset_envs`, `_step_envs`, `_observations`, `_base_info` and
`_final_info` (see their docstrings).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from discoverygym.envs.contract import InvalidActionError, check_memory, check_reset_options

__all__ = [
    "BatchedVectorEnv",
    "RaggedSyncVectorEnv",
    "add_info_ragged",
    "assert_same",
    "assert_same_trajectories",
    "seed_list",
    "space_bytes",
]


def space_bytes(space: gym.Space) -> int:
    """Bytes of one element of `space` (Box, MultiBinary, Discrete, MultiDiscrete and Dicts of them),
    computed with Python ints."""
    if isinstance(space, gym.spaces.Dict):
        return sum(space_bytes(sub) for sub in space.spaces.values())
    size = 1
    for extent in space.shape or ():
        size *= int(extent)
    itemsize = np.dtype(space.dtype).itemsize if space.dtype is not None else 8
    return size * itemsize


def seed_list(seed: int | Sequence[int | None] | None, num_envs: int) -> list[int | None]:
    """One seed per sub-env, as `SyncVectorEnv.reset` derives them."""
    if seed is None:
        return [None] * num_envs
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return [int(seed) + i for i in range(num_envs)]
    seeds = list(seed)
    if len(seeds) != num_envs:
        raise ValueError(
            f"If seeds are passed as a list the length must match num_envs={num_envs} but got length={len(seeds)}."
        )
    return seeds


class BatchedVectorEnv(VectorEnv):
    """Base class: seeding, autoreset, reset masks and info batching (see the module docstring).

    `single_env` is an instance of the game's single env built with the same kwargs: it
    validates the kwargs and provides the single spaces, and subclasses may read its
    attributes (it is never stepped).
    """

    def __init__(self, num_envs: int, single_env: gym.Env) -> None:
        if (
            isinstance(num_envs, bool)
            or not isinstance(num_envs, (int, np.integer))
            or num_envs < 1
        ):
            raise ValueError(f"num_envs must be an integer >= 1, got {num_envs!r}")
        self.num_envs = int(num_envs)
        obs_bytes = space_bytes(single_env.observation_space)
        check_memory(
            f"num_envs={self.num_envs}: {self.num_envs} batched observations of {obs_bytes} "
            f"bytes (twice: state and copy)",
            self.num_envs * obs_bytes * 2,
        )
        self.single_env = single_env
        self.render_mode = single_env.render_mode
        self.metadata = {
            **type(single_env).metadata,
            "autoreset_mode": AutoresetMode.NEXT_STEP,
        }
        self.autoreset_mode = AutoresetMode.NEXT_STEP
        self.single_observation_space = single_env.observation_space
        self.single_action_space = single_env.action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._rngs: list[np.random.Generator | None] = [None] * self.num_envs
        self._autoreset = np.zeros(self.num_envs, dtype=bool)
        self._started = False
        self._all = np.arange(self.num_envs)

    # ------------------------------------------------------------------ subclass hooks

    def _reset_envs(self, ids: np.ndarray, options: dict[str, Any]) -> None:
        """Start a new episode in sub-envs `ids` (their generators are in `self._rngs`)."""
        raise NotImplementedError

    def _step_envs(
        self, ids: np.ndarray, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Step sub-envs `ids` with `actions` (one per id, already validated as in range).

        Returns rewards, terminated, truncated (float64 / bool arrays aligned with `ids`) and
        the boolean illegal-action flags (aligned with `ids`).
        """
        raise NotImplementedError

    def _observations(self) -> Any:
        """Fresh batched observations of every sub-env."""
        raise NotImplementedError

    def _base_info(self, illegal: np.ndarray) -> dict[str, np.ndarray]:
        """Arrays (leading dimension num_envs) for the keys every reset and step info has.

        `illegal` holds the illegal-action flag of every sub-env (False after a reset).
        Returns (key, array) pairs in the single env's info key order.
        """
        raise NotImplementedError

    def _final_info(self, i: int) -> dict[str, Any]:
        """The extra keys of sub-env `i`'s info on its last step (as the single env adds them)."""
        raise NotImplementedError

    def _reset_info(self, ids: np.ndarray) -> dict[str, np.ndarray]:
        """Keys only reset infos have (beyond `_base_info`), values aligned with `ids`."""
        return {}

    def _check_options(self, options: dict[str, Any]) -> None:
        """Raise as the single env does on unknown reset options (default: accept none)."""
        check_reset_options(options, [])

    # ------------------------------------------------------------------ gym API

    def reset(
        self,
        *,
        seed: int | Sequence[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[Any, dict[str, Any]]:
        seeds = seed_list(seed, self.num_envs)
        if options is not None and not isinstance(options, dict):
            raise TypeError(
                f"reset options must be a dict or None, got {type(options).__name__} {options!r}"
            )
        options = dict(options or {})
        reset_mask = options.pop("reset_mask", None)
        self._check_options(options)
        if reset_mask is not None:
            if not isinstance(reset_mask, np.ndarray):
                raise TypeError(
                    f"`options['reset_mask']` must be a numpy array, got {type(reset_mask)}"
                )
            if reset_mask.shape != (self.num_envs,):
                raise ValueError(
                    f"`options['reset_mask']` must have shape `({self.num_envs},)`, got {reset_mask.shape}"
                )
            if reset_mask.dtype != np.bool_:
                raise TypeError(
                    f"`options['reset_mask']` must have `dtype=np.bool_`, got {reset_mask.dtype}"
                )
            if not reset_mask.any():
                raise ValueError(
                    f"`options['reset_mask']` must contain a boolean array with at least one True value, got reset_mask={reset_mask}"
                )
            if not self._started:
                raise RuntimeError("call reset() without a reset_mask first")
            ids = np.flatnonzero(reset_mask)
        else:
            ids = self._all
            self._started = True
        for i in ids.tolist():
            if seeds[i] is not None:
                self._rngs[i], _ = seeding.np_random(seeds[i])
            elif self._rngs[i] is None:
                self._rngs[i], _ = seeding.np_random()
        self._autoreset[ids] = False
        self._reset_envs(ids, options)
        has = np.zeros(self.num_envs, dtype=bool)
        has[ids] = True
        infos = self._batch_info(has, np.zeros(self.num_envs, dtype=bool))
        self._add_reset_info(infos, ids)
        return self._observations(), infos

    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if not self._started:
            raise RuntimeError("call reset() before step()")
        actions = self._check_actions(actions)
        rewards = np.zeros(self.num_envs, dtype=np.float64)
        terminated = np.zeros(self.num_envs, dtype=bool)
        truncated = np.zeros(self.num_envs, dtype=bool)
        illegal = np.zeros(self.num_envs, dtype=bool)
        resetting = self._autoreset
        if resetting.any():
            ids = np.flatnonzero(~resetting)
            reset_ids = np.flatnonzero(resetting)
        else:
            ids, reset_ids = self._all, None
        if ids.size:
            r, te, tr, il = self._step_envs(ids, actions[ids])
            rewards[ids], terminated[ids], truncated[ids], illegal[ids] = r, te, tr, il
        if reset_ids is not None:
            self._reset_envs(reset_ids, {})
        done = terminated | truncated
        infos = self._batch_info(np.ones(self.num_envs, dtype=bool), illegal)
        if reset_ids is not None:
            self._add_reset_info(infos, reset_ids)
        for i in np.flatnonzero(done).tolist():
            infos = self._add_info(infos, self._final_info(i), i)
        self._autoreset = done
        return self._observations(), rewards, terminated, truncated, infos

    @property
    def np_random_generators(self) -> list[np.random.Generator | None]:
        """The sub-envs' generators (what ``envs[i].np_random`` is in a SyncVectorEnv)."""
        return list(self._rngs)

    # ------------------------------------------------------------------ helpers

    def _check_actions(self, actions: Any) -> np.ndarray:
        space = self.single_action_space
        shape = (self.num_envs, *(space.shape or ()))
        try:
            arr = np.asarray(actions)
        except (TypeError, ValueError) as error:  # ragged nesting, unconvertible objects
            raise InvalidActionError(
                f"actions {actions!r} are not an integer array of shape {shape}: {error}"
            ) from None
        if arr.shape != shape:
            raise InvalidActionError(f"actions must have shape {shape}, got {arr.shape}")
        if arr.dtype.kind not in "iu":
            raise InvalidActionError(
                f"actions must be integers (the env contract refuses floats and bools), got "
                f"dtype {arr.dtype}: {actions!r}"
            )
        if isinstance(space, gym.spaces.Discrete):
            low, high = int(space.start), int(space.start + space.n - 1)
            bad = np.flatnonzero((arr < low) | (arr > high))
            if bad.size:
                i = int(bad[0])
                raise InvalidActionError(
                    f"action {int(arr[i])} of sub-env {i} is outside the action space "
                    f"Discrete({space.n}): expected {low}..{high}"
                )
        elif isinstance(space, gym.spaces.MultiDiscrete):
            bad = np.argwhere((arr < space.start) | (arr >= space.start + space.nvec))
            if bad.size:
                i, j = (int(v) for v in bad[0])
                raise InvalidActionError(
                    f"action entry {j} of sub-env {i} is {int(arr[i, j])}, outside "
                    f"0..{int(space.nvec[j]) - 1} (the action space {space})"
                )
        return arr.astype(np.int64, copy=False)

    def _add_info(
        self, vector_infos: dict[str, Any], env_info: dict[str, Any], env_num: int
    ) -> dict[str, Any]:
        """`VectorEnv._add_info`, except that arrays of different shapes (the ``assignment``
        of two episodes of different lengths ending on the same step) go into an object
        array instead of raising."""
        return add_info_ragged(super()._add_info, vector_infos, env_info, env_num)

    def _add_reset_info(self, infos: dict[str, Any], ids: np.ndarray) -> None:
        """Add the reset-only keys of sub-envs `ids` (before any final info, as
        `SyncVectorEnv` creates a key's array from the first sub-env that has it)."""
        for key, values in self._reset_info(ids).items():
            if values.dtype == object:
                array = np.full(self.num_envs, None, dtype=object)
            else:
                array = np.zeros(self.num_envs, dtype=values.dtype)
            array[ids] = values
            mask = np.zeros(self.num_envs, dtype=bool)
            mask[ids] = True
            infos[key], infos[f"_{key}"] = array, mask

    def _batch_info(self, has: np.ndarray, illegal: np.ndarray) -> dict[str, Any]:
        """The reset/step info dict: base keys for the sub-envs in `has`, `_add_info` style."""
        infos: dict[str, Any] = {}
        full = bool(has.all())
        for key, array in self._base_info(illegal).items():
            if not full:
                array = array.copy()
                if array.dtype == object:
                    array[~has] = None
                else:
                    array[~has] = 0
            infos[key] = array
            infos[f"_{key}"] = has.copy()
        return infos


def add_info_ragged(
    add_info: Any, vector_infos: dict[str, Any], env_info: dict[str, Any], env_num: int
) -> dict[str, Any]:
    """Call `add_info` (a `VectorEnv._add_info`) after turning any batched array that cannot
    take `env_info`'s array of another shape into an object array of per-env arrays."""
    for key, value in env_info.items():
        array = vector_infos.get(key)
        if (
            isinstance(value, np.ndarray)
            and isinstance(array, np.ndarray)
            and array.dtype != object
            and array.shape[1:] != value.shape
        ):
            mask = vector_infos[f"_{key}"]
            boxed = np.full(array.shape[0], None, dtype=object)
            for j in np.flatnonzero(mask).tolist():
                boxed[j] = array[j]
            vector_infos[key] = boxed
    return add_info(vector_infos, env_info, env_num)


class RaggedSyncVectorEnv(gym.vector.SyncVectorEnv):
    """`SyncVectorEnv` whose infos take arrays of different shapes as `BatchedVectorEnv`'s do
    (the reference the batched envs are checked against)."""

    def _add_info(
        self, vector_infos: dict[str, Any], env_info: dict[str, Any], env_num: int
    ) -> dict[str, Any]:
        return add_info_ragged(super()._add_info, vector_infos, env_info, env_num)


def assert_same(a: Any, b: Any, where: str) -> None:
    """Raise AssertionError naming the first place where `a` and `b` (observations, rewards,
    infos: nested dicts, tuples and arrays) differ in structure, dtype, shape or value."""
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        if len(a) != len(b):
            raise AssertionError(f"{where}: lengths {len(a)} != {len(b)}")
        for k, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{k}]")
        return
    if isinstance(a, dict) or isinstance(b, dict):
        if not (isinstance(a, dict) and isinstance(b, dict)) or a.keys() != b.keys():
            extra = set(a) ^ set(b) if isinstance(a, dict) and isinstance(b, dict) else "type"
            raise AssertionError(f"{where}: keys differ ({extra})")
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
        return
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        if a.dtype != b.dtype or a.shape != b.shape:
            raise AssertionError(f"{where}: {a.dtype}{a.shape} != {b.dtype}{b.shape}")
        if a.dtype == object:
            for k, (x, y) in enumerate(zip(a.tolist(), b.tolist())):
                assert_same(x, y, f"{where}[{k}]")
        elif not np.array_equal(a, b):
            bad = np.argwhere(a != b)[0]
            raise AssertionError(
                f"{where}: differ first at {tuple(int(v) for v in bad)}: {a[tuple(bad)]!r} != {b[tuple(bad)]!r}"
            )
        return
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        raise AssertionError(f"{where}: {type(a).__name__} != {type(b).__name__}")
    if type(a) is not type(b) or a != b:
        raise AssertionError(f"{where}: {a!r} != {b!r}")


def assert_same_trajectories(
    batched: VectorEnv,
    reference: VectorEnv,
    *,
    seed: int | Sequence[int | None] | None,
    steps: int,
    sample: Any,
    rng: np.random.Generator,
    options: dict[str, Any] | None = None,
) -> int:
    """Step `batched` and `reference` (e.g. a `RaggedSyncVectorEnv` of single envs) with the
    same actions and raise AssertionError at the first difference in observations, rewards,
    terminations, truncations, infos or ``action_masks()``.

    `sample(rng, masks) -> actions` picks the batch of actions from the (num_envs, n) masks
    (None for a game without masks).
    Returns the number of episodes that ended.
    """
    obs_b, info_b = batched.reset(seed=seed, options=options)
    obs_r, info_r = reference.reset(seed=seed, options=options)
    assert_same(obs_b, obs_r, "reset obs")
    assert_same(info_b, info_r, "reset info")
    ended = 0
    for t in range(steps):
        masks = None
        if hasattr(batched.unwrapped, "action_masks"):
            masks = np.asarray(batched.unwrapped.action_masks())
            ref_masks = np.stack([np.asarray(m) for m in reference.call("action_masks")])
            assert_same(masks.astype(bool), ref_masks.astype(bool), f"step {t} action_masks")
        actions = sample(rng, masks)
        out_b = batched.step(actions)
        out_r = reference.step(actions)
        for k, name in enumerate(("obs", "rewards", "terminated", "truncated", "info")):
            assert_same(out_b[k], out_r[k], f"step {t} {name}")
        ended += int(np.sum(out_b[2] | out_b[3]))
    return ended
