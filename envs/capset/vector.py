"""The native batched cap set game: ``num_envs`` games of `CapSetEnv` stepped with numpy.

Registered as the vector entry point of ``discoverygym/CapSet-v0``::

    envs = gym.make_vec("discoverygym/CapSet-v0", num_envs=64, vectorization_mode="vector_entry_point", n=5)

It reproduces ``SyncVectorEnv`` over ``num_envs`` copies of `CapSetEnv` (same kwargs) exactly:
observations, rewards, terminations, infos (the final keys on the last step of an episode),
``action_masks()`` of shape (num_envs, 3^n), and the next-step autoreset of
`discoverygym.envs.batched.BatchedVectorEnv`; the tests compare the two step by step.

One step blocks the third points of every stepped game at once: the members' index parts of
all games are gathered into a (games, largest size) array and looked up in the two
`geometry.third_table` tables, so a step costs O(num_envs * largest size) numpy work.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from discoverygym.envs.batched import BatchedVectorEnv
from discoverygym.envs.capset.bounds import bound, gap_pct
from discoverygym.envs.capset.env import CapSetEnv
from discoverygym.envs.capset.geometry import all_vectors, third_table
from discoverygym.envs.capset.render import render_ansi, render_rgb

__all__ = ["CapSetVectorEnv"]


class CapSetVectorEnv(BatchedVectorEnv):
    """`num_envs` cap set games in F_3^n (kwargs: those of `CapSetEnv`)."""

    def __init__(self, num_envs: int, **kwargs: Any) -> None:
        single = CapSetEnv(**kwargs)
        super().__init__(num_envs, single)
        self.n = single.n
        self.num_vectors = single.num_vectors
        batch, size = self.num_envs, self.num_vectors
        self._digits = all_vectors(self.n)
        self._low_base = 3 ** (self.n - self.n // 2)
        self._high_table = third_table(self.n // 2)
        self._low_table = third_table(self.n - self.n // 2)
        self._members = np.zeros((batch, size), dtype=np.int8)
        self._blocked = np.zeros((batch, size), dtype=np.int8)
        self._mask = np.zeros((batch, size), dtype=np.int8)
        self._order = np.zeros((batch, size), dtype=np.int64)
        self._high = np.zeros((batch, size), dtype=np.int64)
        self._low = np.zeros((batch, size), dtype=np.int64)
        self._size = np.zeros(batch, dtype=np.int64)
        self._added = np.full(batch, -1, dtype=np.int64)

    def action_masks(self) -> np.ndarray:
        """Legal actions of every game (int8 (num_envs, 3^n), 1 = legal)."""
        if not self._started:
            raise RuntimeError("call reset() before action_masks()")
        return self._mask.copy()

    def render(self) -> tuple[Any, ...] | None:
        """One frame per game, as `SyncVectorEnv.render` returns."""
        if self.render_mode is None:
            return None
        if not self._started:
            raise RuntimeError("call reset() before render()")
        frames = []
        for i in range(self.num_envs):
            size = int(self._size[i])
            last = int(self._order[i, size - 1]) if size else None
            if self.render_mode == "ansi":
                vector = None if last is None else tuple(int(x) for x in self._digits[last])
                frames.append(
                    render_ansi(
                        self.n, self._members[i], self._blocked[i], size, bound(self.n).size, vector
                    )
                )
            else:
                frames.append(render_rgb(self.n, self._members[i], self._blocked[i], last))
        return tuple(frames)

    def _check_options(self, options: dict[str, Any]) -> None:
        if options:
            raise ValueError(
                f"unknown reset option(s) {sorted(map(str, options))}; known: [] (CapSet-v0 has no reset options)"
            )

    def _reset_envs(self, ids: np.ndarray, options: dict[str, Any]) -> None:
        self._members[ids] = 0
        self._blocked[ids] = 0
        self._mask[ids] = 1
        self._size[ids] = 0
        self._added[ids] = -1

    def _step_envs(
        self, ids: np.ndarray, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        illegal = self._mask[ids, actions] == 0
        if illegal.any():  # the lowest-index legal vector instead, as the single env does
            actions = actions.copy()
            actions[illegal] = np.argmax(self._mask[ids[illegal]], axis=1)
        sizes = self._size[ids]
        high, low = np.divmod(actions, self._low_base)
        longest = int(sizes.max())
        if longest:
            members_high = self._high[ids, :longest]
            members_low = self._low[ids, :longest]
            thirds = self._high_table[high[:, None], members_high] * self._low_base
            thirds += self._low_table[low[:, None], members_low]
            rows, cols = np.nonzero(np.arange(longest)[None, :] < sizes[:, None])
            games, points = ids[rows], thirds[rows, cols]
            self._blocked[games, points] = 1
            self._mask[games, points] = 0
        self._members[ids, actions] = 1
        self._mask[ids, actions] = 0
        self._order[ids, sizes] = actions
        self._high[ids, sizes] = high
        self._low[ids, sizes] = low
        self._size[ids] = sizes + 1
        self._added[ids] = actions
        terminated = ~self._mask[ids].any(axis=1)
        rewards = np.ones(ids.size, dtype=np.float64)
        return rewards, terminated, np.zeros(ids.size, dtype=bool), illegal

    def _observations(self) -> dict[str, np.ndarray]:
        return {
            "members": self._members.copy(),
            "blocked": self._blocked.copy(),
            "steps": self._size[:, None].astype(np.float32),
        }

    def _base_info(self, illegal: np.ndarray) -> dict[str, np.ndarray]:
        return {
            "action_mask": self._mask.copy(),
            "illegal_action": illegal.copy(),
            "n": np.full(self.num_envs, self.n, dtype=np.int64),
            "size": self._size.copy(),
            "added": self._added.copy(),
        }

    def _final_info(self, i: int) -> dict[str, Any]:
        size = int(self._size[i])
        best = bound(self.n)
        order = self._order[i, :size].copy()
        return {
            "best_known": best.size,
            "optimal": (size == best.size) if best.optimal else None,
            "gap_pct": gap_pct(size, self.n),
            "cap_set": self._digits[order],
            "actions": order,
        }
