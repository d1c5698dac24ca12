"""Job-shop instances: the 162 benchmark instances, their bounds, parsers and a generator.

* `load_instance("ta01")` -> `JobShopInstance` (also a file path, or a generator name such as
  ``"random-10x10:seed=0"``); `list_instances(...)` filters the shipped instances.
* Named sets (`dataset_names()`): the families ``ft``, ``la``, ``ta``, ``abz``, ``orb``, ``swv``,
  ``yn``, ``all``, Taillard's sizes ``taillard-15x15`` ... ``taillard-100x20`` and Lawrence's
  ``la-10x5`` ... ``la-15x15``.
* `parse_standard` reads the JSPLIB "standard" format, `parse_taillard` Taillard's original
  format; both raise `InstanceFormatError` naming the file, the line and what was expected.
* `generate_instance(jobs, machines, rng)` draws a Taillard-style instance: each job visits every
  machine once in a uniformly random order, durations uniform in 1..99.

Limits: the durations of an instance sum to at most `MAX_HORIZON` (every time of a schedule is
below it; the batched env keeps times in int32), bounds are >= 0 with lower <= upper, and in
both file formats a job visits each machine at most once (instances built in code may revisit
machines). Sizes whose arrays would exceed `MEMORY_LIMIT_BYTES` are refused before allocating.
"""

from __future__ import annotations

import csv
import difflib
import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

from discoverygym.envs.contract import check_memory

DATA_DIR = Path(__file__).resolve().parent / "data"
INSTANCE_DIR = DATA_DIR / "instances"
BOUNDS_CSV = DATA_DIR / "bounds.csv"

TAILLARD_SIZES: dict[str, tuple[int, int]] = {
    "taillard-15x15": (1, 10),
    "taillard-20x15": (11, 20),
    "taillard-20x20": (21, 30),
    "taillard-30x15": (31, 40),
    "taillard-30x20": (41, 50),
    "taillard-50x15": (51, 60),
    "taillard-50x20": (61, 70),
    "taillard-100x20": (71, 80),
}
LAWRENCE_SIZES: dict[str, tuple[int, int]] = {
    "la-10x5": (1, 5),
    "la-15x5": (6, 10),
    "la-20x5": (11, 15),
    "la-10x10": (16, 20),
    "la-15x10": (21, 25),
    "la-20x10": (26, 30),
    "la-30x10": (31, 35),
    "la-15x15": (36, 40),
}
FAMILIES: tuple[str, ...] = ("ft", "la", "ta", "abz", "orb", "swv", "yn")
_RANDOM = re.compile(r"^random-(\d+)x(\d+)(?::(.*))?$")
MAX_HORIZON = 2**30 - 1
"""The largest sum of all durations of an instance (every start and end time is at most it)."""
MAX_TOKEN = 2**31 - 1
"""The largest absolute value of an integer in an instance file (Taillard's seeds are below it)."""
OPERATION_BYTES = 64
"""Bytes an instance and an env need per operation (route, durations, schedule, Python lists)."""


class InstanceFormatError(ValueError):
    """A malformed instance file: the message names the file, the line and what was expected."""


@dataclass(frozen=True, eq=False)
class JobShopInstance:
    """A job-shop instance: job ``j``'s ``k``-th operation runs on ``machines[j, k]`` for
    ``durations[j, k]`` time units; operations of a job run in route order.

    `lower_bound`/`upper_bound` are the best known bounds on the optimal makespan (None when
    unknown, e.g. for generated instances); `optimal` says they are equal (proven optimum).
    """

    name: str
    machines: np.ndarray
    durations: np.ndarray
    num_machines: int
    lower_bound: int | None = None
    upper_bound: int | None = None
    optimal: bool = False
    source: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        name, count = self.name, self.num_machines
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)):
            raise TypeError(f"{name}: num_machines must be an integer, got {count!r}")
        if count < 1:
            raise ValueError(f"{name}: num_machines must be >= 1, got {count}")
        check_memory(f"{name}: {count} machines", count * OPERATION_BYTES)
        lower, upper = self.lower_bound, self.upper_bound
        for what, bound in (("lower_bound", lower), ("upper_bound", upper)):
            integral = isinstance(bound, (int, np.integer)) and not isinstance(bound, bool)
            if bound is not None and (not integral or bound < 0):
                raise ValueError(f"{name}: {what} must be an integer >= 0 or None, got {bound!r}")
        if lower is not None and upper is not None and lower > upper:
            raise ValueError(f"{name}: lower_bound {lower} is above upper_bound {upper}")
        try:
            machines = np.asarray(self.machines, dtype=np.int64)
            durations = np.asarray(self.durations, dtype=np.int64)
        except OverflowError:
            raise ValueError(
                f"{self.name}: machine ids and durations must fit int64 (durations sum to at most "
                f"MAX_HORIZON = {MAX_HORIZON})"
            ) from None
        if machines.ndim != 2 or machines.shape != durations.shape:
            raise ValueError(
                f"{self.name}: machines and durations must be 2-D arrays of the same shape "
                f"(jobs x operations), got {machines.shape} and {durations.shape}"
            )
        if machines.size and (machines.min() < 0 or machines.max() >= self.num_machines):
            raise ValueError(f"{self.name}: machine ids must lie in 0..{self.num_machines - 1}")
        if durations.size and durations.min() < 0:
            raise ValueError(f"{self.name}: durations must be >= 0, got {durations.min()}")
        total = int(durations.sum(dtype=object)) if durations.size else 0  # Python ints: exact
        if total > MAX_HORIZON:
            raise ValueError(
                f"{self.name}: durations sum to {total}, above MAX_HORIZON = 2**30 - 1 = {MAX_HORIZON}"
            )
        machines.flags.writeable = False
        durations.flags.writeable = False
        object.__setattr__(self, "machines", machines)
        object.__setattr__(self, "durations", durations)

    @property
    def num_jobs(self) -> int:
        return int(self.machines.shape[0])

    @property
    def num_operations(self) -> int:
        """Operations per job (equal to the number of machines for the benchmark instances)."""
        return int(self.machines.shape[1])

    @property
    def shape(self) -> tuple[int, int]:
        """(jobs, machines), as in "15x15"."""
        return self.num_jobs, self.num_machines

    @property
    def trivial_lower_bound(self) -> int:
        """max(longest job, most loaded machine): a lower bound on every schedule's makespan."""
        loads = np.bincount(self.machines.ravel(), self.durations.ravel(), minlength=self.num_machines)
        return int(max(self.durations.sum(axis=1).max(initial=0), loads.max(initial=0)))

    @property
    def best_lower_bound(self) -> int:
        """The known lower bound, or the trivial one when none is known."""
        return self.lower_bound if self.lower_bound is not None else self.trivial_lower_bound

    def __repr__(self) -> str:
        bounds = "" if self.upper_bound is None else f", bounds={self.lower_bound}..{self.upper_bound}"
        return f"JobShopInstance({self.name!r}, {self.num_jobs}x{self.num_machines}{bounds})"


# --------------------------------------------------------------------------------- parsers
def _data_lines(text: str) -> list[tuple[int, str]]:
    """(1-based line number, stripped line) of every non-blank, non-comment line."""
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            out.append((number, stripped))
    return out


def _ints(source: str, number: int, line: str, expected: str) -> list[int]:
    """The integers of a line; errors name the file, the line and the token (every value must
    lie within +-MAX_TOKEN: no count, id, duration, bound or Taillard seed is larger)."""
    try:
        values = [int(token) for token in line.split()]
    except ValueError:
        bad = next(t for t in line.split() if not re.fullmatch(r"[+-]?\d+", t))
        raise InstanceFormatError(f"{source}:{number}: expected {expected}, got token {bad!r}") from None
    for value in values:
        if abs(value) > MAX_TOKEN:
            raise InstanceFormatError(
                f"{source}:{number}: expected {expected}, got {value}, beyond the limit "
                f"+-(2**31 - 1) = {MAX_TOKEN} of an integer in an instance file"
            )
    return values


def _revisit(route: np.ndarray) -> int | None:
    """The first machine a route visits twice, or None."""
    seen: set[int] = set()
    for machine in route.tolist():
        if machine in seen:
            return machine
        seen.add(machine)
    return None


def _horizon(source: str, number: int, total: int) -> None:
    if total > MAX_HORIZON:
        raise InstanceFormatError(
            f"{source}:{number}: the durations up to this line sum to {total}, above the limit "
            f"MAX_HORIZON = 2**30 - 1 = {MAX_HORIZON}"
        )


def parse_standard(text: str, name: str = "instance", source: str = "<string>") -> JobShopInstance:
    """Parse the JSPLIB standard format: ``n m`` then n lines of (machine, duration) pairs."""
    lines = _data_lines(text)
    if not lines:
        raise InstanceFormatError(f"{source}: expected a header line 'jobs machines', found no data")
    number, header = lines[0]
    values = _ints(source, number, header, "the header 'jobs machines' (two integers)")
    if len(values) != 2 or min(values) < 1:
        raise InstanceFormatError(
            f"{source}:{number}: expected the header 'jobs machines' (two positive integers), got {header!r}"
        )
    jobs, machines = values
    rows = lines[1:]
    if len(rows) < jobs:
        last = rows[-1][0] if rows else number
        raise InstanceFormatError(
            f"{source}:{last}: expected {jobs} job lines after the header, found {len(rows)}"
        )
    if len(rows) > jobs:
        extra_number, extra = rows[jobs]
        raise InstanceFormatError(
            f"{source}:{extra_number}: expected the end of the file after {jobs} job lines, got {extra[:40]!r}"
        )
    width = None
    total = 0
    route, times = [], []
    for job, (number, line) in enumerate(rows):
        expected = f"job {job}: pairs 'machine duration' of integers"
        values = _ints(source, number, line, expected)
        if len(values) % 2 or not values:
            raise InstanceFormatError(
                f"{source}:{number}: expected {expected} (an even count), got {len(values)} integers"
            )
        if width is None:
            width = len(values)
        elif len(values) != width:
            raise InstanceFormatError(
                f"{source}:{number}: expected {width // 2} operations for job {job} like job 0, "
                f"got {len(values) // 2}"
            )
        pairs = np.asarray(values, dtype=np.int64).reshape(-1, 2)
        bad = np.flatnonzero((pairs[:, 0] < 0) | (pairs[:, 0] >= machines))
        if bad.size:
            raise InstanceFormatError(
                f"{source}:{number}: expected machine ids in 0..{machines - 1} (0-based), "
                f"got {pairs[bad[0], 0]} for operation {bad[0]} of job {job}"
            )
        neg = np.flatnonzero(pairs[:, 1] < 0)
        if neg.size:
            raise InstanceFormatError(
                f"{source}:{number}: expected durations >= 0, got {pairs[neg[0], 1]} for operation "
                f"{neg[0]} of job {job}"
            )
        twice = _revisit(pairs[:, 0])
        if twice is not None:
            raise InstanceFormatError(
                f"{source}:{number}: job {job} visits machine {twice} twice; the format has each "
                f"job visit a machine at most once"
            )
        total += int(pairs[:, 1].sum())
        _horizon(source, number, total)
        route.append(pairs[:, 0])
        times.append(pairs[:, 1])
    return JobShopInstance(
        name=name, machines=np.array(route), durations=np.array(times), num_machines=machines, source=source
    )


def parse_taillard(text: str, name: str = "instance", source: str = "<string>") -> JobShopInstance:
    """Parse Taillard's original format (1-based machines, durations matrix then machines matrix)::

        Nb of jobs, Nb of Machines, Time seed, Machine seed, Upper bound, Lower bound   (optional)
        15 15 840612802 398197754 1231 1005     (jobs machines [time_seed machine_seed ub lb])
        Times
        <jobs lines of `machines` durations>
        Machines
        <jobs lines of `machines` machine ids, 1-based>

    The ``Times``/``Machines`` labels may be omitted. The header's bounds, when given, become
    `upper_bound`/`lower_bound`.
    """
    lines = [(n, line) for n, line in _data_lines(text)]
    position = 0
    if lines and not re.match(r"^[+-]?\d", lines[0][1]):  # descriptive header line
        position = 1
    if position >= len(lines):
        raise InstanceFormatError(f"{source}: expected a line 'jobs machines [...]', found no data")
    number, header = lines[position]
    values = _ints(source, number, header, "'jobs machines [time_seed machine_seed upper lower]'")
    if len(values) not in (2, 4, 6) or min(values[:2]) < 1:
        raise InstanceFormatError(
            f"{source}:{number}: expected 'jobs machines [time_seed machine_seed upper lower]' "
            f"(2, 4 or 6 integers), got {header!r}"
        )
    jobs, machines = values[:2]
    upper, lower = (values[4], values[5]) if len(values) == 6 else (None, None)
    if upper is not None and lower is not None and (lower < 0 or upper < 0 or lower > upper):
        raise InstanceFormatError(
            f"{source}:{number}: expected bounds 0 <= lower <= upper in the header, got upper "
            f"{upper} and lower {lower}"
        )
    position += 1

    def matrix(label: str, position: int) -> tuple[np.ndarray, int]:
        if position < len(lines) and lines[position][1].lower().rstrip(":") == label.lower():
            position += 1
        block = lines[position : position + jobs]
        if len(block) < jobs:
            last = lines[-1][0] if lines else 0
            raise InstanceFormatError(
                f"{source}:{last}: expected {jobs} lines of {label.lower()} ({machines} integers each), "
                f"found {len(block)}"
            )
        rows = []
        for job, (n, line) in enumerate(block):
            row = _ints(source, n, line, f"{machines} integers ({label.lower()} of job {job})")
            if len(row) != machines:
                raise InstanceFormatError(
                    f"{source}:{n}: expected {machines} integers ({label.lower()} of job {job}), got {len(row)}"
                )
            if label == "Machines":
                twice = _revisit(np.asarray(row))
                if twice is not None:
                    raise InstanceFormatError(
                        f"{source}:{n}: job {job} visits machine {twice} twice; Taillard's format "
                        f"has each job visit every machine once"
                    )
            rows.append(row)
        return np.asarray(rows, dtype=np.int64), position + jobs

    durations, position = matrix("Times", position)
    route, position = matrix("Machines", position)
    if position < len(lines):
        n, line = lines[position]
        raise InstanceFormatError(f"{source}:{n}: expected the end of the file, got {line[:40]!r}")
    if route.min() < 1 or route.max() > machines:
        raise InstanceFormatError(
            f"{source}: expected 1-based machine ids in 1..{machines} in the Machines matrix, "
            f"got values in {route.min()}..{route.max()}"
        )
    if durations.min() < 0:
        raise InstanceFormatError(f"{source}: expected durations >= 0 in the Times matrix, got {durations.min()}")
    if int(durations.sum(dtype=object)) > MAX_HORIZON:
        raise InstanceFormatError(
            f"{source}: the Times matrix sums to {int(durations.sum(dtype=object))}, above the "
            f"limit MAX_HORIZON = 2**30 - 1 = {MAX_HORIZON}"
        )
    return JobShopInstance(
        name=name,
        machines=route - 1,
        durations=durations,
        num_machines=machines,
        lower_bound=lower,
        upper_bound=upper,
        optimal=lower is not None and lower == upper,
        source=source,
    )


def read_instance_file(path: str | Path, fmt: str = "auto") -> JobShopInstance:
    """Read an instance file in ``"standard"`` or ``"taillard"`` format (``"auto"`` detects it:
    Taillard files have a ``Times`` line or a first data line with more than two integers)."""
    path = Path(path)
    text = path.read_text()
    if fmt == "auto":
        data = _data_lines(text)
        first = data[0][1].split() if data else []
        labelled = any(line.lower().rstrip(":") in ("times", "machines") for _, line in data)
        described = bool(first) and not first[0].lstrip("+-").isdigit()
        fmt = "taillard" if labelled or described or len(first) in (4, 6) else "standard"
    if fmt == "standard":
        return parse_standard(text, name=path.stem, source=str(path))
    if fmt == "taillard":
        return parse_taillard(text, name=path.stem, source=str(path))
    raise ValueError(f"unknown instance format {fmt!r}; expected 'auto', 'standard' or 'taillard'")


# ----------------------------------------------------------------------------- generator
def generate_instance(
    jobs: int, machines: int, rng: np.random.Generator | int | None = None, name: str | None = None
) -> JobShopInstance:
    """A Taillard-style instance: each job visits every machine once in a random order,
    durations uniform in 1..99 (numpy's generator, not Taillard's LCG)."""
    if jobs < 1 or machines < 1:
        raise ValueError(f"jobs and machines must be >= 1, got {jobs}x{machines}")
    check_memory(
        f"a generated {jobs}x{machines} job-shop instance ({OPERATION_BYTES} bytes per operation)",
        int(jobs) * int(machines) * OPERATION_BYTES,
    )
    rng = np.random.default_rng(rng)
    durations = rng.integers(1, 100, size=(jobs, machines))
    route = rng.permuted(np.tile(np.arange(machines), (jobs, 1)), axis=1)
    return JobShopInstance(
        name=name or f"random-{jobs}x{machines}", machines=route, durations=durations, num_machines=machines
    )


def _parse_random(spec: str) -> tuple[int, int, dict[str, int]] | None:
    """``random-JxM[:seed=S][,n=N]`` -> (J, M, {"seed": S, "n": N}); None if not a random spec."""
    match = _RANDOM.match(spec)
    if not match:
        return None
    jobs, machines, rest = int(match[1]), int(match[2]), match[3]
    params: dict[str, int] = {}
    for item in filter(None, (rest or "").split(",")):
        key, _, value = item.partition("=")
        if key not in ("seed", "n") or not value.strip().lstrip("-").isdigit():
            raise ValueError(
                f"bad generator spec {spec!r}: expected 'random-JxM[:seed=S][,n=N]' with integer S, N; got {item!r}"
            )
        params[key] = int(value)
    if jobs < 1 or machines < 1:
        raise ValueError(f"bad generator spec {spec!r}: jobs and machines must be >= 1")
    return jobs, machines, params


# ------------------------------------------------------------------------- shipped data
@lru_cache(maxsize=1)
def _bounds() -> dict[str, dict[str, str]]:
    with BOUNDS_CSV.open(newline="") as handle:
        return {row["instance"]: row for row in csv.DictReader(handle)}


def _family(name: str) -> str:
    return re.sub(r"\d+$", "", name)


def _natural(name: str) -> tuple[int, str, int]:
    family = _family(name)
    order = FAMILIES.index(family) if family in FAMILIES else len(FAMILIES)
    return order, family, int(name[len(family) :] or 0)


@cache
def _load_shipped(name: str) -> JobShopInstance:
    path = INSTANCE_DIR / f"{name}.txt"
    instance = parse_standard(path.read_text(), name=name, source=str(path))
    row = _bounds()[name]
    return JobShopInstance(
        name=name,
        machines=instance.machines,
        durations=instance.durations,
        num_machines=instance.num_machines,
        lower_bound=int(row["lower_bound"]),
        upper_bound=int(row["upper_bound"]),
        optimal=row["optimal"] == "1",
        source=str(path),
    )


def instance_names() -> list[str]:
    """Every shipped instance, in family order (ft, la, ta, abz, orb, swv, yn) then number."""
    return sorted(_bounds(), key=_natural)


def _unknown(kind: str, name: str, known: list[str]) -> KeyError:
    near = difflib.get_close_matches(name, known, n=5, cutoff=0.5)
    padded = re.sub(r"^([a-z]+)(\d)$", r"\g<1>0\2", name.strip().lower())
    if padded in known and padded not in near:
        near = [padded, *near[:4]]
    hint = f"did you mean {', '.join(near)}?" if near else f"known: {', '.join(known[:12])}, ..."
    return KeyError(f"unknown {kind} {name!r}; {hint}")


def load_instance(name: str | Path) -> JobShopInstance:
    """A shipped instance by name (``"ta01"``), a generated one (``"random-10x10:seed=0"``) or a
    file path (format detected). Unknown names raise `KeyError` with the near names."""
    if not isinstance(name, (str, Path)):
        raise TypeError(
            f"a job-shop instance is named by a str or a Path, got {type(name).__name__} {name!r}"
        )
    if isinstance(name, Path) or "/" in name or name.endswith(".txt"):
        return read_instance_file(name)
    key = name.strip().lower()
    if key in _bounds():
        return _load_shipped(key)
    spec = _parse_random(key)
    if spec is not None:
        jobs, machines, params = spec
        if "seed" not in params or "n" in params:
            raise ValueError(
                f"{name!r} names a generator, not one instance; load 'random-{jobs}x{machines}:seed=S'"
            )
        return generate_instance(jobs, machines, params["seed"], name=key)
    raise _unknown("job-shop instance", name, instance_names())


def list_instances(
    *,
    min_jobs: int | None = None,
    max_jobs: int | None = None,
    machines: int | None = None,
    solved: bool | None = None,
    family: str | None = None,
) -> list[str]:
    """Names of the shipped instances matching every given filter (`solved`: proven optimal)."""
    if family is not None and family not in FAMILIES:
        raise _unknown("family", family, list(FAMILIES))
    out = []
    for name in instance_names():
        row = _bounds()[name]
        jobs, mach = int(row["jobs"]), int(row["machines"])
        if min_jobs is not None and jobs < min_jobs:
            continue
        if max_jobs is not None and jobs > max_jobs:
            continue
        if machines is not None and mach != machines:
            continue
        if solved is not None and (row["optimal"] == "1") != solved:
            continue
        if family is not None and _family(name) != family:
            continue
        out.append(name)
    return out


def dataset_names() -> list[str]:
    """The named instance sets (generator specs ``random-JxM[...]`` are accepted besides)."""
    return [*FAMILIES, "all", *TAILLARD_SIZES, *LAWRENCE_SIZES]


def resolve_dataset(spec: str) -> list[str] | tuple[int, int]:
    """A dataset spec -> the list of its instance names, or (jobs, machines) for an endless
    generator (``random-JxM``: a fresh instance per episode from the env's RNG).

    ``random-JxM:seed=S`` is the one instance of that seed; ``random-JxM:seed=S,n=N`` the N
    instances of seeds S..S+N-1. A comma-separated list of instance names is a set too.
    """
    if not isinstance(spec, str):
        raise TypeError(f"a job-shop dataset is named by a str, got {type(spec).__name__} {spec!r}")
    key = spec.strip().lower()
    random_spec = _parse_random(key)
    if random_spec is not None:
        jobs, machines, params = random_spec
        if "seed" not in params and "n" not in params:
            return jobs, machines
        seed, count = params.get("seed", 0), params.get("n", 1)
        if count < 1:
            raise ValueError(f"bad generator spec {spec!r}: n must be >= 1")
        check_memory(f"{spec!r}: {count} instance names (100 bytes each)", count * 100)
        return [f"random-{jobs}x{machines}:seed={seed + i}" for i in range(count)]
    if key == "all":
        return instance_names()
    if key in FAMILIES:
        return list_instances(family=key)
    if key in TAILLARD_SIZES:
        first, last = TAILLARD_SIZES[key]
        return [f"ta{i:02d}" for i in range(first, last + 1)]
    if key in LAWRENCE_SIZES:
        first, last = LAWRENCE_SIZES[key]
        return [f"la{i:02d}" for i in range(first, last + 1)]
    if key in _bounds():
        return [key]
    if "," in key:
        names = [part.strip() for part in key.split(",") if part.strip()]
        for part in names:
            if part not in _bounds() and _parse_random(part) is None:
                raise _unknown("job-shop instance", part, instance_names())
        return names
    raise _unknown("job-shop dataset", spec, dataset_names() + instance_names())


def load_dataset(spec: str) -> list[JobShopInstance]:
    """The instances of a finite dataset spec (see `resolve_dataset`); an endless generator
    spec (``random-JxM`` without seed) raises `ValueError`."""
    names = resolve_dataset(spec)
    if isinstance(names, tuple):
        raise ValueError(
            f"{spec!r} is an endless generator; name a fixed set such as '{spec.strip()}:seed=0,n=20'"
        )
    return [load_instance(name) for name in names]
