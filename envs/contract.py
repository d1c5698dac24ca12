"""The one env contract every ``discoverygym/`` id follows, and the helpers that implement it.

``tests/envs/test_contract.py`` checks every rule below for every id registered under
``discoverygym/`` (single and batched envs), so a new game is held to it as soon as it is
registered.

Construction
    Keyword options only, each documented by the env. An unknown option raises `TypeError`
    naming it and listing the known ones (`reject_unknown_kwargs`). A bad value (NaN and
    infinities included) raises `ValueError` (or `TypeError` for a value of the wrong type)
    naming the option, the value and the limit. Sizes whose arrays would need more than
    `MEMORY_LIMIT_BYTES` are refused before anything is allocated (`check_memory`), with a
    `ValueError` naming the size, the bytes needed and the limit; so are batched envs whose
    ``num_envs`` observations would.

``reset(seed=None, options=None)``
    Calls ``super().reset(seed=seed)``; every random draw comes from ``self.np_random``, so
    the same seed and the same actions give the same observations, rewards and infos.
    ``options`` is None or a dict (anything else: `TypeError`); an unknown key raises
    `ValueError` listing the known keys (`check_reset_options`); a value of the wrong type
    raises `TypeError` naming it.

``step(action)``
    Before the first ``reset()``, and after the episode ended, ``step()`` raises
    `RuntimeError`.

    *Out-of-space actions raise.* An action must be an element of ``action_space``: an
    integer (a Python ``int``, a numpy integer or an integer array of the space's shape;
    ``bool`` and floats are refused even when integral, as ``Space.contains`` refuses them)
    within the space's range. Anything else raises `InvalidActionError` (a `ValueError`)
    naming the action and the space, in every game and in the batched envs.

    *Illegal in-space actions are replaced.* Where some actions of the space are illegal in
    a state, the env exposes ``action_masks()`` and ``info["action_mask"]`` (1 = legal). An
    illegal action inside the space does not raise: the env plays the game's documented
    fallback move instead (bin packing: open a new bin; job shop: dispatch the lowest-index
    legal job) and sets ``info["illegal_action"] = True`` (False otherwise); a game may also
    charge a documented penalty. Games in which every action of the space is legal (tensor
    decomposition) have neither a mask nor ``illegal_action``.

Final ``info`` (the step that terminates or truncates the episode)
    ``info["metric_name"]`` names the game's metric (the env class's ``metric_name``
    attribute, the metric its evaluation suite reports: ``excess_pct``, ``gap_pct``,
    ``rank``, ...) and ``info["metric"]`` holds its value for
    this episode, a float, or None where the instance has no reference to measure against
    (a generated job-shop instance has no known upper bound). The game's older key of the
    same value (``info["excess_pct"]``, ``info["gap_pct"]``) is kept.

Checkers
    ``gymnasium.utils.env_checker.check_env`` and stable-baselines3's ``check_env`` pass on
    every id with its default options.
"""

from __future__ import annotations

import functools
import inspect
import math
import operator
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import numpy as np

__all__ = [
    "MEMORY_LIMIT_BYTES",
    "InvalidActionError",
    "check_memory",
    "check_reset_options",
    "discrete_action",
    "finite_number",
    "reject_unknown_kwargs",
]

MEMORY_LIMIT_BYTES = 1 << 30
"""The most memory (1 GiB) one env may ask for its observations and state arrays; larger
sizes are refused by `check_memory` before allocating."""

F = TypeVar("F", bound=Callable[..., Any])


class InvalidActionError(ValueError):
    """An action outside the env's action space (not an integer, wrong shape, out of range)."""


def reject_unknown_kwargs(init: F) -> F:
    """Decorate an env's ``__init__``: an unknown keyword raises `TypeError` listing the known ones.

    Python's own error (``got an unexpected keyword argument``) does not say what is accepted;
    this one does, and it is raised before the constructor runs.
    """
    parameters = inspect.signature(init).parameters
    known = [
        name for name, p in parameters.items() if name != "self" and p.kind is not p.VAR_KEYWORD
    ]
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        raise TypeError(f"{init.__qualname__} takes **kwargs: every option must be named")

    @functools.wraps(init)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
        unknown = sorted(set(kwargs) - set(known))
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown option(s) {unknown}; known: {known}")
        init(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def check_reset_options(options: Any, known: Iterable[str]) -> dict[str, Any]:
    """``options`` as a new dict; `TypeError` unless None or a dict, `ValueError` naming the
    unknown keys and listing the known ones."""
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise TypeError(
            f"reset options must be a dict or None, got {type(options).__name__} {options!r}"
        )
    known = list(known)
    unknown = [key for key in options if key not in known]
    if unknown:
        raise ValueError(f"unknown reset options {unknown!r}; known: {known}")
    return dict(options)


def check_memory(what: str, nbytes: int, limit: int = MEMORY_LIMIT_BYTES) -> None:
    """Raise `ValueError` when `what` would need more than `limit` bytes (checked before allocating).

    `nbytes` may be a Python int of any size (compute it with Python ints, not numpy's, so it
    cannot overflow).
    """
    if nbytes > limit:
        raise ValueError(
            f"{what} would need {_bytes(nbytes)}, above the limit of {_bytes(limit)} "
            f"(discoverygym.envs.contract.MEMORY_LIMIT_BYTES)"
        )


def _bytes(n: int) -> str:
    for unit, size in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            value = n / size
            return f"{value:.3g} {unit}" if value < 1e6 else f"{n:.3g} bytes"
    return f"{n} bytes"


def discrete_action(action: Any, n: int, start: int = 0) -> int:
    """The integer of a ``Discrete(n, start)`` action, or `InvalidActionError` naming it.

    Accepts a Python or numpy integer, or an integer array of size one; refuses ``bool``,
    floats (even integral ones), strings and every value outside ``start .. start + n - 1``.
    """
    value = action
    if isinstance(value, np.ndarray):
        if value.size != 1 or value.dtype.kind not in "iu":
            raise InvalidActionError(
                f"action {action!r} is not an integer of the action space Discrete({n})"
            )
        value = value.reshape(()).item()
    if isinstance(value, (bool, np.bool_)):
        raise InvalidActionError(
            f"action {action!r} is a bool, not an integer of the action space Discrete({n})"
        )
    try:
        a = operator.index(value)
    except TypeError:
        raise InvalidActionError(
            f"action {action!r} is not an integer; expected one of {start}..{start + n - 1} "
            f"(the action space Discrete({n}))"
        ) from None
    if not start <= a < start + n:
        raise InvalidActionError(
            f"action {a} is outside the action space Discrete({n}): expected {start}..{start + n - 1}"
        )
    return a


def finite_number(name: str, value: Any, minimum: float | None = None) -> float:
    """`value` as a float; `TypeError` unless a real number, `ValueError` if NaN, infinite or
    below `minimum`, naming the option and the limit."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if minimum is not None and number < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return number
