"""`discoverygym/OnlineBinPacking-v0`: online 1-D bin packing as FunSearch plays it.

Registered id: ``discoverygym/OnlineBinPacking-v0``
(``gym.make("discoverygym.envs:discoverygym/OnlineBinPacking-v0", **kwargs)``).

Episode
    One instance. Its items arrive one at a time in file order; each step places the current
    item into an open bin with enough room or into a new bin. The episode terminates after the
    last item. Sizes and capacities in observations are on the instance's integer grid
    (``size * scale``; scale is 1 for every set except ``t60``, where it is 10).

Kwargs
    ``dataset`` (str or `Dataset`, default ``"weibull5k"``: FunSearch's 5 x 5000 Weibull test
    set, loaded once and cached): the set episodes are drawn from; every instance must share
    one capacity. ``instance`` (str, `Instance` or None): play only this instance (a name in
    ``dataset``, or a custom `Instance`). ``observation``: ``"histogram"`` (default) or
    ``"bins"``. ``max_bins`` (bins mode only; default: the largest number of items of an
    instance of the set, so never reached). ``render_mode``: None, ``"ansi"`` or ``"rgb_array"``.

Reset
    ``reset(seed=None, options=None)``: the instance is drawn uniformly from the set with the
    env's ``np_random``, unless ``options={"instance": name}`` names one.

Observation (a ``Dict``; C = grid capacity, N = the largest number of items in the set)
    ``"histogram"`` mode:
        ``histogram``  float32 (C+1,): number of open bins at each remaining capacity 0..C
                       (entry C is always 0: an open bin holds at least one item);
        ``item``       float32 (1,): size of the item to place (0 once done);
        ``items_left`` float32 (1,): items still to place, the current one included.
    ``"bins"`` mode:
        ``bins``       float32 (max_bins,): remaining capacity of the open bins in opening
                       order, padded with 0;
        ``valid``      int8 MultiBinary(max_bins): 1 for the open bins, 0 for padding;
        ``item``, ``items_left`` as above.

Action ``Discrete``
    ``"histogram"``: Discrete(C+1). ``a < C`` puts the item into an open bin with remaining
    capacity ``a`` (the lowest-index one; bins with equal remaining capacity are
    interchangeable); ``a = C`` opens a new bin (an empty bin has remaining capacity C).
    ``"bins"``: Discrete(max_bins+1). ``a < max_bins`` puts the item into open bin ``a``;
    ``a = max_bins`` opens a new bin (it gets index = number of open bins).
    ``env.new_bin_action`` is the "open a new bin" action in both modes.
    Legal actions: ``action_masks()`` and ``info["action_mask"]`` (int8, one entry per action);
    opening a new bin is always legal.

Illegal actions (the env contract, `discoverygym.envs.contract`)
    An action in the action space that is not legal (no open bin at that level, a bin that is
    not open or too full) does not crash: the item goes into a new bin and
    ``info["illegal_action"]`` is True. An action outside the action space (not an integer,
    a bool or a float, out of range) raises `InvalidActionError`, a ValueError naming it.

Reward and termination
    -1 each time a bin is opened, 0 otherwise, so the return is minus the bins used.
    ``terminated`` after the last item. In bins mode, if an item needs a new bin when
    ``max_bins`` bins are open, the episode ends with ``truncated=True``, reward -1 and
    ``info["truncated_reason"] = "max_bins"`` (only possible with a ``max_bins`` below N).

Info (reset and every step)
    ``action_mask``, ``illegal_action`` (bool), ``instance`` (name), ``item_index`` (index of
    the item to place), ``num_items``, ``bins_used``, ``capacity`` (grid), ``scale``.
    At the end also: ``l1``, ``l2``, ``optimum`` (proven optimum, or None if unknown),
    ``excess_pct`` (100 (bins - L1) / L1 for this instance), the same value as ``metric``
    with ``metric_name = "excess_pct"`` (the contract's common key), and ``assignment``
    (int64 array, the bin index of every item in arrival order; check it with `check_packing`).

Limits
    Sizes whose arrays would exceed `MEMORY_LIMIT_BYTES` (a ``max_bins`` of 10**12, a grid
    capacity near 2**24 in histogram mode with many copies) are refused in the constructor.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from discoverygym.envs.binpacking.bounds import InstanceBounds, instance_bounds
from discoverygym.envs.binpacking.instances import Dataset, Instance, load_dataset
from discoverygym.envs.binpacking.render import render_ansi, render_rgb
from discoverygym.envs.contract import (
    check_memory,
    check_reset_options,
    discrete_action,
    reject_unknown_kwargs,
)

__all__ = ["OnlineBinPackingEnv", "OBSERVATION_MODES"]

OBSERVATION_MODES = ("histogram", "bins")
METRIC_NAME = "excess_pct"
# bytes per histogram level (observation, counts, mask, level table and copies) and per bin
# slot in bins mode (float32 observation, int8 valid flags and mask, copies)
_LEVEL_BYTES = 48
_BIN_BYTES = 24


class OnlineBinPackingEnv(gym.Env):
    """Online 1-D bin packing (see the module docstring for the full specification)."""

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 30}
    metric_name = METRIC_NAME

    @reject_unknown_kwargs
    def __init__(
        self,
        dataset: str | Dataset = "weibull5k",
        instance: str | Instance | None = None,
        observation: str = "histogram",
        max_bins: int | None = None,
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode {render_mode!r} is not supported; use one of {self.metadata['render_modes']} or None"
            )
        if not isinstance(observation, str) or observation not in OBSERVATION_MODES:
            raise ValueError(
                f"observation {observation!r} is not supported; use one of {list(OBSERVATION_MODES)}"
            )
        self.render_mode = render_mode
        self.observation_mode = observation
        if not isinstance(dataset, (str, Dataset)):
            raise TypeError(f"dataset must be a name or a Dataset, got {type(dataset).__name__} {dataset!r}")
        data = load_dataset(dataset) if isinstance(dataset, str) else dataset
        if not isinstance(data, Dataset):
            raise TypeError(f"dataset must be a name or a Dataset, got {type(dataset).__name__}")
        if isinstance(instance, Instance):
            data = Dataset(instance.name, (instance,), "a single custom instance")
        elif isinstance(instance, str):
            data = Dataset(data.name, (data.instance(instance),), data.description)
        elif instance is not None:
            raise TypeError(
                f"instance must be a name, an Instance or None, got {type(instance).__name__}"
            )
        capacities = {(inst.grid_capacity, inst.scale) for inst in data}
        if len(capacities) != 1:
            raise ValueError(
                f"dataset {data.name!r} mixes capacities/scales {sorted(capacities)}; one env needs one capacity"
            )
        self.dataset = data
        ((self.capacity, self.scale),) = capacities
        self.max_items = max(inst.num_items for inst in data)
        if observation == "histogram":
            if max_bins is not None:
                raise ValueError("max_bins only applies to observation='bins'")
            self.max_bins = self.max_items
            self.new_bin_action = self.capacity
        else:
            if max_bins is None:
                max_bins = self.max_items
            if isinstance(max_bins, bool) or not isinstance(max_bins, (int, np.integer)):
                raise TypeError(f"max_bins must be an integer >= 1, got {max_bins!r}")
            if max_bins < 1:
                raise ValueError(f"max_bins must be an integer >= 1, got {max_bins!r}")
            check_memory(
                f"observation='bins' with max_bins={max_bins} ({_BIN_BYTES} bytes per bin)",
                int(max_bins) * _BIN_BYTES,
            )
            self.max_bins = int(max_bins)
            self.new_bin_action = self.max_bins
        if observation == "histogram":
            check_memory(
                f"observation='histogram' with grid capacity {self.capacity} "
                f"({_LEVEL_BYTES} bytes per level)",
                (self.capacity + 1) * _LEVEL_BYTES,
            )
        self.action_space = spaces.Discrete(self.new_bin_action + 1)
        item_box = spaces.Box(0.0, float(self.capacity), (1,), np.float32)
        left_box = spaces.Box(0.0, float(self.max_items), (1,), np.float32)
        if observation == "histogram":
            self.observation_space = spaces.Dict(
                {
                    "histogram": spaces.Box(
                        0.0, float(self.max_items), (self.capacity + 1,), np.float32
                    ),
                    "item": item_box,
                    "items_left": left_box,
                }
            )
        else:
            self.observation_space = spaces.Dict(
                {
                    "bins": spaces.Box(0.0, float(self.capacity), (self.max_bins,), np.float32),
                    "valid": spaces.MultiBinary(self.max_bins),
                    "item": item_box,
                    "items_left": left_box,
                }
            )
        self._levels = np.arange(self.capacity + 1)
        # _level_fits[s, g]: an item of size s fits a bin with remaining capacity g (a lookup
        # table for the histogram mask; computed per step instead for very fine grids)
        small = observation == "histogram" and self.capacity <= 2048
        self._level_fits = self._levels[None, :] >= self._levels[:, None] if small else None
        self._bounds: dict[str, InstanceBounds] = {}
        self._instance: Instance | None = None

    # ------------------------------------------------------------------ properties

    @property
    def instance(self) -> Instance:
        """The instance of the current episode."""
        if self._instance is None:
            raise RuntimeError("call reset() first")
        return self._instance

    @property
    def done(self) -> bool:
        """True once every item is placed (or the episode was truncated)."""
        return self._instance is None or self._t >= self._n or self._truncated

    @property
    def current_item(self) -> int:
        """Grid size of the item to place (0 once done)."""
        return 0 if self.done else int(self._sizes[self._t])

    @property
    def bins_used(self) -> int:
        return self._n_open

    @property
    def remaining(self) -> np.ndarray:
        """Remaining grid capacity of the open bins, in opening order (a copy)."""
        return self._rem[: self._n_open].copy()

    @property
    def assignment(self) -> np.ndarray:
        """Bin index of every item placed so far, in arrival order (a copy)."""
        return self._assignment[: self._t].copy()

    # ------------------------------------------------------------------ gym API

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict, dict]:
        options = check_reset_options(options, ["instance"])
        name = options.get("instance")
        if name is not None and not isinstance(name, str):
            raise TypeError(
                f"reset option 'instance' must be an instance name (str), got "
                f"{type(name).__name__} {name!r}"
            )
        super().reset(seed=seed)
        if name is not None:
            inst = self.dataset.instance(name)
        elif len(self.dataset) == 1:
            inst = self.dataset.instances[0]
        else:
            inst = self.dataset.instances[int(self.np_random.integers(len(self.dataset)))]
        self._instance = inst
        self._sizes = inst.sizes
        self._n = inst.num_items
        self._t = 0
        self._n_open = 0
        self._truncated = False
        self._rem = np.zeros(self._n, dtype=np.int64)
        self._hist = np.zeros(self.capacity + 1, dtype=np.int64)
        self._assignment = np.full(self._n, -1, dtype=np.int64)
        if self.observation_mode == "bins":
            self._bins_obs = np.zeros(self.max_bins, dtype=np.float32)
            self._valid_obs = np.zeros(self.max_bins, dtype=np.int8)
        self._update_mask()
        return self._observation(), self._info(illegal=False)

    def step(self, action: Any) -> tuple[dict, float, bool, bool, dict]:
        if self._instance is None:
            raise RuntimeError("call reset() before step()")
        if self._t >= self._n or self._truncated:
            raise RuntimeError("the episode is over; call reset()")
        a = discrete_action(action, self.new_bin_action + 1)
        illegal = not self._mask[a]
        if illegal:
            a = self.new_bin_action
        size = int(self._sizes[self._t])
        reward = 0.0
        if a == self.new_bin_action:
            reward = -1.0
            if self._n_open >= self.max_bins:
                self._truncated = True
                info = self._info(illegal=illegal)
                info["truncated_reason"] = "max_bins"
                info.update(self._final_info())
                return self._observation(), reward, False, True, info
            b, level = self._n_open, self.capacity
            self._n_open += 1
        elif self.observation_mode == "histogram":
            level = a
            b = int((self._rem[: self._n_open] == level).argmax())
        else:
            b, level = a, int(self._rem[a])
        new_level = level - size
        self._rem[b] = new_level
        if level != self.capacity:
            self._hist[level] -= 1
        self._hist[new_level] += 1
        if self.observation_mode == "bins":
            self._bins_obs[b] = new_level
            self._valid_obs[b] = 1
        self._assignment[self._t] = b
        self._t += 1
        terminated = self._t >= self._n
        self._update_mask()
        info = self._info(illegal=illegal)
        if terminated:
            info.update(self._final_info())
        return self._observation(), reward, terminated, False, info

    def action_masks(self) -> np.ndarray:
        """Legal actions (int8, 1 = legal) for the current item; MaskablePPO's hook."""
        return self._mask.copy()

    def render(self) -> str | np.ndarray | None:
        if self.render_mode is None:
            gym.logger.warn(
                "render() called without a render_mode; pass render_mode='ansi' or 'rgb_array'"
            )
            return None
        if self._instance is None:
            raise RuntimeError("call reset() before render()")
        item = None if self.done else self.current_item
        remaining = self._rem[: self._n_open]
        if self.render_mode == "ansi":
            return render_ansi(
                remaining, self.capacity, item, self._t, self._n, self._instance.name
            )
        return render_rgb(remaining, self.capacity, item)

    # ------------------------------------------------------------------ internals

    def _update_mask(self) -> None:
        if self._t >= self._n or self._truncated:
            mask = np.zeros(self.new_bin_action + 1, dtype=np.int8)
        else:
            size = self._sizes[self._t]
            if self.observation_mode == "histogram":
                mask = np.empty(self.capacity + 1, dtype=np.int8)
                fits = self._level_fits[size] if self._level_fits is not None else self._levels >= size
                np.logical_and(self._hist, fits, out=mask, casting="unsafe")
            else:
                mask = np.zeros(self.max_bins + 1, dtype=np.int8)
                mask[: self._n_open] = self._rem[: self._n_open] >= size
        mask[self.new_bin_action] = 1
        self._mask = mask

    def _observation(self) -> dict[str, np.ndarray]:
        done = self._t >= self._n or self._truncated
        item = np.array([0 if done else self._sizes[self._t]], dtype=np.float32)
        left = np.array([0 if done else self._n - self._t], dtype=np.float32)
        if self.observation_mode == "histogram":
            return {"histogram": self._hist.astype(np.float32), "item": item, "items_left": left}
        return {
            "bins": self._bins_obs.copy(),
            "valid": self._valid_obs.copy(),
            "item": item,
            "items_left": left,
        }

    def _info(self, illegal: bool) -> dict[str, Any]:
        return {
            "action_mask": self._mask.copy(),
            "illegal_action": illegal,
            "instance": self._instance.name,
            "item_index": self._t,
            "num_items": self._n,
            "bins_used": self._n_open,
            "capacity": self.capacity,
            "scale": self.scale,
        }

    def _final_info(self) -> dict[str, Any]:
        inst = self._instance
        bounds = self._bounds.get(inst.name)
        if bounds is None:
            bounds = self._bounds[inst.name] = instance_bounds(inst)
        excess = 100.0 * (self._n_open - bounds.l1) / bounds.l1
        return {
            "l1": bounds.l1,
            "l2": bounds.l2,
            "optimum": bounds.optimum,
            "excess_pct": excess,
            "metric": excess,
            "metric_name": METRIC_NAME,
            "assignment": self._assignment[: self._t].copy(),
        }
