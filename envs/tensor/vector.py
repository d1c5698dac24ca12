"""`TensorDecompositionVectorEnv`: AlphaTensor's TensorGame batched in numpy.

``gym.make_vec("discoverygym/TensorDecomposition-v0", num_envs=N,
vectorization_mode="vector_entry_point", **kwargs)`` builds it (entry point
``discoverygym.envs.tensor.vector:TensorDecompositionVectorEnv``). It takes the single env's
kwargs (`TensorDecompositionEnv`, whose docstring is the game's specification) and reproduces
``SyncVectorEnv`` over N single envs exactly: same seeds give the same observations, rewards,
terminations, truncations and infos (see `discoverygym.envs.batched`). The game has no action
mask (every action is legal), so there is no ``action_masks()``.

State: the residuals (N, nm, mp, pn) int64, the played factors (N, max_steps, nm+mp+pn) and
the step counts. A step subtracts the N rank-one terms u (x) v (x) w in one broadcast (xor in
"mod2"); the rank bounds (sum of slice ranks, minimised over the three modes) of all the
sub-envs that need one go through one batched SVD (or one batched GF(2) elimination) over
every slice of every residual, padded exactly as the single env pads them.

Training variants (kwargs the single env does not take; the RL agents' wrappers in
``discoverygym.agents.rl.envs`` define them on the single env, and the batched env reproduces
``SyncVectorEnv`` over those wrapped envs exactly):

* ``reward="rank_shaping"`` / ``"residual_shaping"``: potential-based shaping with potential
  ``-(rank bound + w * nonzero entries)`` of the residual, ``w`` = 0 / 0.25
  (`TensorRankShaping`); the default ``"plain"`` is the game's reward;
* ``game_over=True``: the move limit ends the episode as a termination, not a truncation
  (`TensorGameOver`);
* ``curriculum={"matmul_prob": p, "max_rank": R}``: a reset without options plays the matmul
  tensor with probability p, else a synthetic target of U{1..R} random rank-one terms, drawn
  with a per-sub-env generator seeded by ``reset(seed=...)`` (`TensorCurriculum`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from discoverygym.envs.batched import BatchedVectorEnv, seed_list
from discoverygym.envs.contract import check_memory, check_reset_options, reject_unknown_kwargs
from discoverygym.envs.tensor import render as _render
from discoverygym.envs.tensor.env import ENTRY_BYTES, METRIC_NAME, TensorDecompositionEnv
from discoverygym.envs.tensor.tensors import gf2_ranks

__all__ = ["TensorDecompositionVectorEnv", "rank_upper_bounds"]

# reward name -> weight of the residual's nonzero entries in the shaping potential
SHAPING: dict[str, float | None] = {"plain": None, "rank_shaping": 0.0, "residual_shaping": 0.25}


def rank_upper_bounds(tensors: np.ndarray, field: str = "standard") -> np.ndarray:
    """`rank_upper_bound` of each tensor of a stack (B, d0, d1, d2), in one batched call.

    Every slice of every tensor is zero-padded to max(d) x max(d), as the single env's
    `slice_rank_sums` pads them, so each slice's rank (SVD with numpy's `matrix_rank`
    tolerance, or GF(2) elimination) is the single env's.
    """
    tensors = np.asarray(tensors)
    if field == "mod2":
        tensors = tensors % 2
    B, dims = tensors.shape[0], tensors.shape[1:]
    size = max(dims)
    dtype = np.float64 if field == "standard" else np.int64
    slices = np.zeros((B, sum(dims), size, size), dtype=dtype)
    start = 0
    for axis in range(3):
        moved = np.moveaxis(tensors, axis + 1, 1)
        slices[:, start : start + dims[axis], : moved.shape[2], : moved.shape[3]] = moved
        start += dims[axis]
    flat = slices.reshape(-1, size, size)
    nonzero = flat.reshape(len(flat), -1).any(axis=1)
    ranks = np.zeros(len(flat), dtype=np.int64)
    if nonzero.any():
        live = flat[nonzero]
        if field == "mod2":
            ranks[nonzero] = gf2_ranks(live)
        else:
            singular = np.linalg.svd(live, compute_uv=False)
            tol = singular[:, :1] * size * np.finfo(np.float64).eps
            ranks[nonzero] = (singular > tol).sum(axis=1)
    ranks = ranks.reshape(B, sum(dims))
    owner = np.repeat(np.arange(3), dims)
    sums = np.stack([ranks[:, owner == axis].sum(axis=1) for axis in range(3)], axis=1)
    return sums.min(axis=1)


class TensorDecompositionVectorEnv(BatchedVectorEnv):
    """N tensor decomposition games stepped together (see the module docstring)."""

    @reject_unknown_kwargs
    def __init__(
        self,
        num_envs: int = 1,
        n: int = 2,
        m: int = 2,
        p: int = 2,
        coefficients: Sequence[int] | None = None,
        field: str = "standard",
        max_steps: int | None = None,
        rank_bound_every_step: bool = True,
        render_mode: str | None = None,
        reward: str = "plain",
        game_over: bool = False,
        curriculum: dict[str, Any] | None = None,
    ) -> None:
        if reward not in SHAPING:
            raise ValueError(f"reward {reward!r} is not supported; use one of {list(SHAPING)}")
        single = TensorDecompositionEnv(
            n=n,
            m=m,
            p=p,
            coefficients=coefficients,
            field=field,
            max_steps=max_steps,
            rank_bound_every_step=rank_bound_every_step,
            render_mode=render_mode,
        )
        super().__init__(num_envs, single)
        N = self.num_envs
        self.n, self.m, self.p = single.n, single.m, single.p
        self.field = single.field
        self.coefficients = single.coefficients
        self.max_steps = single.max_steps
        self.rank_bound_every_step = single.rank_bound_every_step
        self.sizes = single.sizes
        self.shape = single.shape
        self._values = single._values  # coefficient values by index (reduced mod 2 in "mod2")
        self._obs_dtype = single.observation_space["residual"].dtype
        check_memory(
            f"{N} batched <{self.n},{self.m},{self.p}> games of {self.max_steps} moves",
            N * (self.max_steps * sum(self.sizes) * 8 + int(np.prod(self.shape)) * ENTRY_BYTES),
        )
        self._residual = np.zeros((N, *self.shape), dtype=np.int64)
        self._played = np.zeros((N, self.max_steps, sum(self.sizes)), dtype=np.int64)
        self._steps = np.zeros(N, dtype=np.int64)
        self._bound = np.zeros(N, dtype=np.int64)
        self._extra: dict[int, dict[str, Any]] = {}
        self._matmul_bound: int | None = None
        self.reward = reward
        self._nnz_weight = SHAPING[reward]
        self._potential = np.zeros(N, dtype=np.float64)
        self.game_over = bool(game_over)
        self.curriculum = self._check_curriculum(curriculum)
        self._curriculum_rngs = [np.random.default_rng() for _ in range(N)]

    def _check_curriculum(self, spec: dict[str, Any] | None) -> tuple[float, int] | None:
        """(matmul probability, max rank) of a ``curriculum`` argument, validated."""
        if spec is None:
            return None
        if not isinstance(spec, dict) or set(spec) - {"matmul_prob", "max_rank"}:
            raise ValueError(
                f"curriculum must be a mapping with keys 'matmul_prob' and 'max_rank', got {spec!r}"
            )
        prob = float(spec.get("matmul_prob", 0.5))
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"matmul_prob must be in [0, 1], got {prob}")
        max_rank = int(spec.get("max_rank") or self.max_steps)
        if not 1 <= max_rank <= self.max_steps:
            raise ValueError(f"max_rank must be in [1, max_steps={self.max_steps}], got {max_rank}")
        return prob, max_rank

    def reset(
        self,
        *,
        seed: int | Sequence[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[Any, dict[str, Any]]:
        if self.curriculum is not None and seed is not None:
            mask = (options or {}).get("reset_mask")
            for i, s in enumerate(seed_list(seed, self.num_envs)):
                if s is not None and (mask is None or mask[i]):
                    self._curriculum_rngs[i] = np.random.default_rng(s)
        return super().reset(seed=seed, options=options)

    def _curriculum_options(self, i: int) -> dict[str, Any]:
        """Sub-env `i`'s reset options under the curriculum (`TensorCurriculum`'s draw)."""
        prob, max_rank = self.curriculum
        rng = self._curriculum_rngs[i]
        if rng.random() < prob:
            return {"target": "matmul"}
        return {"target": "synthetic", "rank": int(rng.integers(1, max_rank + 1))}

    # ------------------------------------------------------------------ hooks

    def _check_options(self, options: dict[str, Any]) -> None:
        check_reset_options(options, ["target", "rank"])

    def _reset_envs(self, ids: np.ndarray, options: dict[str, Any]) -> None:
        single = self.single_env
        targets, fresh = [], []
        for i in ids.tolist():
            # the single env's own target rule, drawing from sub-env i's generator
            single._np_random = self._rngs[i]
            chosen = options
            if self.curriculum is not None and not options:
                chosen = self._curriculum_options(i)
            target, extra = single._target_from_options(chosen)
            targets.append(target)
            self._extra[i] = extra
            fresh.append(target is not single._matmul)
        self._residual[ids] = np.stack(targets)
        self._steps[ids] = 0
        fresh = np.array(fresh)
        if (~fresh).any() and self._matmul_bound is None:
            self._matmul_bound = int(rank_upper_bounds(single._matmul[None], self.field)[0])
        bounds = np.full(ids.size, self._matmul_bound or 0, dtype=np.int64)
        if fresh.any():
            bounds[fresh] = rank_upper_bounds(self._residual[ids[fresh]], self.field)
        self._bound[ids] = bounds
        if self._nnz_weight is not None:
            self._potential[ids] = self._potentials(ids)

    def _potentials(self, ids: np.ndarray | slice) -> np.ndarray:
        """The shaping potential (rank bound + w * nonzero entries) of sub-envs `ids`."""
        residual = self._residual[ids]
        nonzero = np.count_nonzero(residual.reshape(residual.shape[0], -1), axis=1)
        return self._bound[ids].astype(np.float64) + self._nnz_weight * nonzero.astype(np.float64)

    def _step_envs(
        self, ids: np.ndarray, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        sel = slice(None) if ids.size == self.num_envs else ids
        values = self._values[actions]
        a, b = self.sizes[0], self.sizes[0] + self.sizes[1]
        u, v, w = values[:, :a], values[:, a:b], values[:, b:]
        steps = self._steps[sel]
        self._played[ids, steps] = values
        term = (u[:, :, None] * v[:, None, :])[:, :, :, None] * w[:, None, None, :]
        residual = self._residual[sel]
        if self.field == "mod2":
            residual ^= term
        else:
            residual -= term
        if not isinstance(sel, slice):
            self._residual[ids] = residual
        steps = steps + 1
        self._steps[sel] = steps
        terminated = ~residual.reshape(ids.size, -1).any(axis=1)
        truncated = ~terminated & (steps >= self.max_steps)
        need = terminated | truncated
        if self.rank_bound_every_step:
            need[:] = True
        bounds = self._bound[sel]
        if need.any():
            live = need & ~terminated
            new = np.zeros(int(need.sum()), dtype=np.int64)
            if live.any():
                new[live[need]] = rank_upper_bounds(residual[live], self.field)
            bounds[need] = new
            self._bound[sel] = bounds
        reward = np.where(truncated, -1.0 - bounds, -1.0)
        if self._nnz_weight is not None:
            potential = self._potentials(sel)
            reward = reward + (self._potential[sel] - potential)
            reward = np.where(truncated & ~terminated, reward + potential, reward)
            self._potential[sel] = potential
        if self.game_over:
            terminated, truncated = terminated | truncated, np.zeros(ids.size, dtype=bool)
        return reward, terminated, truncated, np.zeros(ids.size, dtype=bool)

    def _observations(self) -> dict[str, np.ndarray]:
        return {
            "residual": self._residual.astype(self._obs_dtype),
            "steps_left": (self.max_steps - self._steps).astype(np.int32)[:, None],
        }

    def _base_info(self, illegal: np.ndarray) -> dict[str, np.ndarray]:
        fields = np.empty(self.num_envs, dtype=object)
        fields[:] = self.field
        return {"rank_bound": self._bound.copy(), "steps": self._steps.copy(), "field": fields}

    def _add_reset_info(self, infos: dict[str, Any], ids: np.ndarray) -> None:
        """``demonstration`` (the factors of a synthetic target) for the sub-envs of `ids`
        that have one, as `SyncVectorEnv` batches it (an object array, masked)."""
        demos = {i: self._extra.pop(i, {}).get("demonstration") for i in ids.tolist()}
        have = [i for i, demo in demos.items() if demo is not None]
        if not have:
            return
        array = np.full(self.num_envs, None, dtype=object)
        mask = np.zeros(self.num_envs, dtype=bool)
        for i in have:
            array[i] = demos[i]
            mask[i] = True
        infos["demonstration"], infos["_demonstration"] = array, mask

    def _final_info(self, i: int) -> dict[str, Any]:
        steps = int(self._steps[i])
        if self._residual[i].any():  # truncated: the moves plus the residual's rank bound
            return {"metric": float(steps + int(self._bound[i])), "metric_name": METRIC_NAME}
        played = self._played[i, :steps]
        a, b = self.sizes[0], self.sizes[0] + self.sizes[1]
        return {
            "metric": float(steps),
            "metric_name": METRIC_NAME,
            "decomposition": (
                np.ascontiguousarray(played[:, :a].T),
                np.ascontiguousarray(played[:, a:b].T),
                np.ascontiguousarray(played[:, b:].T),
            )
        }

    # ------------------------------------------------------------------ public

    @property
    def residuals(self) -> np.ndarray:
        """A copy of every sub-env's residual tensor, (num_envs, nm, mp, pn) int64."""
        return self._residual.copy()

    def encode_action(self, u: Sequence[int], v: Sequence[int], w: Sequence[int]) -> np.ndarray:
        """The action (of one sub-env) for factors (u, v, w)."""
        return self.single_env.encode_action(u, v, w)

    def decode_action(self, action: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(u, v, w) as coefficient values for one sub-env's action."""
        return self.single_env.decode_action(action)

    def render(self) -> tuple[Any, ...] | None:
        """One frame per sub-env, as `SyncVectorEnv.render` returns."""
        if self.render_mode is None:
            return None
        frames = []
        for i in range(self.num_envs):
            residual = self._residual[i]
            if self.render_mode == "ansi":
                header = (
                    f"<{self.n},{self.m},{self.p}> {self.field}: step {int(self._steps[i])}/"
                    f"{self.max_steps}, {int(np.count_nonzero(residual))} nonzero entries"
                )
                frames.append(_render.ansi(residual, self.n, self.m, header))
            else:
                frames.append(_render.rgb(residual))
        return tuple(frames)
