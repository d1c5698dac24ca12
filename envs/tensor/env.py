"""AlphaTensor's TensorGame as a Gymnasium environment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from discoverygym.envs.contract import (
    InvalidActionError,
    check_memory,
    check_reset_options,
    reject_unknown_kwargs,
)
from discoverygym.envs.tensor import render as _render
from discoverygym.envs.tensor.instances import (
    check_coefficients,
    decode_action,
    encode_action,
    factor_sizes,
    matmul_target,
    random_factors,
)
from discoverygym.envs.tensor.tensors import Field, check_field, check_size, rank_upper_bound

DENSE_LIMIT = 8192
METRIC_NAME = "rank"
ENTRY_BYTES = 16
"""Bytes per residual entry (the int64 residual, the observation copy and the batched copies)."""


class TensorDecompositionEnv(gym.Env):
    """Decompose a tensor into rank-one terms (AlphaTensor's TensorGame, Fawzi et al. 2022).

    Registered id: ``discoverygym/TensorDecomposition-v0``
    (``gym.make("discoverygym.envs:discoverygym/TensorDecomposition-v0", n=2, m=2, p=3)``).

    Target: by default the matrix multiplication tensor <n,m,p> of shape (n*m, m*p, p*n),
    ``T[i*m+j, j*p+k, k*n+i] = 1`` (AlphaTensor's convention, third mode = C transposed).

    Kwargs:
        n, m, p (int >= 1, default 2): matrix sizes (A is n x m, B is m x p).
        coefficients (sequence of distinct ints): the values factor entries may take; default
            (-2, -1, 0, 1, 2), or (0, 1) when field="mod2". Stored sorted.
        field ("standard" | "mod2"): integer arithmetic, or everything modulo 2.
        max_steps (int >= 1): moves before truncation; default n*m*p (the naive rank).
        rank_bound_every_step (bool, default True): compute ``info["rank_bound"]`` after every
            step; with False it is only in the reset info and the final step's info (faster).
        render_mode (None | "ansi" | "rgb_array").

    Observation (``spaces.Dict``):
        "residual": Box of shape (n*m, m*p, p*n), the residual tensor S_t (S_0 = target).
            "standard": dtype int32, bounds [-B, B] with B = 2 * max_steps * c^3, c = max |coefficient|
            (a target's entries are at most max_steps * c^3 in absolute value, and each move
            changes an entry by at most c^3). "mod2": dtype int8, values in {0, 1}.
        "steps_left": Box(0, max_steps, shape (1,), int32): moves left before truncation.

    Action: ``MultiDiscrete([len(coefficients)] * (n*m + m*p + p*n))``, the entries of u, v, w
        concatenated, each an index into the sorted coefficient tuple (index 0 is -2 by
        default). Helpers: ``encode_action(u, v, w, coefficients)`` and
        ``decode_action(action, n, m, p, coefficients)`` (also as methods, bound to this env).
        Every action in the space is legal (a zero factor wastes a move); an action outside the
        space (a float or bool array, a wrong shape, an entry out of range) raises
        `InvalidActionError`, a ValueError naming it (the env contract,
        `discoverygym.envs.contract`). There is no action mask and no
        ``info["illegal_action"]``.

    Transition: S_t = S_{t-1} - u (x) v (x) w (modulo 2 in "mod2"; coefficients are reduced
        mod 2 there). Tensors above DENSE_LIMIT entries (e.g. <5,5,5>) only touch the support
        of u (x) v (x) w, so a step costs O(|supp u| * |supp v| * |supp w|) plus the rank bound.

    Reward: -1 per move; when the game is truncated with S != 0, an extra -rank_bound(S), the
        sum of the matrix ranks of S's slices (over the reals, or GF(2) in "mod2"), minimised
        over the three slicing directions. The return is -rank on success.

    Termination: S_t = 0 (terminated); truncated after max_steps moves otherwise.

    Info (reset and step): "rank_bound" (int; see rank_bound_every_step), "steps" (moves
        made), "field"; at the end of the episode also
        "metric" = minus the return (the rank of the scheme played on success, moves +
        rank_bound otherwise: the suite's score) with "metric_name" = "rank"; on success also
        "decomposition" = (U, V, W), int64 arrays of shapes (n*m, R), (m*p, R), (p*n, R) with
        R = steps, the played factors (reduced mod 2 in "mod2"). Reset with a synthetic target
        adds "demonstration" = the factors that built it.

    Limits: the residual needs about 16 bytes per entry; sizes above `MEMORY_LIMIT_BYTES`
    (n = m = p = 1000) are refused, and so are a max_steps or coefficients whose entry bound
    2 * max_steps * c^3 does not fit the int32 observation.

    Reset options:
        {"target": "matmul"} (default); {"target": "synthetic", "rank": R} (1 <= R <= max_steps,
        default max(1, n*m*p // 2)): the sum of R random rank-one terms with entries from the
        coefficient set, drawn with ``self.np_random`` (AlphaTensor's synthetic
        demonstrations; redrawn if the sum is zero); {"target": ndarray} of shape
        (n*m, m*p, p*n), integer, nonzero, entries within max_steps * c^3.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}
    metric_name = METRIC_NAME

    @reject_unknown_kwargs
    def __init__(
        self,
        n: int = 2,
        m: int = 2,
        p: int = 2,
        coefficients: Sequence[int] | None = None,
        field: Field = "standard",
        max_steps: int | None = None,
        rank_bound_every_step: bool = True,
        render_mode: str | None = None,
    ) -> None:
        self.n, self.m, self.p = check_size(n, m, p)
        entries = (self.n * self.m) * (self.m * self.p) * (self.p * self.n)
        check_memory(
            f"the tensor <{self.n},{self.m},{self.p}> with {entries} entries ({ENTRY_BYTES} bytes each)",
            entries * ENTRY_BYTES,
        )
        self.field: Field = check_field(field)
        self.coefficients = check_coefficients(coefficients, self.field)
        if max_steps is None:
            max_steps = self.n * self.m * self.p
        if (
            isinstance(max_steps, bool)
            or not isinstance(max_steps, (int, np.integer))
            or max_steps < 1
        ):
            raise ValueError(f"max_steps={max_steps!r} must be an integer >= 1")
        self.max_steps = int(max_steps)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode={render_mode!r}; expected None or one of {self.metadata['render_modes']}"
            )
        self.render_mode = render_mode
        self.rank_bound_every_step = bool(rank_bound_every_step)

        self.sizes = factor_sizes(self.n, self.m, self.p)
        self.shape = (self.sizes[0], self.sizes[1], self.sizes[2])
        cmax = max(abs(c) for c in self.coefficients)
        self.entry_limit = max(1, self.max_steps * cmax**3)
        if 2 * self.entry_limit > np.iinfo(np.int32).max:
            raise ValueError(
                f"max_steps={self.max_steps} with coefficients up to |c| = {cmax} bound the residual's "
                f"entries by 2 * max_steps * c^3 = {2 * self.entry_limit}, above the int32 "
                f"observation's limit {np.iinfo(np.int32).max}"
            )
        if self.field == "mod2":
            residual_space = spaces.Box(0, 1, shape=self.shape, dtype=np.int8)
        else:
            bound = 2 * self.entry_limit
            residual_space = spaces.Box(-bound, bound, shape=self.shape, dtype=np.int32)
        self.observation_space = spaces.Dict(
            {
                "residual": residual_space,
                "steps_left": spaces.Box(0, self.max_steps, shape=(1,), dtype=np.int32),
            }
        )
        self.action_space = spaces.MultiDiscrete([len(self.coefficients)] * sum(self.sizes))
        self._action_shape = (sum(self.sizes),)
        # dense updates below this many entries, support-only updates above (see step)
        self._dense = int(np.prod(self.shape)) <= DENSE_LIMIT
        self._values = np.asarray(self.coefficients, dtype=np.int64)
        if self.field == "mod2":
            self._values = self._values % 2
        self._residual = np.zeros(self.shape, dtype=np.int64)
        self._nonzero = 0
        self._steps = 0
        self._played: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._rank_bound = 0
        self._matmul: np.ndarray | None = None  # the default target and its rank bound, cached
        self._matmul_bound: int | None = None
        self._started = False

    # ------------------------------------------------------------------ helpers
    def encode_action(self, u: Sequence[int], v: Sequence[int], w: Sequence[int]) -> np.ndarray:
        """The action for factors (u, v, w) in this env's coefficient set."""
        return encode_action(u, v, w, self.coefficients)

    def decode_action(self, action: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(u, v, w) as coefficient values (not reduced mod 2)."""
        return decode_action(action, self.n, self.m, self.p, self.coefficients)

    def _decode(self, action) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Fast path for int arrays of the right shape; `decode_action` (with its errors) otherwise.

        Anything outside the action space raises `InvalidActionError`."""
        if not isinstance(action, np.ndarray):
            try:
                action = np.asarray(action)
            except (TypeError, ValueError) as error:  # ragged nesting, unconvertible objects
                raise InvalidActionError(
                    f"action {action!r} is not an integer array of the action space "
                    f"{self.action_space}: {error}"
                ) from None
        if action.dtype.kind not in "iu":
            raise InvalidActionError(
                f"action {action!r} is not an integer array of the action space {self.action_space} "
                f"(dtype {action.dtype}; floats and bools are refused)"
            )
        values = None
        if (
            isinstance(action, np.ndarray)
            and action.dtype.kind in "iu"
            and action.shape == self._action_shape
        ):
            # indexing rejects entries >= len(coefficients); min() catches negative ones
            try:
                if action.min() >= 0:
                    values = self._values[action]
            except IndexError:
                values = None
        if values is None:
            try:
                factors = decode_action(action, self.n, self.m, self.p, self.coefficients)
            except ValueError as error:
                raise InvalidActionError(f"{error} (the action space {self.action_space})") from None
            values = np.concatenate(factors)
            if self.field == "mod2":
                values = values % 2
        a, b = self.sizes[0], self.sizes[0] + self.sizes[1]
        return values[:a], values[a:b], values[b:]

    @property
    def residual(self) -> np.ndarray:
        """A copy of the current residual tensor (int64)."""
        return self._residual.copy()

    def _target_from_options(
        self, options: dict[str, Any] | None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        options = check_reset_options(options, ["target", "rank"])
        target = options.get("target", "matmul")
        extra: dict[str, Any] = {}
        if isinstance(target, str):
            if target == "matmul":
                if "rank" in options:
                    raise ValueError("reset option 'rank' only applies to target='synthetic'")
                if self._matmul is None:
                    self._matmul = matmul_target(self.n, self.m, self.p)
                return self._matmul, extra
            if target != "synthetic":
                raise ValueError(
                    f"reset option target={target!r}; expected 'matmul', 'synthetic' or an array"
                )
            rank = options.get("rank", max(1, self.n * self.m * self.p // 2))
            if (
                isinstance(rank, bool)
                or not isinstance(rank, (int, np.integer))
                or not 1 <= rank <= self.max_steps
            ):
                raise ValueError(
                    f"reset option rank={rank!r} must be an integer in [1, max_steps={self.max_steps}]"
                )
            while True:
                u, v, w = random_factors(
                    self.np_random, self.n, self.m, self.p, int(rank), self.coefficients, self.field
                )
                tensor = np.einsum("ar,br,cr->abc", u, v, w)
                if self.field == "mod2":
                    tensor %= 2
                if tensor.any():
                    extra["demonstration"] = (u, v, w)
                    return tensor, extra
        tensor = np.asarray(target)
        if tensor.shape != self.shape:
            raise ValueError(
                f"reset option target has shape {tensor.shape}; expected {self.shape} "
                f"for <{self.n},{self.m},{self.p}>"
            )
        if not np.issubdtype(tensor.dtype, np.integer):
            if not np.all(np.mod(tensor, 1) == 0):
                idx = tuple(int(x) for x in np.argwhere(np.mod(tensor, 1) != 0)[0])
                raise ValueError(
                    f"reset option target has a non-integer entry {tensor[idx]!r} at {list(idx)}"
                )
        tensor = tensor.astype(np.int64)
        if self.field == "mod2":
            tensor = tensor % 2
        too_big = np.abs(tensor) > self.entry_limit
        if too_big.any():
            idx = tuple(int(x) for x in np.argwhere(too_big)[0])
            raise ValueError(
                f"reset option target entry {list(idx)} = {tensor[idx]} exceeds "
                f"max_steps * c^3 = {self.entry_limit}"
            )
        if not tensor.any():
            raise ValueError("reset option target is the zero tensor: nothing to decompose")
        return tensor, extra

    def _obs(self) -> dict[str, np.ndarray]:
        residual_dtype = self.observation_space["residual"].dtype
        return {
            "residual": self._residual.astype(residual_dtype),
            "steps_left": np.array([self.max_steps - self._steps], dtype=np.int32),
        }

    def _info(self, with_bound: bool) -> dict[str, Any]:
        if with_bound:
            self._rank_bound = rank_upper_bound(self._residual, self.field) if self._nonzero else 0
        return {"rank_bound": self._rank_bound, "steps": self._steps, "field": self.field}

    # ------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        target, extra = self._target_from_options(options)
        self._started = True
        self._residual = np.array(target, dtype=np.int64, order="C")
        self._nonzero = int(np.count_nonzero(self._residual))
        self._steps = 0
        self._played = []
        is_matmul = target is self._matmul
        if is_matmul and self._matmul_bound is not None:
            self._rank_bound = self._matmul_bound
            info = self._info(False)
        else:
            info = self._info(True)
            if is_matmul:
                self._matmul_bound = self._rank_bound
        info.update(extra)
        return self._obs(), info

    def step(self, action):
        if not self._started:
            raise RuntimeError("call reset() before step()")
        if self._steps >= self.max_steps or (self._nonzero == 0 and self._steps > 0):
            raise RuntimeError("step() called after the episode ended; call reset()")
        u, v, w = self._decode(action)
        self._played.append((u, v, w))
        if self._dense:
            term = (u[:, None] * v)[:, :, None] * w
            if self.field == "mod2":
                np.bitwise_xor(self._residual, term, out=self._residual)
            else:
                self._residual -= term
            self._nonzero = int(self._residual.any())  # only zero / nonzero is needed
        else:
            iu, iv, iw = u.nonzero()[0], v.nonzero()[0], w.nonzero()[0]
            if len(iu) and len(iv) and len(iw):
                index = np.ix_(iu, iv, iw)
                block = self._residual[index]
                if self.field == "mod2":
                    new = block ^ 1
                else:
                    new = block - u[iu][:, None, None] * v[iv][None, :, None] * w[iw][None, None, :]
                self._nonzero += int(np.count_nonzero(new)) - int(np.count_nonzero(block))
                self._residual[index] = new
        self._steps += 1
        terminated = self._nonzero == 0
        truncated = not terminated and self._steps >= self.max_steps
        info = self._info(self.rank_bound_every_step or terminated or truncated)
        reward = -1.0
        if truncated:
            reward -= float(info["rank_bound"])
        if terminated or truncated:
            info["metric"] = float(self._steps + (info["rank_bound"] if truncated else 0))
            info["metric_name"] = METRIC_NAME
        if terminated:
            info["decomposition"] = tuple(
                np.stack([f[k] for f in self._played], axis=1) for k in range(3)
            )
        return self._obs(), reward, terminated, truncated, info

    def render(self):
        if self.render_mode == "ansi":
            nonzero = int(np.count_nonzero(self._residual))
            header = (
                f"<{self.n},{self.m},{self.p}> {self.field}: step {self._steps}/{self.max_steps}, "
                f"{nonzero} nonzero entries"
            )
            return _render.ansi(self._residual, self.n, self.m, header)
        if self.render_mode == "rgb_array":
            return _render.rgb(self._residual)
        return None
