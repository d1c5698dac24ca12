"""`OnlineBinPackingVectorEnv`: the bin packing game batched in numpy, one array row per sub-env.

``gym.make_vec("discoverygym/OnlineBinPacking-v0", num_envs=N,
vectorization_mode="vector_entry_point", **kwargs)`` builds it (entry point
``discoverygym.envs.binpacking.vector:OnlineBinPackingVectorEnv``); it takes the single env's
kwargs (`OnlineBinPackingEnv`, whose docstring is the game's specification) and reproduces
``SyncVectorEnv`` over N single envs exactly (same seeds -> same observations, rewards,
terminations, truncations, infos and masks; see `discoverygym.envs.batched`).

State arrays (N = num_envs, L = C + 1 remaining-capacity levels, B = max bins):
``_hist`` float32 (N, L) bins per level, ``_rem`` int32 (N, B) remaining capacity per bin,
``_assign`` int32 (N, max_items) bin of every placed item.

In histogram mode an action names a level and the item goes into the lowest-index open bin
at that level. To find it in O(1) per sub-env without scanning the bins, each (sub-env,
level) keeps a two-level bitset of its bins: ``_words`` uint64 (N, L, ceil(B/64)) with bit
``b`` set when bin ``b`` is at that level, and ``_summary`` uint64 (N, L, ceil(B/4096)) with
bit ``w`` set when word ``w`` is non-zero; the lowest bin is two count-trailing-zeros away.
Memory: about N * L * B / 8 bytes, less than N single envs' own arrays.

Training variants (kwargs the single env does not take; the RL agents' wrappers in
``discoverygym.agents.rl.envs`` define them on the single env, and the batched env reproduces
``SyncVectorEnv`` over those wrapped envs exactly):

* ``reward="waste"``: each step's reward plus ``item / C`` (the placed item's grid size over
  the grid capacity; `BinPackingWasteReward`); the default ``"bins"`` is the game's -1 per
  new bin.
* ``observation="topk"`` (with ``topk=k``): the histogram game seen through its ``k`` tightest
  fitting levels and a new bin (`BinPackingTopK`, `topk_views`): action ``a < k`` puts the
  item into a bin at the a-th tightest fitting level, ``a = k`` into a new bin;
  ``info["action_mask"]`` and ``action_masks()`` are the candidates' validity, and a padded
  candidate is an illegal action (a new bin, ``info["illegal_action"]``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from discoverygym.envs.batched import BatchedVectorEnv
from discoverygym.envs.binpacking.bounds import InstanceBounds, instance_bounds
from discoverygym.envs.binpacking.env import METRIC_NAME, OnlineBinPackingEnv
from discoverygym.envs.binpacking.instances import Dataset, Instance
from discoverygym.envs.binpacking.render import render_ansi, render_rgb
from discoverygym.envs.contract import check_memory, check_reset_options, reject_unknown_kwargs

__all__ = ["TOPK_FEATURES", "TOPK_GLOBALS", "OnlineBinPackingVectorEnv", "topk_views"]

REWARDS: tuple[str, ...] = ("bins", "waste")
TOPK_FEATURES: tuple[str, ...] = (
    "level",
    "gap",
    "bins_at_level",
    "bins_at_landing",
    "new_bin",
    "rank",
)
TOPK_GLOBALS: tuple[str, ...] = ("item", "items_left", "open_bins", "mean_free")


def topk_views(
    hist: np.ndarray, item: np.ndarray, items_left: np.ndarray, k: int
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The top-k observations of B histogram states, and the level of each of their actions.

    `hist` (B, C+1) float32 bins per remaining-capacity level, `item` (B,) grid sizes (0 once
    done), `items_left` (B,). Candidates: the `k` tightest remaining-capacity levels below C
    with an open bin the item fits in (ascending level), padded with level -1, then the new bin
    (level C) as the last action. Observation: ``candidates`` float32 (B, k+1, 6) = level/C,
    gap after placing/C, log(1+bins at level), log(1+bins at the landing level), new-bin flag,
    rank/k (zero rows for padding); ``globals`` float32 (B, 4) = item/C, log(1+items left)/10,
    log(1+open bins)/10, mean free fraction of the open bins; ``valid`` int8 (B, k+1).
    """
    B, L = hist.shape
    capacity = L - 1
    item = np.asarray(item, dtype=np.int64)
    fits = (hist[:, :capacity] > 0) & (np.arange(capacity)[None, :] >= item[:, None])
    rank = np.cumsum(fits, axis=1) - 1
    rows, lvl = np.nonzero(fits & (rank < k))
    levels = np.full((B, k + 1), -1, dtype=np.int64)
    levels[rows, rank[rows, lvl]] = lvl
    levels[:, k] = capacity
    valid = levels >= 0
    lv = np.where(valid, levels, capacity)
    gap = lv - item[:, None]
    cand = np.zeros((B, k + 1, len(TOPK_FEATURES)), dtype=np.float32)
    cand[:, :, 0] = lv / capacity
    cand[:, :, 1] = gap / capacity
    cand[:, :, 2] = np.log1p(np.where(valid, np.take_along_axis(hist, lv, axis=1), 0.0))
    landing = np.take_along_axis(hist, np.clip(gap, 0, capacity), axis=1)
    cand[:, :, 3] = np.log1p(np.where(valid, landing, 0.0))
    cand[:, k, 4] = 1.0
    cand[:, :, 5] = np.arange(k + 1) / k
    cand[~valid] = 0.0
    open_bins = hist.sum(axis=1).astype(np.float64)
    free = (hist * np.arange(capacity + 1)).sum(axis=1) / capacity
    glob = np.stack(
        [
            item / capacity,
            np.log1p(np.asarray(items_left, dtype=np.float64)) / 10.0,
            np.log1p(open_bins) / 10.0,
            free / np.maximum(open_bins, 1.0),
        ],
        axis=1,
    ).astype(np.float32)
    return {"candidates": cand, "globals": glob, "valid": valid.astype(np.int8)}, levels

_ONE = np.uint64(1)
_BIT = np.left_shift(_ONE, np.arange(64, dtype=np.uint64))  # _BIT[k] = 1 << k


def _ctz(x: np.ndarray) -> np.ndarray:
    """Index of the lowest set bit of each non-zero uint64 (count trailing zeros), as int64."""
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        return np.bitwise_count(x ^ (x - _ONE)).astype(np.int64) - 1
    return np.frexp((x & (~x + _ONE)).astype(np.float64))[1].astype(np.int64) - 1


class OnlineBinPackingVectorEnv(BatchedVectorEnv):
    """N online bin packing games stepped together (see the module docstring)."""

    @reject_unknown_kwargs
    def __init__(
        self,
        num_envs: int = 1,
        dataset: str | Dataset = "weibull5k",
        instance: str | Instance | None = None,
        observation: str = "histogram",
        max_bins: int | None = None,
        render_mode: str | None = None,
        reward: str = "bins",
        topk: int = 12,
    ) -> None:
        if reward not in REWARDS:
            raise ValueError(f"reward {reward!r} is not supported; use one of {list(REWARDS)}")
        self._topk = observation == "topk"
        if (
            isinstance(topk, bool)
            or not isinstance(topk, (int, np.integer))
            or topk < 1
        ):
            raise ValueError(f"topk must be an integer >= 1, got {topk!r}")
        single = OnlineBinPackingEnv(
            dataset=dataset,
            instance=instance,
            observation="histogram" if self._topk else observation,
            max_bins=max_bins,
            render_mode=render_mode,
        )
        super().__init__(num_envs, single)
        self.reward = reward
        self.k = int(topk)
        n = self.num_envs
        self.dataset = single.dataset
        self.observation_mode = single.observation_mode
        self.capacity = int(single.capacity)
        self.scale = int(single.scale)
        self.max_items = int(single.max_items)
        self.max_bins = int(single.max_bins)
        self.new_bin_action = int(single.new_bin_action)
        self._histogram = self.observation_mode == "histogram"
        levels = self.capacity + 1
        self._levels = levels
        self._num_actions = self.new_bin_action + 1
        insts = self.dataset.instances
        words = -(-self.max_bins // 64) if self._histogram else 0
        check_memory(
            f"{n} batched bin packing envs with grid capacity {self.capacity}, "
            f"{self.max_items} items and {self.max_bins} bins",
            (levels + 1) * levels  # the fits table
            + len(insts) * (self.max_items + 1) * 8
            + n * (self.max_items * 4 + self._num_actions * 2 + levels * (4 + words * 9))
            + (0 if self._histogram else n * self.max_bins * 4),
        )
        # sizes padded with the sentinel C + 1 (fits no level) past each instance's end
        self._sentinel = self.capacity + 1
        self._sizes = np.full((len(insts), self.max_items + 1), self._sentinel, dtype=np.int64)
        for k, inst in enumerate(insts):
            self._sizes[k, : inst.num_items] = inst.sizes
        self._num_items = np.array([inst.num_items for inst in insts], dtype=np.int64)
        self._names = np.array([inst.name for inst in insts], dtype=object)
        self._name_index = {inst.name: k for k, inst in enumerate(insts)}
        # fits[s, g]: an item of grid size s fits a bin with remaining capacity g (row C+1: none)
        self._fits = np.zeros((levels + 1, levels), dtype=bool)
        self._fits[:levels] = np.arange(levels)[None, :] >= np.arange(levels)[:, None]
        self._bounds: dict[str, InstanceBounds] = {}

        self._inst = np.zeros(n, dtype=np.int64)
        self._t = np.zeros(n, dtype=np.int64)
        self._n = np.ones(n, dtype=np.int64)
        self._open = np.zeros(n, dtype=np.int64)
        self._size = np.full(n, self._sentinel, dtype=np.int64)
        self._truncated = np.zeros(n, dtype=bool)
        # bins mode: remaining capacity per bin (histogram mode decodes it from the bitsets)
        self._rem = np.zeros((n, 0 if self._histogram else self.max_bins), dtype=np.int32)
        self._assign = np.full((n, self.max_items), -1, dtype=np.int32)
        self._maskb = np.zeros((n, self._num_actions), dtype=bool)
        self._mask = self._maskb.view(np.int8)  # the same memory, as int8 0/1
        if self._histogram:
            self._hist = np.zeros((n, levels), dtype=np.float32)
            self._nw = -(-self.max_bins // 64)
            self._ns = -(-self._nw // 64)
            self._words = np.zeros((n, levels, self._nw), dtype=np.uint64)
            self._summary = np.zeros((n, levels, self._ns), dtype=np.uint64)
            self._wflat = self._words.reshape(-1)
            self._sflat = self._summary.reshape(-1)
        self._hflat = self._hist.reshape(-1) if self._histogram else None
        if self._topk:
            self._set_topk_spaces()

    def _set_topk_spaces(self) -> None:
        """Spaces and state of the top-k view (`topk_views`)."""
        from gymnasium import spaces
        from gymnasium.vector.utils import batch_space

        k, n = self.k, self.num_envs
        self.observation_mode = "topk"
        self.single_observation_space = spaces.Dict(
            {
                "candidates": spaces.Box(-1.0, np.inf, (k + 1, len(TOPK_FEATURES)), np.float32),
                "globals": spaces.Box(0.0, np.inf, (len(TOPK_GLOBALS),), np.float32),
                "valid": spaces.MultiBinary(k + 1),
            }
        )
        self.single_action_space = spaces.Discrete(k + 1)
        self.observation_space = batch_space(self.single_observation_space, n)
        self.action_space = batch_space(self.single_action_space, n)
        self._view_levels = np.full((n, k + 1), -1, dtype=np.int64)
        self._view_cand = np.zeros((n, k + 1, len(TOPK_FEATURES)), dtype=np.float32)
        self._view_glob = np.zeros((n, len(TOPK_GLOBALS)), dtype=np.float32)
        self._view_valid = np.zeros((n, k + 1), dtype=np.int8)

    # ------------------------------------------------------------------ hooks

    def _check_options(self, options: dict[str, Any]) -> None:
        check_reset_options(options, ["instance"])
        name = options.get("instance")
        if name is not None and not isinstance(name, str):
            raise TypeError(
                f"reset option 'instance' must be an instance name (str), got "
                f"{type(name).__name__} {name!r}"
            )
        if name is not None:
            self.dataset.instance(options["instance"])  # KeyError with the close names

    def _reset_envs(self, ids: np.ndarray, options: dict[str, Any]) -> None:
        name = options.get("instance")
        count = len(self.dataset)
        if name is not None:
            self._inst[ids] = self._name_index[name]
        elif count == 1:
            self._inst[ids] = 0
        else:
            rngs = self._rngs
            self._inst[ids] = [int(rngs[i].integers(count)) for i in ids.tolist()]
        inst = self._inst[ids]
        self._t[ids] = 0
        self._n[ids] = self._num_items[inst]
        self._open[ids] = 0
        self._truncated[ids] = False
        self._size[ids] = self._sizes[inst, 0]
        self._rem[ids] = 0
        self._assign[ids] = -1
        if self._histogram:
            self._hist[ids] = 0
            self._words[ids] = 0
            self._summary[ids] = 0
        self._update_mask(ids)

    def _step_envs(
        self, ids: np.ndarray, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        # `sel` indexes the stepped sub-envs: a slice (views, no gathers) when all step
        sel = slice(None) if ids.size == self.num_envs else ids
        placed = self._size[sel] / self.capacity if self.reward == "waste" else None
        padded = None
        if self._topk:  # actions are in 0..k (checked): candidate -> level, padded -> new bin
            level = self._view_levels[ids, actions]
            padded = level < 0
            actions = np.where(padded, self.new_bin_action, level)
        A = self._num_actions
        legal = self._maskb.reshape(-1)[ids * A + actions]
        new_bin = self.new_bin_action
        a = np.where(legal, actions, new_bin)
        is_new = a == new_bin
        rewards = -is_new.astype(np.float64)
        terminated = np.zeros(ids.size, dtype=bool)
        truncated = np.zeros(ids.size, dtype=bool)
        go = slice(None)
        if not self._histogram:
            # a new bin with max_bins open: truncated, nothing placed, the mask left as it was
            truncated = is_new & (self._open[sel] >= self.max_bins)
            if truncated.any():
                self._truncated[ids[truncated]] = True
                go = ~truncated
                ids, a, is_new = ids[go], a[go], is_new[go]
                sel = ids
        size = self._size[sel]
        n_open = self._open[sel]
        if self._histogram:
            level, b = self._take_bins(ids, a, is_new, n_open)
        else:
            b = np.where(is_new, n_open, a)
            level = np.where(
                is_new, self.capacity, self._rem[ids, np.minimum(a, self.max_bins - 1)]
            )
        new_level = level - size
        if self._histogram:
            self._add_bins(ids, new_level, b)
        else:
            self._rem.reshape(-1)[ids * self.max_bins + b] = new_level
        self._open[sel] = n_open + is_new
        t = self._t[sel]
        self._assign.reshape(-1)[ids * self.max_items + t] = b
        t += 1
        self._t[sel] = t
        self._size[sel] = self._sizes.reshape(-1)[self._inst[sel] * self._sizes.shape[1] + t]
        self._update_mask(sel)
        terminated[go] = t >= self._n[sel]
        if placed is not None:
            rewards = rewards + placed
        illegal = ~legal if padded is None else ~legal | padded
        return rewards, terminated, truncated, illegal

    def _take_bins(
        self, ids: np.ndarray, a: np.ndarray, is_new: np.ndarray, n_open: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Levels left and bin indices for an item put at level `a` (or into a new bin)."""
        L, nw, ns = self._levels, self._nw, self._ns
        level = np.where(is_new, self.capacity, a)
        b = n_open.copy()
        old = ~is_new
        if old.any():
            oi, og = ids[old], level[old]
            row = oi * L + og
            self._hflat[row] -= 1
            # the first non-zero summary word k, then its lowest bit: the first non-zero word w
            sidx = row * ns
            if ns == 2:
                sidx += self._sflat[sidx] == 0
            elif ns > 2:
                sidx += (self._summary.reshape(-1, ns)[row] != 0).argmax(axis=1)
            sw = self._sflat[sidx]
            w = ((sidx - row * ns) << 6) + _ctz(sw)
            widx = row * nw + w
            x = self._wflat[widx]
            b[old] = (w << 6) + _ctz(x)
            x &= x - _ONE
            self._wflat[widx] = x
            emptied = x == 0
            if emptied.any():
                self._sflat[sidx[emptied]] = sw[emptied] & (sw[emptied] - _ONE)
        return level, b

    def _add_bins(self, ids: np.ndarray, level: np.ndarray, b: np.ndarray) -> None:
        """Bins `b` of sub-envs `ids` now have remaining capacity `level`."""
        L, nw, ns = self._levels, self._nw, self._ns
        row = ids * L + level
        self._hflat[row] += 1
        w = b >> 6
        widx = row * nw + w
        self._wflat[widx] |= _BIT.take(b & 63)
        sidx = row * ns + (w >> 6)
        self._sflat[sidx] |= _BIT.take(w & 63)

    def _update_mask(self, sel: np.ndarray | slice) -> None:
        """Recompute the legal actions of sub-envs `sel` (done: only the new-bin action)."""
        size = self._size[sel]
        if self._truncated.any():
            size = np.where(self._truncated[sel], self._sentinel, size)
        if self._histogram:
            fits = np.take(self._fits, size, axis=0)
            fits &= self._hist[sel] > 0
            self._maskb[sel] = fits
        else:
            B = self.max_bins
            open_ = np.arange(B)[None, :] < self._open[sel, None]
            self._maskb[sel, :B] = open_ & (self._rem[sel] >= size[:, None])
        self._maskb[sel, self.new_bin_action] = True
        if self._topk:
            done = (self._t[sel] >= self._n[sel]) | self._truncated[sel]
            view, levels = topk_views(
                self._hist[sel],
                np.where(done, 0, self._size[sel]),
                np.where(done, 0, self._n[sel] - self._t[sel]).astype(np.float32),
                self.k,
            )
            self._view_levels[sel] = levels
            self._view_cand[sel] = view["candidates"]
            self._view_glob[sel] = view["globals"]
            self._view_valid[sel] = view["valid"]

    def _observations(self) -> dict[str, np.ndarray]:
        done = (self._t >= self._n) | self._truncated
        item = np.where(done, 0, self._size).astype(np.float32)[:, None]
        left = np.where(done, 0, self._n - self._t).astype(np.float32)[:, None]
        if self._topk:
            return {
                "candidates": self._view_cand.copy(),
                "globals": self._view_glob.copy(),
                "valid": self._view_valid.copy(),
            }
        if self._histogram:
            return {"histogram": self._hist.copy(), "item": item, "items_left": left}
        valid = (np.arange(self.max_bins)[None, :] < self._open[:, None]).astype(np.int8)
        return {
            "bins": self._rem.astype(np.float32),
            "valid": valid,
            "item": item,
            "items_left": left,
        }

    def _base_info(self, illegal: np.ndarray) -> dict[str, np.ndarray]:
        n = self.num_envs
        return {
            "action_mask": self._view_valid.copy() if self._topk else self._mask.copy(),
            "illegal_action": illegal,
            "instance": self._names[self._inst],
            "item_index": self._t.copy(),
            "num_items": self._n.copy(),
            "bins_used": self._open.copy(),
            "capacity": np.full(n, self.capacity, dtype=np.int64),
            "scale": np.full(n, self.scale, dtype=np.int64),
        }

    def _final_info(self, i: int) -> dict[str, Any]:
        inst = self.dataset.instances[int(self._inst[i])]
        bounds = self._bounds.get(inst.name)
        if bounds is None:
            bounds = self._bounds[inst.name] = instance_bounds(inst)
        n_open = int(self._open[i])
        excess = 100.0 * (n_open - bounds.l1) / bounds.l1
        info: dict[str, Any] = {}
        if self._truncated[i]:
            info["truncated_reason"] = "max_bins"
        info.update(
            {
                "l1": bounds.l1,
                "l2": bounds.l2,
                "optimum": bounds.optimum,
                "excess_pct": excess,
                "metric": excess,
                "metric_name": METRIC_NAME,
                "assignment": self._assign[i, : int(self._t[i])].astype(np.int64),
            }
        )
        return info

    # ------------------------------------------------------------------ public

    def action_masks(self) -> np.ndarray:
        """Legal actions (int8, 1 = legal), (num_envs, action count); MaskablePPO's hook
        (the top-k view: bool, the valid candidates, as `BinPackingTopK.action_masks`)."""
        if self._topk:
            return self._view_levels >= 0
        return self._mask.copy()

    def remaining(self, i: int) -> np.ndarray:
        """Remaining grid capacity of sub-env `i`'s open bins, in opening order (a copy)."""
        n_open = int(self._open[i])
        if not self._histogram:
            return self._rem[i, :n_open].astype(np.int64)
        # bit b of level g's words is set when bin b is at level g: one level per open bin
        bits = np.unpackbits(self._words[i].astype("<u8").view(np.uint8), axis=1, bitorder="little")
        return bits[:, :n_open].argmax(axis=0).astype(np.int64)

    def assignment(self, i: int) -> np.ndarray:
        """Bin index of every item sub-env `i` placed so far, in arrival order (a copy)."""
        return self._assign[i, : int(self._t[i])].astype(np.int64)

    def render(self) -> tuple[Any, ...] | None:
        """One frame per sub-env (text or RGB array), as `SyncVectorEnv.render` returns."""
        if self.render_mode is None:
            return None
        frames = []
        for i in range(self.num_envs):
            done = bool(self._t[i] >= self._n[i] or self._truncated[i])
            item = None if done else int(self._size[i])
            rem = self.remaining(i)
            if self.render_mode == "ansi":
                name = str(self._names[self._inst[i]])
                frames.append(
                    render_ansi(rem, self.capacity, item, int(self._t[i]), int(self._n[i]), name)
                )
            else:
                frames.append(render_rgb(rem, self.capacity, item))
        return tuple(frames)
