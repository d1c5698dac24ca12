"""Bin packing instances: OR-Library and FunSearch files, Weibull and uniform generators, named sets.

An `Instance` keeps its items in arrival order. Sizes are stored on an exact integer grid
(`sizes`, `grid_capacity`): the original value times `scale`, where `scale` is the smallest
power of ten that makes every number integral (1 for every set except `t60`, whose sizes have
one decimal, so scale 10). Packing decisions are made on the grid, so a t60 triplet that fills a
bin exactly (33.3 + 33.3 + 33.4 = 100.0) is never lost to floating-point rounding.

Named sets (`load_dataset(name)`, `list_datasets()`):

=============  ==========================================================================
``or1``..``or4``  OR-Library binpack1..4 (Falkenauer u120/u250/u500/u1000, 20 each, C=150)
``or3``        FunSearch's published OR3 JSON (identical to binpack3, checked in the tests)
``t60``        OR-Library binpack5 (Falkenauer triplets t60, 20 x 60 items, C=100.0)
``weibull5k``  FunSearch's published Weibull 5k test set (5 x 5000 items, C=100)
generated      ``weibull-<n>:seed=S`` and ``uniform-<n>:seed=S`` (see `parse_generated_name`)
=============  ==========================================================================
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np

from discoverygym.envs.contract import check_memory

__all__ = [
    "Dataset",
    "Instance",
    "InstanceFormatError",
    "known_optimum",
    "list_datasets",
    "load_dataset",
    "load_funsearch_json",
    "parse_generated_name",
    "parse_orlib",
    "uniform_dataset",
    "uniform_sizes",
    "weibull_dataset",
    "weibull_sizes",
]

MAX_SCALE = 10**6
"""Sizes have at most six decimals: the grid is the original numbers times at most 10**6."""
MAX_GRID_CAPACITY = 2**24
"""The largest capacity on the grid (``capacity * scale``): observations are float32, which
holds every integer up to 2**24 exactly, and the histogram observation has one entry per level."""
ITEM_BYTES = 16
"""Bytes per generated item while a set is built (float64 draws and int64 sizes)."""


class InstanceFormatError(ValueError):
    """A malformed instance file; the message names the file, the token and what was expected."""


def close_names(name: str, known: Sequence[str], n: int = 5) -> list[str]:
    """The `n` known names most similar to `name` (ties in alphabetical order)."""
    scored = []
    for candidate in known:
        ratio = difflib.SequenceMatcher(None, name, candidate).ratio()
        if ratio >= 0.5:
            scored.append((-ratio, candidate))
    return [candidate for _, candidate in sorted(scored)[:n]]


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def _grid_scale(values: np.ndarray) -> int:
    """Smallest power of ten (<= 10**6) turning every value into an integer."""
    scale = 1
    while scale <= MAX_SCALE:
        scaled = values * scale
        exact = np.abs(scaled - np.rint(scaled)) <= 1e-9 * np.maximum(1.0, np.abs(scaled))
        if np.all(exact & (np.rint(scaled) >= 1)):  # positive sizes stay positive on the grid
            return scale
        scale *= 10
    scaled = values * MAX_SCALE
    off = (np.abs(scaled - np.rint(scaled)) > 1e-9 * np.maximum(1.0, np.abs(scaled))) | (
        np.rint(scaled) < 1
    )
    fine = values[off] if off.any() else values
    raise ValueError(
        f"item sizes and capacity must be multiples of 1e-6 (decimal numbers with at most "
        f"six decimals), got {float(fine[0])!r}"
    )


def check_grid_capacity(name: str, capacity: float, scale: int) -> int:
    """``capacity * scale`` as an int, or `ValueError` when above `MAX_GRID_CAPACITY`."""
    grid = capacity * scale
    if grid > MAX_GRID_CAPACITY:
        raise ValueError(
            f"instance {name!r}: capacity {capacity:g} on the grid of scale {scale} is {grid:g}, "
            f"above the limit MAX_GRID_CAPACITY = 2**24 = {MAX_GRID_CAPACITY}"
        )
    return int(round(grid))


@dataclass(frozen=True, eq=False)
class Instance:
    """One online bin packing instance: items in arrival order and a bin capacity.

    `items` and `capacity` are in the instance's own units (int64 items when every number is
    an integer, else float64); `sizes` and `grid_capacity` are the same numbers times `scale`
    as exact integers. `optimum` is the proven optimal number of bins where known (BPPLib),
    `best_known` the value printed in the original file (may be out of date).
    """

    name: str
    capacity: float
    items: np.ndarray
    scale: int
    sizes: np.ndarray
    grid_capacity: int
    optimum: int | None = None
    best_known: int | None = None

    @classmethod
    def from_items(
        cls,
        name: str,
        capacity: float,
        items: Sequence[float] | np.ndarray,
        *,
        optimum: int | None = None,
        best_known: int | None = None,
        scale: int | None = None,
    ) -> Instance:
        """Build an instance, checking 0 < item <= capacity for every item."""
        values = np.asarray(items, dtype=np.float64).ravel()
        if values.size == 0:
            raise ValueError(f"instance {name!r}: no items")
        if not np.all(np.isfinite(values)) or not math.isfinite(capacity) or capacity <= 0:
            raise ValueError(f"instance {name!r}: sizes and capacity must be finite, capacity > 0")
        bad = np.flatnonzero((values <= 0) | (values > capacity))
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"instance {name!r}: item {i} has size {float(values[i]):g}; expected 0 < size <= capacity {float(capacity):g}"
            )
        if capacity > MAX_GRID_CAPACITY:
            check_grid_capacity(name, capacity, 1)
        if scale is None:
            scale = _grid_scale(np.append(values, capacity))
        grid_capacity = check_grid_capacity(name, capacity, scale)
        sizes = np.rint(values * scale).astype(np.int64)
        integral = scale == 1
        return cls(
            name=name,
            capacity=int(grid_capacity) if integral else float(capacity),
            items=_read_only(sizes.copy() if integral else values.copy()),
            scale=int(scale),
            sizes=_read_only(sizes),
            grid_capacity=grid_capacity,
            optimum=optimum,
            best_known=best_known,
        )

    @property
    def num_items(self) -> int:
        return int(self.sizes.size)

    def __repr__(self) -> str:
        return f"Instance({self.name!r}, capacity={self.capacity}, num_items={self.num_items})"


@dataclass(frozen=True)
class Dataset:
    """A named tuple of instances (iterable, indexable by position or instance name)."""

    name: str
    instances: tuple[Instance, ...]
    description: str = ""
    _by_name: dict[str, Instance] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.instances:
            raise ValueError(f"dataset {self.name!r} has no instances")
        by_name = {inst.name: inst for inst in self.instances}
        if len(by_name) != len(self.instances):
            raise ValueError(f"dataset {self.name!r}: instance names are not unique")
        object.__setattr__(self, "_by_name", by_name)

    def __len__(self) -> int:
        return len(self.instances)

    def __iter__(self) -> Iterator[Instance]:
        return iter(self.instances)

    def __getitem__(self, key: int | str) -> Instance:
        if isinstance(key, str):
            return self.instance(key)
        return self.instances[key]

    @property
    def names(self) -> list[str]:
        return [inst.name for inst in self.instances]

    def instance(self, name: str) -> Instance:
        """The instance called `name`; KeyError lists the close names."""
        if not isinstance(name, str):
            raise TypeError(
                f"an instance is named by a str, got {type(name).__name__} {name!r} "
                f"(dataset {self.name!r})"
            )
        try:
            return self._by_name[name]
        except KeyError:
            close = close_names(name, self.names)
            hint = (
                f"did you mean {', '.join(close)}?"
                if close
                else f"known: {', '.join(self.names[:10])}"
            )
            more = "" if close or len(self) <= 10 else f" (+{len(self) - 10} more)"
            raise KeyError(
                f"unknown instance {name!r} in dataset {self.name!r}; {hint}{more}"
            ) from None

    def to_funsearch(self) -> dict[str, dict]:
        """FunSearch's dict format: {name: {"capacity", "num_items", "items"}}."""
        return {
            inst.name: {
                "capacity": inst.capacity,
                "num_items": inst.num_items,
                "items": inst.items.tolist(),
            }
            for inst in self.instances
        }


# --------------------------------------------------------------------------- file parsers


def _tokens(text: str) -> list[tuple[str, int]]:
    return [
        (tok, lineno) for lineno, line in enumerate(text.splitlines(), 1) for tok in line.split()
    ]


def parse_orlib(path: str | Path, text: str | None = None) -> list[Instance]:
    """Parse an OR-Library `binpackK.txt` file by tokens (not lines), keeping arrival order.

    Layout: P, then P times: name, capacity, n, best-known bins, n item sizes.
    Errors name the file, the token position (1-based, with its line) and what was expected.
    """
    path = Path(path)
    if text is None:
        text = path.read_text()
    tokens = _tokens(text)
    pos = 0

    def take(what: str) -> tuple[str, int]:
        nonlocal pos
        if pos >= len(tokens):
            raise InstanceFormatError(
                f"{path}: token {pos + 1}: expected {what}, found end of file"
            )
        tok, line = tokens[pos]
        pos += 1
        return tok, line

    def fail(tok: str, line: int, what: str) -> InstanceFormatError:
        return InstanceFormatError(
            f"{path}: token {pos} (line {line}): expected {what}, found {tok!r}"
        )

    def integer(what: str, minimum: int) -> int:
        tok, line = take(what)
        try:
            value = int(tok)
        except ValueError:
            raise fail(tok, line, what) from None
        if value < minimum:
            raise fail(tok, line, what)
        return value

    def number(what: str, maximum: Decimal | None = None) -> Decimal:
        tok, line = take(what)
        try:
            value = Decimal(tok)
        except InvalidOperation:
            raise fail(tok, line, what) from None
        if not value.is_finite() or value <= 0:
            raise fail(tok, line, what)
        if int(value.as_tuple().exponent) < -6:
            raise fail(tok, line, f"{what} with at most 6 decimals")
        if maximum is not None and value > maximum:
            raise fail(tok, line, f"{what} at most {maximum}")
        return value

    instances = []
    count = integer("the number of problems (an integer >= 1)", 1)
    for p in range(count):
        name, _ = take(f"the name of problem {p + 1}")
        capacity = number(
            f"the bin capacity of {name} (a positive number)", Decimal(MAX_GRID_CAPACITY)
        )
        capacity_at = tokens[pos - 1]
        n = integer(f"the number of items of {name} (an integer >= 1)", 1)
        best = integer(f"the best-known number of bins of {name} (an integer >= 1)", 1)
        sizes = []
        for i in range(n):
            value = number(f"item {i + 1} of {n} of {name} (a positive number)")
            if value > capacity:
                tok, line = tokens[pos - 1]
                raise fail(tok, line, f"item {i + 1} of {name} at most the capacity {capacity}")
            sizes.append(value)
        exponent = min(int(v.as_tuple().exponent) for v in [capacity, *sizes])
        scale = 10 ** max(0, -exponent)
        if capacity * scale > MAX_GRID_CAPACITY:
            raise InstanceFormatError(
                f"{path}: line {capacity_at[1]}: the capacity {capacity_at[0]} of {name} times "
                f"the scale {scale} its items' decimals need is {capacity * scale}, above the "
                f"limit MAX_GRID_CAPACITY = 2**24 = {MAX_GRID_CAPACITY}"
            )
        instances.append(
            Instance.from_items(
                name,
                float(capacity),
                [float(v) for v in sizes],
                best_known=best,
                optimum=known_optimum(name),
                scale=scale,
            )
        )
    if pos < len(tokens):
        tok, line = tokens[pos]
        pos += 1
        raise fail(tok, line, f"end of file after {count} problems")
    return instances


def load_funsearch_json(path: str | Path, text: str | None = None) -> list[Instance]:
    """Parse FunSearch's `{name: {"capacity", "num_items", "items"}}` JSON (errors name the key)."""
    path = Path(path)
    if text is None:
        text = path.read_text()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InstanceFormatError(
            f"{path}: invalid JSON at line {error.lineno}: {error.msg}"
        ) from None
    if not isinstance(data, dict) or not data:
        raise InstanceFormatError(f"{path}: expected a non-empty object {{name: instance}}")
    instances = []
    for name, entry in data.items():
        key_at = text.find(json.dumps(name))
        line = text.count("\n", 0, key_at) + 1 if key_at >= 0 else "?"
        where = f"{path}: line {line}: instance {name!r}"
        if not isinstance(entry, dict) or not {"capacity", "num_items", "items"} <= set(entry):
            raise InstanceFormatError(
                f"{where}: expected an object with capacity, num_items and items"
            )
        items = entry["items"]
        if not isinstance(items, list) or not all(
            isinstance(x, (int, float)) and not isinstance(x, bool) for x in items
        ):
            raise InstanceFormatError(f"{where}: expected items to be a list of numbers")
        if entry["num_items"] != len(items):
            raise InstanceFormatError(
                f"{where}: num_items is {entry['num_items']} but items has {len(items)} entries"
            )
        try:
            instances.append(
                Instance.from_items(
                    name, float(entry["capacity"]), items, optimum=known_optimum(name)
                )
            )
        except (TypeError, ValueError, OverflowError) as error:
            raise InstanceFormatError(f"{path}: line {line}: {error}") from None
    return instances


# --------------------------------------------------------------------------- generators


def weibull_sizes(
    rng: np.random.Generator,
    num_items: int,
    *,
    scale: float = 45.0,
    shape: float = 3.0,
    capacity: int = 100,
    rounding: Literal["floor", "round"] = "floor",
) -> np.ndarray:
    """FunSearch's Weibull(scale 45, shape 3) sizes, integral and clipped to [1, capacity].

    `"floor"` (default) truncates, which fits the published Weibull 5k set best; `"round"`
    rounds to the nearest integer, as the paper's text says.
    """
    if rounding not in ("floor", "round"):
        raise ValueError(f"rounding must be 'floor' or 'round', got {rounding!r}")
    raw = rng.weibull(shape, size=num_items) * scale
    sizes = np.floor(raw) if rounding == "floor" else np.rint(raw)
    return np.clip(sizes, 1, capacity).astype(np.int64)


def uniform_sizes(
    rng: np.random.Generator, num_items: int, *, low: int = 20, high: int = 100
) -> np.ndarray:
    """Integer sizes uniform on {low, ..., high} (OR-Library's u-class uses 20..100, C=150)."""
    if not 1 <= low <= high:
        raise ValueError(f"need 1 <= low <= high, got low={low!r}, high={high!r}")
    return rng.integers(low, high + 1, size=num_items, dtype=np.int64)


def weibull_dataset(
    num_items: int,
    seed: int,
    count: int = 5,
    *,
    capacity: int = 100,
    rounding: Literal["floor", "round"] = "floor",
    name: str | None = None,
) -> Dataset:
    """`count` Weibull instances of `num_items` items from `np.random.default_rng(seed)`."""
    _check_set_size(num_items, count)
    rng = np.random.default_rng(seed)
    name = name or f"weibull-{num_items}:seed={seed}"
    instances = tuple(
        Instance.from_items(
            f"weibull{num_items}_s{seed}_{i:02d}",
            capacity,
            weibull_sizes(rng, num_items, capacity=capacity, rounding=rounding),
        )
        for i in range(count)
    )
    return Dataset(
        name,
        instances,
        f"{count} x {num_items} Weibull(45, 3) items ({rounding}), C={capacity}, seed {seed}",
    )


def uniform_dataset(
    num_items: int,
    seed: int,
    count: int = 20,
    *,
    low: int = 20,
    high: int = 100,
    capacity: int = 150,
    name: str | None = None,
) -> Dataset:
    """`count` instances of `num_items` integer sizes uniform on {low..high}."""
    _check_set_size(num_items, count)
    if high > capacity:
        raise ValueError(f"high={high} exceeds capacity={capacity}")
    rng = np.random.default_rng(seed)
    name = name or f"uniform-{num_items}:seed={seed}"
    instances = tuple(
        Instance.from_items(
            f"uniform{num_items}_s{seed}_{i:02d}",
            capacity,
            uniform_sizes(rng, num_items, low=low, high=high),
        )
        for i in range(count)
    )
    return Dataset(
        name,
        instances,
        f"{count} x {num_items} items U{{{low}..{high}}}, C={capacity}, seed {seed}",
    )


def _check_set_size(num_items: int, count: int) -> None:
    """`ValueError` unless both are integers >= 1 and the set fits `MEMORY_LIMIT_BYTES`."""
    for what, value in (("num_items", num_items), ("count", count)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{what} must be an integer >= 1, got {value!r}")
    check_memory(
        f"a set of {count} x {num_items} items ({ITEM_BYTES} bytes per item)",
        int(count) * int(num_items) * ITEM_BYTES,
    )


_GENERATED = re.compile(r"^(weibull|uniform)-(\d+)(k?)(?::(.*))?$")
_KEYS = {
    "weibull": {"seed", "count", "rounding", "capacity"},
    "uniform": {"seed", "count", "low", "high", "capacity"},
}


def parse_generated_name(name: str) -> Dataset:
    """Build a generated set from its name: ``<family>-<n>[k]:key=value,...``.

    Families: ``weibull`` (keys: seed, count [5, or 1 from 100k items on, as FunSearch's test
    sets], rounding [floor|round], capacity [100]) and ``uniform`` (keys: seed, count [20],
    low [20], high [100], capacity [150]). ``seed`` defaults to 0. Examples:
    ``weibull-5k:seed=0``, ``weibull-100k:seed=1``, ``uniform-120:seed=0,count=5``.
    """
    match = _GENERATED.match(name)
    if not match:
        raise KeyError(name)
    family, digits, kilo, rest = match.groups()
    num_items = int(digits) * (1000 if kilo else 1)
    params: dict[str, str] = {}
    for part in filter(None, (rest or "").split(",")):
        key, sep, value = part.partition("=")
        if not sep or key not in _KEYS[family]:
            raise KeyError(
                f"dataset {name!r}: bad parameter {part!r}; expected key=value with key in {sorted(_KEYS[family])}"
            )
        params[key] = value
    default_count = (1 if num_items >= 100_000 else 5) if family == "weibull" else 20
    try:
        count = int(params.get("count", default_count))
    except ValueError as error:
        raise KeyError(f"dataset {name!r}: {error}") from None
    if num_items >= 1 and count >= 1:  # sizes too large to build are a ValueError, not a KeyError
        _check_set_size(num_items, count)
    try:
        seed = int(params.get("seed", 0))
        if family == "weibull":
            rounding = params.get("rounding", "floor")
            if rounding not in ("floor", "round"):
                raise ValueError(f"rounding must be floor or round, got {rounding!r}")
            dataset = weibull_dataset(
                num_items,
                seed,
                count,
                capacity=int(params.get("capacity", 100)),
                rounding=rounding,
                name=name,
            )  # type: ignore[arg-type]
        else:
            dataset = uniform_dataset(
                num_items,
                seed,
                count,
                low=int(params.get("low", 20)),
                high=int(params.get("high", 100)),
                capacity=int(params.get("capacity", 150)),
                name=name,
            )
    except ValueError as error:
        raise KeyError(f"dataset {name!r}: {error}") from None
    if num_items < 1 or len(dataset) < 1:
        raise KeyError(f"dataset {name!r}: need at least one item and one instance")
    return dataset


# --------------------------------------------------------------------------- named sets

_FILES = {
    "or1": (
        "binpack1.txt",
        "OR-Library binpack1: 20 x 120 items U{20..100}, C=150 (Falkenauer u120)",
    ),
    "or2": (
        "binpack2.txt",
        "OR-Library binpack2: 20 x 250 items U{20..100}, C=150 (Falkenauer u250)",
    ),
    "or3": ("or3.json", "FunSearch OR3 (= OR-Library binpack3): 20 x 500 items U{20..100}, C=150"),
    "or4": (
        "binpack4.txt",
        "OR-Library binpack4: 20 x 1000 items U{20..100}, C=150 (Falkenauer u1000)",
    ),
    "t60": (
        "binpack5.txt",
        "OR-Library binpack5: 20 x 60 items, triplets filling bins exactly, C=100.0",
    ),
    "weibull5k": (
        "weibull_5k.json",
        "FunSearch Weibull 5k test set: 5 x 5000 items Weibull(45, 3), C=100",
    ),
}
GENERATED_EXAMPLES = (
    "weibull-5k:seed=0",
    "weibull-10k:seed=0",
    "weibull-100k:seed=0",
    "uniform-120:seed=0",
    "uniform-250:seed=0",
    "uniform-500:seed=0",
    "uniform-1000:seed=0",
)


def data_path(filename: str) -> Path:
    """Path of a vendored data file (package data)."""
    return Path(str(resources.files("discoverygym.envs.binpacking") / "data" / filename))


@lru_cache(maxsize=1)
def _optimum_table() -> dict[str, int]:
    table = {}
    lines = data_path("optimum_bpplib_all_falkenauer.csv").read_text().split()
    for row in lines[1:]:
        name, lower, upper = row.split(",")
        if lower == upper:
            table[name] = int(lower)
    return table


def known_optimum(name: str) -> int | None:
    """Proven optimal number of bins of a Falkenauer instance (BPPLib), else None."""
    return _optimum_table().get(name)


def list_datasets() -> dict[str, str]:
    """Named sets -> one-line description (generated sets: the examples; any seed works)."""
    out = {name: description for name, (_, description) in _FILES.items()}
    for name in GENERATED_EXAMPLES:
        out[name] = _describe_generated(name)
    return out


def _describe_generated(name: str) -> str:
    family, size = name.split(":")[0].split("-")
    if family == "weibull":
        count = 1 if size == "100k" else 5
        return f"generated: {count} x {size} Weibull(45, 3) items (floor), C=100; any seed"
    return f"generated: 20 x {size} items U{{20..100}}, C=150; any seed"


@lru_cache(maxsize=32)
def load_dataset(name: str) -> Dataset:
    """A named or generated set (cached; instances are immutable).

    Unknown names raise KeyError listing the known (or close) names.
    """
    if not isinstance(name, str):
        raise TypeError(f"a bin packing set is named by a str, got {type(name).__name__} {name!r}")
    if name in _FILES:
        filename, description = _FILES[name]
        path = data_path(filename)
        instances = load_funsearch_json(path) if filename.endswith(".json") else parse_orlib(path)
        return Dataset(name, tuple(instances), description)
    try:
        return parse_generated_name(name)
    except KeyError as error:
        if error.args and error.args[0] != name:
            raise
    known = list(list_datasets())
    close = close_names(name, known, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise KeyError(
        f"unknown dataset {name!r}.{hint} Known: {', '.join(known)} "
        "(generated sets take any seed: weibull-<n>[k]:seed=S, uniform-<n>:seed=S)"
    )
