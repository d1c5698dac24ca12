"""Constant tuning: the LLM proposes a family of programs, a cheap optimiser picks the member.

As in X-evolve and LLM-SR, the numeric literals of a valid program are its parameters:
`literals(source)` finds the tunable ones (ast), `substitute(source, values)` writes new values
in, and `tune_program` searches them with optuna (TPE, or CMA-ES when `cmaes` is installed) on
the training split, every trial a sandboxed evaluation submitted by the caller. The tuned
program is returned only when it beats the original on train; the number of trials is
returned either way, for the run's compute accounting.

Tunable: float literals anywhere except indices and slices, keyword arguments (`axis=1`) and
shape/size arguments (`np.zeros(3)`, `range(5)`); int literals only as operands of arithmetic
or comparisons (`x ** 2`, `bins > 3`), tuned as ints. Booleans never. A float `v` ranges over
[v / scale, v * scale] on a log scale (mirrored when negative, [-1, 1] for 0.0); an int `k`
over [k - max(2, |k|), k + max(2, |k|)].
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace

from discoverygym.agents.evolution.sandbox import EvalResult

SIZE_CALLS = frozenset({"range", "len", "round", "reshape", "zeros", "ones", "empty", "full",
                        "arange", "linspace", "eye", "identity", "tile", "repeat", "choice",
                        "randint", "integers", "partition", "argpartition", "roll", "shape",
                        "int", "isclose", "allclose"})
ARITHMETIC = (ast.BinOp, ast.Compare, ast.UnaryOp)


@dataclass(frozen=True)
class TuneConfig:
    """Trials per tuned program, the most literals tuned, the optimiser and the search range."""

    trials: int = 12
    max_params: int = 6
    sampler: str = "tpe"  # "tpe" or "cmaes"
    scale: float = 4.0
    # Tune int literals of arithmetic (`x / 2`) as floats on the same log range as a float:
    # for a finished program (`discoverygym tune --floats`), where `/ 2` may as well be `/ 2.3`.
    ints_as_floats: bool = False

    def __post_init__(self) -> None:
        if self.trials < 1 or self.max_params < 1 or self.scale <= 1:
            raise ValueError(f"tuning needs trials >= 1, max_params >= 1 and scale > 1: {self}")
        if self.sampler not in ("tpe", "cmaes"):
            raise ValueError(f"unknown tuning sampler {self.sampler!r}; known: tpe, cmaes")


@dataclass(frozen=True)
class Literal:
    """One tunable literal: its value, whether it is an int, and its position in the source."""

    value: float
    is_int: bool
    position: tuple[int, int]  # (line, column) of the constant (of its minus sign if negative)


@dataclass
class TuneOutcome:
    """What tuning found: the better program (None when no trial beat the original)."""

    source: str | None
    result: EvalResult | None
    params: dict[str, float]
    trials: int
    eval_seconds: float
    best_trial_score: float | None


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _tunable_nodes(tree: ast.AST) -> list[ast.expr]:
    """The tunable constant nodes of `tree` in source order (a negative one as its UnaryOp)."""
    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    found: list[ast.expr] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or isinstance(node.value, bool) \
                or not isinstance(node.value, (int, float)):
            continue
        target: ast.expr = node
        parent = parents.get(node)
        if isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.USub):
            target, parent = parent, parents.get(parent)
        excluded = False
        child: ast.AST = target
        up = parent
        while up is not None:  # inside an index, a keyword or a size argument: not tunable
            if isinstance(up, ast.Subscript) and child is up.slice or isinstance(up, (ast.keyword, ast.Slice)):
                excluded = True
                break
            if isinstance(up, ast.Call) and child in up.args and _call_name(up) in SIZE_CALLS:
                excluded = True
                break
            if isinstance(up, (ast.stmt, ast.Lambda)):
                break
            child, up = up, parents.get(up)
        if excluded:
            continue
        if isinstance(node.value, int) and not isinstance(parent, ARITHMETIC):
            continue
        found.append(target)
    return sorted(found, key=lambda n: (n.lineno, n.col_offset))


def _value(node: ast.expr) -> float:
    if isinstance(node, ast.UnaryOp):
        return -node.operand.value  # type: ignore[attr-defined]
    return node.value  # type: ignore[attr-defined]


def literals(source: str, max_params: int | None = None) -> list[Literal]:
    """The tunable literals of `source` in source order (floats first when capped)."""
    nodes = _tunable_nodes(ast.parse(source))
    found = [Literal(_value(n), isinstance(_value(n), int), (n.lineno, n.col_offset)) for n in nodes]
    if max_params is not None and len(found) > max_params:
        keep = sorted(found, key=lambda lit: (lit.is_int, lit.position))[:max_params]
        found = sorted(keep, key=lambda lit: lit.position)
    return found


def substitute(source: str, values: dict[tuple[int, int], float]) -> str:
    """`source` with the literals at the given positions replaced by `values` (ast.unparse)."""
    tree = ast.parse(source)
    replaced = 0

    class Writer(ast.NodeTransformer):
        def visit(self, node: ast.AST) -> ast.AST:
            nonlocal replaced
            position = (getattr(node, "lineno", None), getattr(node, "col_offset", None))
            if isinstance(node, (ast.Constant, ast.UnaryOp)) and position in values \
                    and node in tunable:
                replaced += 1
                value = values[position]  # type: ignore[index]
                constant = ast.Constant(abs(value))
                return ast.copy_location(
                    ast.UnaryOp(ast.USub(), constant) if value < 0 else constant, node)
            return self.generic_visit(node)

    tunable = set(_tunable_nodes(tree))
    tree = Writer().visit(tree)
    if replaced != len(values):
        raise ValueError(f"substitute: {len(values) - replaced} of the positions "
                         f"{sorted(values)} hold no tunable literal")
    return ast.unparse(ast.fix_missing_locations(tree))


def _suggest(trial, index: int, literal: Literal, scale: float) -> float:
    name = f"p{index}"
    v = literal.value
    if literal.is_int:
        width = max(2, abs(int(v)))
        return trial.suggest_int(name, int(v) - width, int(v) + width)
    if v == 0:
        return trial.suggest_float(name, -1.0, 1.0)
    magnitude = trial.suggest_float(name, abs(v) / scale, abs(v) * scale, log=True)
    return magnitude if v > 0 else -magnitude


def _sampler(config: TuneConfig, seed: int):
    import optuna

    if config.sampler == "cmaes":
        try:
            import cmaes  # noqa: F401
        except ImportError as error:
            raise ImportError("--tune-sampler cmaes needs the cmaes package: "
                              "pip install cmaes") from error
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    return optuna.samplers.TPESampler(seed=seed, multivariate=True,
                                      n_startup_trials=max(2, config.trials // 3))


def tune_program(source: str, score: float, submit: Callable[[str], Future],
                 config: TuneConfig, seed: int = 0, parallel: int = 1,
                 on_trial: Callable[[int, float | None], None] | None = None) -> TuneOutcome:
    """Tune the literals of `source` (train score `score`) with `config.trials` evaluations.

    `submit(source)` starts one sandboxed training evaluation and returns a Future of its
    `EvalResult`; `parallel` trials run at a time. A program without tunable literals spends
    no trial. `on_trial(number, score)` is called after each trial (score None: it failed).
    """
    import optuna
    from optuna.trial import TrialState

    try:
        found = literals(source, config.max_params)
    except (SyntaxError, ValueError, RecursionError, MemoryError, SystemError):
        found = []  # a program CPython 3.11 fails to re-parse (see database._renders): untuned
    if config.ints_as_floats:
        found = [replace(lit, value=float(lit.value), is_int=False) for lit in found]
    if not found:
        return TuneOutcome(None, None, {}, 0, 0.0, None)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=_sampler(config, seed))
    best: tuple[float, str, EvalResult, dict[str, float]] | None = None
    done, seconds = 0, 0.0
    while done < config.trials:
        batch = []
        for _ in range(min(max(1, parallel), config.trials - done)):
            trial = study.ask()
            values = {lit.position: _suggest(trial, i, lit, config.scale) for i, lit in enumerate(found)}
            candidate = substitute(source, values)
            batch.append((trial, candidate, submit(candidate)))
        for trial, candidate, future in batch:
            try:
                result = future.result()
            except Exception as error:  # noqa: BLE001 - an executor failure is a failed trial
                result = EvalResult(False, error=f"executor: {type(error).__name__}: {error}")
            seconds += result.seconds
            done += 1
            if on_trial is not None:
                on_trial(done, result.score if result.ok else None)
            if not result.ok or result.score is None:
                study.tell(trial, state=TrialState.FAIL)
                continue
            study.tell(trial, result.score)
            if best is None or result.score > best[0]:
                best = (result.score, candidate, result, dict(trial.params))
    if best is None or best[0] <= score:
        return TuneOutcome(None, None, {}, done, seconds, None if best is None else best[0])
    return TuneOutcome(best[1], best[2], best[3], done, seconds, best[0])
