"""`discoverygym/CapSet-v0`: build a cap set in F_3^n one vector at a time (FunSearch's problem)."""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from discoverygym.envs.capset.bounds import bound, gap_pct
from discoverygym.envs.capset.geometry import all_vectors, check_n, third_table
from discoverygym.envs.capset.render import render_ansi, render_rgb
from gymnasium import spaces

__all__ = ["CapSetEnv"]


class CapSetEnv(gym.Env):
    """Build a large cap set in F_3^n: vectors over {0, 1, 2} with no three distinct members
    on a line (no distinct a, b, c with a + b + c = 0 mod 3). FunSearch's cap set problem
    (Romera-Paredes et al., Nature 2023), played as its greedy construction plays it.

    Registered id: ``discoverygym/CapSet-v0``
    (``gym.make("discoverygym.envs:discoverygym/CapSet-v0", n=8)``).

    Kwargs
        ``n`` (int, 1..9, default 8): the dimension; the board has 3^n vectors.
        ``render_mode``: None, ``"ansi"`` (a summary line, and the grid of vectors for
        n <= 6) or ``"rgb_array"`` (the grid as an image, one cell per vector: 16 pixels up to
        n = 4, down to 3 at n = 9; see `render`).
        Any other keyword raises TypeError listing the known ones.

    Vectors and actions
        Action i (``Discrete(3^n)``) is vector i, the i-th vector of
        ``itertools.product((0, 1, 2), repeat=n)``: its base-3 digits, most significant first
        (FunSearch's order). ``geometry.all_vectors(n)[i]`` is the vector,
        ``geometry.index_of`` the inverse.

    Episode
        Starts from the empty set. Each step adds one vector that is neither a member nor
        blocked; adding b blocks, for every member a, the vector c = -(a + b) mod 3 that would
        complete the line {a, b, c}. The episode terminates when no vector is left, so every
        episode ends with a maximal (complete) cap set after at most 3^n steps; there is no
        truncation. Nothing is random: ``reset(seed=...)`` only seeds ``np_random`` (unused).

    Reset
        ``reset(seed=None, options=None)``: the game has no reset options; any key raises
        ValueError (known: none), and options that are not a mapping raise TypeError.

    Observation (``Dict``, fixed shape for a given n; N = 3^n)
        ``members``  int8 MultiBinary(N): 1 for the vectors in the set;
        ``blocked``  int8 MultiBinary(N): 1 for the vectors that would complete a line with
                     two members (never a member);
        ``steps``    float32 Box(0, N, (1,)): the steps played, which is the set's size.
        The legal actions are the vectors with ``members == blocked == 0``.

    Legal and illegal actions
        ``action_masks()`` and ``info["action_mask"]``: int8 (N,), 1 = legal (all zero once
        the episode is over). An action in the space that is not legal (a member or a blocked
        vector) does not crash: the lowest-index legal vector is added instead (the choice of
        FunSearch's constant priority) and ``info["illegal_action"]`` is True. Values outside
        the space, and values that are not integers, raise ValueError. ``step()`` before
        ``reset()``, or after the episode ended, raises RuntimeError.

    Reward
        +1 per vector added, so the return is the cap set's size.

    Info
        Every step (and reset): ``action_mask``, ``illegal_action`` (bool), ``n``, ``size``
        (vectors so far) and ``added`` (the index of the vector the step added; -1 after
        reset).
        At the end also: ``best_known`` (the largest known size, `bounds.BOUNDS`),
        ``optimal`` (True/False where the optimum is proven, n <= 6; None for n >= 7),
        ``gap_pct`` (100 (best known - size) / best known), ``cap_set`` (int8 (size, n): the
        vectors in the order added; check it with `checker.verify`) and ``actions`` (int64:
        their indices).

    Cost
        Adding a vector computes one third point per member, vectorised: the index of
        -(a + b) mod 3 is two look-ups in tables of the first n // 2 and last n - n // 2
        digits (`geometry.third_table`), so a step is O(size) numpy work. Per env the state is
        three int8 arrays and three int64 arrays of 3^n entries: 3^9 = 19683 vectors at n = 9,
        about 0.5 MB; shared by all envs of one n: the digit table (177 KB at n = 9) and the two
        look-up tables (52 KB and 472 KB at n = 9).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}
    KWARGS: tuple[str, ...] = ("n", "render_mode")

    def __init__(self, n: int = 8, render_mode: str | None = None, **unknown: Any) -> None:
        if unknown:
            raise TypeError(
                f"unknown CapSetEnv option(s) {sorted(unknown)}; known: {list(self.KWARGS)}"
            )
        self.n = check_n(n)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode {render_mode!r} is not supported; use one of {self.metadata['render_modes']} or None"
            )
        self.render_mode = render_mode
        self.num_vectors = 3**self.n
        self.best_known = bound(self.n).size
        self.action_space = spaces.Discrete(self.num_vectors)
        self.observation_space = spaces.Dict(
            {
                "members": spaces.MultiBinary(self.num_vectors),
                "blocked": spaces.MultiBinary(self.num_vectors),
                "steps": spaces.Box(0.0, float(self.num_vectors), (1,), np.float32),
            }
        )
        self._digits = all_vectors(self.n)
        # a vector's index = high * 3^low_digits + low; thirds by table look-up on each part
        self._low_digits = self.n - self.n // 2
        self._low_base = 3**self._low_digits
        self._high_table = third_table(self.n // 2)
        self._low_table = third_table(self._low_digits)
        self._members = np.zeros(self.num_vectors, dtype=np.int8)
        self._blocked = np.zeros(self.num_vectors, dtype=np.int8)
        self._mask = np.zeros(self.num_vectors, dtype=np.int8)
        self._order = np.zeros(self.num_vectors, dtype=np.int64)
        self._member_high = np.zeros(self.num_vectors, dtype=np.int64)
        self._member_low = np.zeros(self.num_vectors, dtype=np.int64)
        self._size = 0
        self._started = False
        self._done = False

    # ------------------------------------------------------------------ properties

    @property
    def size(self) -> int:
        """The number of vectors in the set."""
        return self._size

    @property
    def done(self) -> bool:
        """True once no vector can be added (or before the first reset)."""
        return not self._started or self._done

    @property
    def cap_set(self) -> np.ndarray:
        """The vectors of the set in the order added (int8 (size, n), a copy)."""
        return self._digits[self._order[: self._size]]

    # ------------------------------------------------------------------ gym API

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)
        if options is not None:
            if not isinstance(options, Mapping):
                raise TypeError(
                    f"options must be a dict or None, got {type(options).__name__} {options!r}"
                )
            if options:
                raise ValueError(
                    f"unknown reset option(s) {sorted(map(str, options))}; known: [] (CapSet-v0 has no reset options)"
                )
        self._members[:] = 0
        self._blocked[:] = 0
        self._mask[:] = 1
        self._size = 0
        self._started = True
        self._done = False
        return self._observation(), self._info(illegal=False, added=-1)

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        if not self._started:
            raise RuntimeError("call reset() before step()")
        if self._done:
            raise RuntimeError("the episode is over; call reset()")
        a = self._validate_action(action)
        illegal = not self._mask[a]
        if illegal:
            a = int(np.argmax(self._mask))
        self._add(a)
        self._done = not self._mask.any()
        info = self._info(illegal=illegal, added=a)
        if self._done:
            info.update(self._final_info())
        return self._observation(), 1.0, self._done, False, info

    def action_masks(self) -> np.ndarray:
        """Legal actions (int8, 1 = legal); MaskablePPO's hook."""
        if not self._started:
            raise RuntimeError("call reset() before action_masks()")
        return self._mask.copy()

    def render(self) -> str | np.ndarray | None:
        if self.render_mode is None:
            gym.logger.warn(
                "render() called without a render_mode; pass render_mode='ansi' or 'rgb_array'"
            )
            return None
        if not self._started:
            raise RuntimeError("call reset() before render()")
        last = int(self._order[self._size - 1]) if self._size else None
        if self.render_mode == "ansi":
            vector = None if last is None else tuple(int(x) for x in self._digits[last])
            return render_ansi(
                self.n, self._members, self._blocked, self._size, self.best_known, vector
            )
        return render_rgb(self.n, self._members, self._blocked, last)

    # ------------------------------------------------------------------ internals

    def _validate_action(self, action: Any) -> int:
        try:
            a = operator.index(
                action.item() if isinstance(action, np.ndarray) and action.size == 1 else action
            )
        except TypeError:
            raise ValueError(
                f"action {action!r} is not an integer; expected one of 0..{self.num_vectors - 1}"
            ) from None
        if not 0 <= a < self.num_vectors:
            raise ValueError(f"action {a} is outside the action space Discrete({self.num_vectors})")
        return a

    def _add(self, b: int) -> None:
        """Add vector b (legal) and block the third point of every line through b and a member:
        -(a + b) mod 3 for each member a, as two table look-ups over the members' index parts."""
        k = self._size
        high, low = divmod(b, self._low_base)
        if k:
            thirds = self._high_table[high][self._member_high[:k]] * self._low_base
            thirds += self._low_table[low][self._member_low[:k]]
            self._blocked[thirds] = 1
            self._mask[thirds] = 0
        self._members[b] = 1
        self._mask[b] = 0
        self._order[k] = b
        self._member_high[k] = high
        self._member_low[k] = low
        self._size = k + 1

    def _observation(self) -> dict[str, np.ndarray]:
        return {
            "members": self._members.copy(),
            "blocked": self._blocked.copy(),
            "steps": np.array([self._size], dtype=np.float32),
        }

    def _info(self, illegal: bool, added: int) -> dict[str, Any]:
        return {
            "action_mask": self._mask.copy(),
            "illegal_action": illegal,
            "n": self.n,
            "size": self._size,
            "added": added,
        }

    def _final_info(self) -> dict[str, Any]:
        best = bound(self.n)
        return {
            "best_known": best.size,
            "optimal": (self._size == best.size) if best.optimal else None,
            "gap_pct": gap_pct(self._size, self.n),
            "cap_set": self.cap_set,
            "actions": self._order[: self._size].copy(),
        }
