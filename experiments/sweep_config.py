"""W&B sweep YAML: parsing, validation and expansion of a trial's command line.

The files in `experiments/configs/sweep_*.yaml` are W&B sweep configurations, so the same file
runs on a W&B server (`wandb sweep FILE` then `wandb agent ID`) and through our local or Ray
executors. This module reads the subset of the format those executors support:

- `method`: `grid`, `random` or `bayes`;
- `metric`: `{name, goal: minimize|maximize}`;
- `parameters`: each either `value`, `values` (with optional `probabilities`), or a range with
  `min`/`max` and a `distribution` among `int_uniform`, `uniform`, `q_uniform`,
  `log_uniform_values`, `q_log_uniform_values`, `log_uniform` (bounds as natural logarithms);
  without `distribution` the range is `int_uniform` when both bounds are integers, else `uniform`
  (W&B's inference rule);
- `command` with the macros `${env}`, `${interpreter}`, `${program}`, `${args}`,
  `${args_no_hyphens}`, `${args_no_boolean_flags}` and `${args_json}`; `program`; `run_cap`;
  `name`, `project`, `entity`, `description` (kept as they are).

Anything else raises `SweepConfigError` naming the file, the key and the offending value.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

METHODS = ("grid", "random", "bayes")
GOALS = ("minimize", "maximize")
DISTRIBUTIONS = (
    "constant",
    "categorical",
    "int_uniform",
    "uniform",
    "q_uniform",
    "log_uniform_values",
    "q_log_uniform_values",
    "log_uniform",
)
DEFAULT_COMMAND = ("${env}", "${interpreter}", "${program}", "${args}")
KNOWN_KEYS = {
    "method", "metric", "parameters", "command", "program", "run_cap", "name", "project",
    "entity", "description", "early_terminate",
}


class SweepConfigError(ValueError):
    """A sweep file that our executors cannot run, with the file, key and value at fault."""


@dataclass(frozen=True)
class Parameter:
    """One swept parameter."""

    name: str
    distribution: str
    values: tuple[Any, ...] = ()
    probabilities: tuple[float, ...] | None = None
    low: float | None = None
    high: float | None = None
    q: float | None = None

    @property
    def is_int(self) -> bool:
        return self.distribution == "int_uniform"

    @property
    def is_log(self) -> bool:
        return self.distribution in ("log_uniform_values", "q_log_uniform_values", "log_uniform")

    def grid_values(self) -> tuple[Any, ...]:
        """The values a grid search visits (W&B allows values, constants and int ranges)."""
        if self.distribution in ("constant", "categorical"):
            return self.values
        if self.distribution == "int_uniform":
            return tuple(range(int(self.low), int(self.high) + 1))
        raise SweepConfigError(
            f"parameter {self.name!r}: grid search needs `values`, `value` or an int_uniform range,"
            f" not distribution {self.distribution!r}"
        )


@dataclass(frozen=True)
class SweepConfig:
    """A parsed sweep file."""

    path: Path
    method: str
    metric: str
    goal: str
    parameters: tuple[Parameter, ...]
    command: tuple[str, ...] = DEFAULT_COMMAND
    program: str | None = None
    run_cap: int | None = None
    name: str = "sweep"
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def direction(self) -> str:
        return "minimize" if self.goal == "minimize" else "maximize"


def _error(path: Path, key: str, message: str) -> SweepConfigError:
    return SweepConfigError(f"{path}: {key}: {message}")


def _parameter(path: Path, name: str, spec: Any) -> Parameter:
    key = f"parameters.{name}"
    if not isinstance(spec, dict):
        raise _error(path, key, f"expected a mapping with value/values/min/max, got {spec!r}")
    if "parameters" in spec:
        raise _error(path, key, "nested parameters are not supported by the local executor; flatten them")
    distribution = spec.get("distribution")
    if distribution is not None and distribution not in DISTRIBUTIONS:
        raise _error(path, f"{key}.distribution", f"unsupported {distribution!r}; supported: {', '.join(DISTRIBUTIONS)}")
    if "value" in spec:
        return Parameter(name, "constant", values=(spec["value"],))
    if "values" in spec:
        values = spec["values"]
        if not isinstance(values, list) or not values:
            raise _error(path, f"{key}.values", f"expected a non-empty list, got {values!r}")
        probabilities = spec.get("probabilities")
        if probabilities is not None:
            if len(probabilities) != len(values) or not math.isclose(sum(probabilities), 1.0, abs_tol=1e-6):
                raise _error(path, f"{key}.probabilities", f"need {len(values)} numbers summing to 1, got {probabilities!r}")
            probabilities = tuple(float(p) for p in probabilities)
        return Parameter(name, "categorical", values=tuple(values), probabilities=probabilities)
    if "min" not in spec or "max" not in spec:
        raise _error(path, key, f"expected `value`, `values` or both `min` and `max`, got keys {sorted(spec)}")
    low, high = spec["min"], spec["max"]
    for bound_name, bound in (("min", low), ("max", high)):
        if isinstance(bound, bool) or not isinstance(bound, (int, float)):
            raise _error(path, f"{key}.{bound_name}", f"expected a number, got {bound!r}")
    if low >= high:
        raise _error(path, key, f"min ({low!r}) must be below max ({high!r})")
    if distribution is None:
        distribution = "int_uniform" if isinstance(low, int) and isinstance(high, int) else "uniform"
    if distribution in ("log_uniform_values", "q_log_uniform_values") and low <= 0:
        raise _error(path, f"{key}.min", f"{distribution} needs min > 0, got {low!r}")
    q = spec.get("q")
    if distribution.startswith("q_"):
        q = float(q if q is not None else 1.0)
        if q <= 0:
            raise _error(path, f"{key}.q", f"expected q > 0, got {q!r}")
    return Parameter(name, distribution, low=float(low), high=float(high), q=q)


def load_sweep_config(path: str | Path) -> SweepConfig:
    """Read and validate a W&B sweep YAML file."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise SweepConfigError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise SweepConfigError(f"{path}: expected a mapping at the top level, got {type(raw).__name__}")
    unknown = sorted(set(raw) - KNOWN_KEYS)
    if unknown:
        raise _error(path, unknown[0], f"unknown key; known keys: {', '.join(sorted(KNOWN_KEYS))}")
    method = raw.get("method")
    if method not in METHODS:
        raise _error(path, "method", f"expected one of {', '.join(METHODS)}, got {method!r}")
    metric = raw.get("metric")
    if not isinstance(metric, dict) or not isinstance(metric.get("name"), str):
        raise _error(path, "metric", f"expected {{name: ..., goal: minimize|maximize}}, got {metric!r}")
    goal = metric.get("goal", "minimize")
    if goal not in GOALS:
        raise _error(path, "metric.goal", f"expected minimize or maximize, got {goal!r}")
    parameters = raw.get("parameters")
    if not isinstance(parameters, dict) or not parameters:
        raise _error(path, "parameters", f"expected a non-empty mapping, got {parameters!r}")
    command = raw.get("command", list(DEFAULT_COMMAND))
    if not isinstance(command, list) or not all(isinstance(c, str) for c in command):
        raise _error(path, "command", f"expected a list of strings, got {command!r}")
    if "${program}" in command and "program" not in raw:
        raise _error(path, "program", "the command uses ${program} but no program is given")
    run_cap = raw.get("run_cap")
    if run_cap is not None and (not isinstance(run_cap, int) or run_cap <= 0):
        raise _error(path, "run_cap", f"expected a positive integer, got {run_cap!r}")
    params = tuple(_parameter(path, name, spec) for name, spec in parameters.items())
    config = SweepConfig(
        path=path,
        method=method,
        metric=metric["name"],
        goal=goal,
        parameters=params,
        command=tuple(command),
        program=raw.get("program"),
        run_cap=run_cap,
        name=str(raw.get("name") or path.stem),
        raw=raw,
    )
    if method == "grid":
        for p in params:
            try:
                p.grid_values()
            except SweepConfigError as error:
                raise _error(path, f"parameters.{p.name}", str(error)) from None
    return config


def _format_value(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)


def expand_command(config: SweepConfig, params: dict[str, Any]) -> list[str]:
    """The command line of one trial, macros expanded as `wandb agent` does."""
    args = [f"--{k}={_format_value(v)}" for k, v in params.items()]
    expanded: list[str] = []
    for token in config.command:
        if token == "${env}":
            continue  # `/usr/bin/env`: the local executor passes the environment directly
        if token == "${interpreter}":
            expanded.append(sys.executable)
        elif token == "${program}":
            expanded.append(str(config.program))
        elif token == "${args}":
            expanded += args
        elif token == "${args_no_hyphens}":
            expanded += [a[2:] for a in args]
        elif token == "${args_no_boolean_flags}":
            expanded += [
                f"--{k}" if v is True else f"--{k}={_format_value(v)}"
                for k, v in params.items()
                if v is not False
            ]
        elif token == "${args_json}":
            expanded.append(json.dumps(params))
        else:
            expanded.append(token)
    return expanded
