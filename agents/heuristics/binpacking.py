"""Online bin packing heuristics as `Agent`s for `discoverygym/OnlineBinPacking-v0`, and as
FunSearch priority functions for `evaluate_priority` where the heuristic can be one.

Agents read the observation and ``info`` (``action_mask``, ``capacity``, ``num_items``,
``scale``) of either observation mode, except where a mode lacks what the rule needs:

================  =====================  ==============================================
agent             modes                  priority function (for `evaluate_priority`)
================  =====================  ==============================================
first_fit         bins                   `first_fit_priority`
best_fit          histogram, bins        `best_fit_priority` (FunSearch's baseline)
worst_fit         histogram, bins        `worst_fit_priority`
next_fit          histogram, bins        none (needs the current bin: agent state)
harmonic_6        histogram, bins        none (bins belong to size classes: agent state)
sum_of_squares    histogram, bins        none (needs every bin, not only those that fit)
PriorityAgent     bins                   wraps any ``priority(item, bins) -> scores``
================  =====================  ==============================================

First fit needs the bins' order, which the histogram drops. Ties: best/worst fit and
sum-of-squares take the lowest-index bin (in histogram mode the env does the same), so the
bin counts equal the evaluator's in both modes (tested).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from discoverygym.agents.base import Family

__all__ = [
    "BINPACKING_AGENTS",
    "BestFit",
    "BinPackingAgent",
    "FirstFit",
    "HarmonicK",
    "NextFit",
    "PriorityAgent",
    "SumOfSquares",
    "WorstFit",
    "best_fit_priority",
    "first_fit_priority",
    "make_agent",
    "worst_fit_priority",
]


# --------------------------------------------------------------------------- priority functions


def first_fit_priority(item: float, bins: np.ndarray) -> np.ndarray:
    """First fit: equal scores, so `argmax` picks the first bin where the item fits."""
    return np.zeros(bins.shape)


def best_fit_priority(item: float, bins: np.ndarray) -> np.ndarray:
    """Best fit, FunSearch's baseline: the fullest bin where the item fits."""
    return -(bins - item)


def worst_fit_priority(item: float, bins: np.ndarray) -> np.ndarray:
    """Worst fit: the emptiest open bin; a new (empty, remaining = max) bin only if none fits.

    Empty bins are recognised as those with the largest remaining capacity: FunSearch's
    protocol always passes at least one empty bin, and an open bin holds an item.
    """
    scores = np.asarray(bins, dtype=np.float64).copy()
    scores[bins == bins.max()] = -np.inf
    return scores


# --------------------------------------------------------------------------- agents


def gap_counts(bins: np.ndarray, valid: np.ndarray, capacity: int) -> np.ndarray:
    """The bins-mode observation as the histogram mode's: open bins per remaining capacity."""
    open_bins = np.rint(bins[valid.astype(bool)]).astype(np.int64)
    return np.bincount(open_bins, minlength=capacity + 1)


def bin_at_level(bins: np.ndarray, mask: np.ndarray, level: int, capacity: int) -> int:
    """The bins-mode action of a histogram-mode choice: the lowest-index open bin with
    remaining capacity `level` (as the histogram env picks it), or a new bin for `capacity`."""
    if level == capacity:
        return mask.size - 1
    return int(np.argmax(mask[:-1] & (np.rint(bins) == level)))


class BinPackingAgent:
    """Base class: dispatches `act` on the observation mode."""

    name: str = "binpacking"
    family: Family = "heuristic"
    modes: tuple[str, ...] = ("histogram", "bins")

    def reset(self) -> None:
        """No per-episode state by default."""

    def act(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> int:
        mode = "histogram" if "histogram" in obs else "bins"
        if mode not in self.modes:
            raise ValueError(
                f"{self.name} cannot play observation={mode!r}; it needs one of {list(self.modes)} "
                "(first fit and priority functions need the bins' order: use observation='bins')"
            )
        mask = np.asarray(info["action_mask"]).astype(bool)
        item = int(round(float(obs["item"][0])))
        if mode == "histogram":
            return self.act_histogram(obs["histogram"], item, mask, info)
        return self.act_bins(obs["bins"], obs["valid"], item, mask, info)

    def act_histogram(
        self, histogram: np.ndarray, item: int, mask: np.ndarray, info: dict[str, Any]
    ) -> int:
        raise NotImplementedError

    def act_bins(
        self, bins: np.ndarray, valid: np.ndarray, item: int, mask: np.ndarray, info: dict[str, Any]
    ) -> int:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class FirstFit(BinPackingAgent):
    """The lowest-index open bin where the item fits, else a new bin."""

    name = "first_fit"
    modes = ("bins",)

    def act_bins(self, bins, valid, item, mask, info) -> int:
        return int(np.argmax(mask))  # the new-bin action (last) is always legal


class BestFit(BinPackingAgent):
    """The fullest open bin where the item fits (lowest index on ties), else a new bin."""

    name = "best_fit"

    def act_histogram(self, histogram, item, mask, info) -> int:
        return int(np.argmax(mask))  # smallest legal level; the last level (C) is a new bin

    def act_bins(self, bins, valid, item, mask, info) -> int:
        fits = np.flatnonzero(mask[:-1])
        return int(fits[np.argmin(bins[fits])]) if fits.size else mask.size - 1


class WorstFit(BinPackingAgent):
    """The emptiest open bin where the item fits (lowest index on ties), else a new bin."""

    name = "worst_fit"

    def act_histogram(self, histogram, item, mask, info) -> int:
        levels = np.flatnonzero(mask[:-1])
        return int(levels[-1]) if levels.size else mask.size - 1

    def act_bins(self, bins, valid, item, mask, info) -> int:
        fits = np.flatnonzero(mask[:-1])
        return int(fits[np.argmax(bins[fits])]) if fits.size else mask.size - 1


class NextFit(BinPackingAgent):
    """Only the last opened bin is open for items: put it there if it fits, else a new bin."""

    name = "next_fit"

    def reset(self) -> None:
        self._level: int | None = None  # histogram mode: remaining capacity of the current bin

    def act_histogram(self, histogram, item, mask, info) -> int:
        level = getattr(self, "_level", None)
        if level is not None and level < mask.size - 1 and mask[level]:
            self._level = level - item
            return level
        self._level = int(info["capacity"]) - item
        return mask.size - 1

    def act_bins(self, bins, valid, item, mask, info) -> int:
        current = int(np.count_nonzero(valid)) - 1
        return current if current >= 0 and mask[current] else mask.size - 1


class HarmonicK(BinPackingAgent):
    """Harmonic-k (Lee & Lee 1985): sizes in (C/(i+1), C/i] form class i < k, sizes <= C/k
    class k; each class fills its own current bin (next fit within the class)."""

    def __init__(self, k: int = 6) -> None:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be an integer >= 1, got {k!r}")
        self.k = k
        self.name = f"harmonic_{k}"
        self.reset()

    def reset(self) -> None:
        self._current: dict[int, int] = {}  # class -> bin index (bins mode) or level (histogram)

    def _class(self, item: int, capacity: int) -> int:
        return min(self.k, capacity // item)

    def act_histogram(self, histogram, item, mask, info) -> int:
        capacity = int(info["capacity"])
        cls = self._class(item, capacity)
        level = self._current.get(cls)
        if level is not None and level < capacity and mask[level]:
            self._current[cls] = level - item
            return level
        self._current[cls] = capacity - item
        return mask.size - 1

    def act_bins(self, bins, valid, item, mask, info) -> int:
        cls = self._class(item, int(info["capacity"]))
        b = self._current.get(cls)
        if b is not None and mask[b]:
            return b
        self._current[cls] = int(np.count_nonzero(valid))  # the index the new bin will get
        return mask.size - 1


class SumOfSquares(BinPackingAgent):
    """Sum-of-Squares (Csirik, Johnson, Kenyon, Orlin, Shor & Weber 2006).

    With N(g) the number of open bins with gap (remaining capacity) g, 0 < g < C, place the
    item where the sum over g of N(g)^2 becomes smallest. Ties: the smallest gap, and an
    existing bin before a new one; in bins mode the lowest-index bin with the chosen gap.
    Needs integer sizes: it plays on the env's integer grid.
    """

    name = "sum_of_squares"

    @staticmethod
    def _choose_level(counts: np.ndarray, item: int, mask: np.ndarray, capacity: int) -> int:
        n = counts.astype(np.int64)
        n[0] = 0  # full bins and empty bins do not count
        levels = np.flatnonzero(mask[:capacity])
        after = levels - item
        delta = -2 * n[levels] + 1 + np.where(after > 0, 2 * n[np.maximum(after, 0)] + 1, 0)
        new_delta = 2 * n[capacity - item] + 1 if capacity > item else 0
        if levels.size and delta.min() <= new_delta:
            return int(levels[np.argmin(delta)])
        return capacity

    def act_histogram(self, histogram, item, mask, info) -> int:
        capacity = mask.size - 1
        return self._choose_level(np.rint(histogram), item, mask, capacity)

    def act_bins(self, bins, valid, item, mask, info) -> int:
        capacity = int(info["capacity"])
        counts = gap_counts(bins, valid, capacity)
        level_mask = (counts > 0) & (np.arange(capacity + 1) >= item)
        level = self._choose_level(counts, item, level_mask, capacity)
        return bin_at_level(bins, mask, level, capacity)


class PriorityAgent(BinPackingAgent):
    """Plays a FunSearch-style ``priority(item, bins) -> scores`` in the env (bins mode).

    Each step rebuilds FunSearch's view: ``num_items`` bins, the open ones in index order then
    empty ones, in the instance's own units; ``priority`` scores those where the item fits and
    the argmax (first on ties) is played, an empty bin meaning "open a new bin". The bin counts
    equal `evaluate_priority`'s whenever the argmax never lands on an empty bin after the first
    one (true for any priority that scores each bin from its own remaining capacity).
    """

    modes = ("bins",)

    def __init__(
        self,
        priority: Callable[[float, np.ndarray], np.ndarray],
        name: str = "priority",
        family: Family = "heuristic",
    ) -> None:
        if not callable(priority):
            raise TypeError(f"priority must be callable, got {type(priority).__name__}")
        self.priority = priority
        self.name = name
        self.family = family

    def act_bins(self, bins, valid, item, mask, info) -> int:
        capacity, scale = int(info["capacity"]), int(info["scale"])
        num_items = int(info["num_items"])
        n_open = int(np.count_nonzero(valid))
        fits = np.flatnonzero(mask[:n_open])
        tail = num_items - n_open
        candidates = np.concatenate(
            (np.rint(bins[fits]).astype(np.int64), np.full(tail, capacity, dtype=np.int64))
        )
        if scale == 1:
            scores = self.priority(item, candidates)
        else:
            scores = self.priority(item / scale, candidates / scale)
        scores = np.asarray(scores)
        if scores.shape != candidates.shape:
            raise ValueError(
                f"{self.name}: priority returned shape {scores.shape}; expected {candidates.shape}"
            )
        j = int(np.argmax(scores))
        if scores.dtype.kind == "f" and np.isnan(scores[j]):
            raise ValueError(
                f"{self.name}: priority returned NaN for item {info.get('item_index')}"
            )
        return int(fits[j]) if j < fits.size else mask.size - 1


def _rollout_best_fit() -> BinPackingAgent:
    from discoverygym.agents.heuristics.binpacking_rollout import RolloutBestFit

    return RolloutBestFit()


BINPACKING_AGENTS: dict[str, Callable[[], BinPackingAgent]] = {
    "first_fit": FirstFit,
    "best_fit": BestFit,
    "worst_fit": WorstFit,
    "next_fit": NextFit,
    "harmonic_6": lambda: HarmonicK(6),
    "sum_of_squares": SumOfSquares,
    "rollout_best_fit": _rollout_best_fit,  # lookahead on resampled futures (binpacking_rollout)
}


def make_agent(name: str) -> BinPackingAgent:
    """A fresh heuristic agent by name (KeyError lists the known names)."""
    try:
        return BINPACKING_AGENTS[name]()
    except KeyError:
        raise KeyError(
            f"unknown bin packing heuristic {name!r}; known: {', '.join(BINPACKING_AGENTS)}"
        ) from None
