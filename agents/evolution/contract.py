"""The evolved function's contract, checked (and cheaply repaired) before any evaluation.

A chat model's code often breaks the contract of the skeleton in ways visible from the text
alone; catching them here costs microseconds instead of a sandbox start:

- **name**: the function must be the game's (e.g. `priority`); a reply with exactly one
  function of the right arity under another name is renamed (repair `renamed`);
- **arguments**: as many required positional arguments as the seed, extra ones only with
  defaults;
- **scalar return**: when the seed returns an array (`-> np.ndarray`), no `return` at all (a
  reply cut at max tokens), or a `return` of a
  constant, of `float(...)`/`int(...)`/`len(...)`, of a whole-array reduction (`np.max(x)`,
  `x.sum()` without `axis`), of a scalar argument (`item: float`) or of arithmetic on these
  only (`np.max(bins) - item`) cannot be right;
- **helpers**: top-level imports, constants and helper functions of the reply are moved into the
  function's body (repair `inlined`), since only the function is kept (`from m import *`,
  legal only at module level, is dropped);
- **in-place mutation**: an array argument assigned into (`bins[i] = ...`, `bins -= item`,
  `bins.sort()`) is copied first (repair `copied`), so the caller's array is never changed.

`check_contract(code, seed, name)` returns a `Contract` (the function's normalised source and
the repairs made) or raises `ContractError` whose `kind` (`wrong_name`, `wrong_arguments`,
`no_return`, `scalar_return`, `syntax`) counts the failure.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

SCALAR_CALLS = frozenset({"float", "int", "bool", "len", "round", "sum", "max", "min", "abs"})
REDUCTIONS = frozenset({"max", "min", "sum", "mean", "median", "std", "var", "prod", "argmax",
                        "argmin", "amax", "amin", "average", "count_nonzero", "any", "all"})
MUTATING_METHODS = frozenset({"sort", "fill", "resize", "put", "itemset", "partition"})


class ContractError(ValueError):
    """The function breaks the skeleton's contract; `kind` names how."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Contract:
    """A function that keeps the contract: its source and the repairs that made it so."""

    source: str
    repairs: tuple[str, ...] = ()


def _required_positional(node: ast.FunctionDef) -> int:
    positional = node.args.posonlyargs + node.args.args
    return len(positional) - len(node.args.defaults)


def _annotation(node: ast.expr | None) -> str:
    return ast.unparse(node) if node is not None else ""


def _is_array(annotation: str) -> bool:
    return "ndarray" in annotation or "NDArray" in annotation


def _own_returns(node: ast.FunctionDef) -> list[ast.Return]:
    """The `return` statements of `node` itself (not of nested functions or lambdas)."""
    found: list[ast.Return] = []

    def walk(body: list[ast.stmt]) -> None:
        for statement in body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            if isinstance(statement, ast.Return):
                found.append(statement)
            for field in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(statement, field, None)
                if isinstance(inner, list):
                    walk([s for s in inner if isinstance(s, ast.stmt)] +
                         [s for h in inner if isinstance(h, ast.ExceptHandler) for s in h.body])
            if isinstance(statement, ast.Match):
                for case in statement.cases:
                    walk(case.body)

    walk(node.body)
    return found


def _scalar_return(value: ast.expr | None, scalar_args: set[str]) -> str | None:
    """Why `return value` is certainly a scalar (None when it may be an array)."""
    if value is None:
        return "a bare `return` (None)"
    if isinstance(value, ast.Constant):
        return f"the constant {value.value!r}"
    if isinstance(value, ast.Name) and value.id in scalar_args:
        return f"the scalar argument {value.id!r}"
    if isinstance(value, ast.Call):
        func = value.func
        has_axis = any(k.arg in ("axis", "keepdims") for k in value.keywords)
        if isinstance(func, ast.Name) and func.id in SCALAR_CALLS and (
                func.id not in ("max", "min") or len(value.args) == 1):  # max(a, b): may be arrays
            return f"`{func.id}(...)`"
        if isinstance(func, ast.Attribute) and func.attr in REDUCTIONS and not has_axis:
            owner = func.value
            if isinstance(owner, ast.Name) and owner.id in ("np", "numpy"):
                return f"`np.{func.attr}(...)` without an axis" if len(value.args) <= 1 else None
            if not value.args:  # x.sum(), x.max(): a whole-array reduction
                return f"`.{func.attr}()` without an axis"
    if isinstance(value, ast.UnaryOp):
        return _scalar_return(value.operand, scalar_args)
    if isinstance(value, ast.BinOp):  # np.max(bins) - item: scalar op scalar
        left = _scalar_return(value.left, scalar_args)
        right = _scalar_return(value.right, scalar_args)
        if left is not None and right is not None:
            return f"`{ast.unparse(value)}` (scalar operands only)"
    return None


def _mutated_arrays(node: ast.FunctionDef, arrays: set[str]) -> list[str]:
    """Array arguments that `node` changes in place (in order of first change)."""
    changed: list[str] = []

    def note(name: str) -> None:
        if name in arrays and name not in changed:
            changed.append(name)

    for sub in ast.walk(node):
        targets: list[ast.expr] = []
        if isinstance(sub, ast.Assign):
            targets = sub.targets
        elif isinstance(sub, (ast.AugAssign, ast.AnnAssign)):
            targets = [sub.target]
            if isinstance(sub, ast.AugAssign) and isinstance(sub.target, ast.Name):
                note(sub.target.id)  # bins -= item changes an ndarray in place
        for target in targets:
            for part in ast.walk(target):
                if isinstance(part, ast.Subscript) and isinstance(part.value, ast.Name):
                    note(part.value.id)
        if (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute)
                and sub.func.attr in MUTATING_METHODS and isinstance(sub.func.value, ast.Name)):
            note(sub.func.value.id)
    return changed


def check_contract(code: str, seed: str, name: str) -> Contract:
    """Check the reply's `code` against the `seed` function's contract (module docstring)."""
    try:
        module = ast.parse(code)
        seed_node = next(n for n in ast.parse(seed).body if isinstance(n, ast.FunctionDef))
    except (SyntaxError, ValueError, RecursionError, MemoryError, SystemError) as error:
        raise ContractError("syntax", f"cannot parse: {type(error).__name__}: {error}") from None
    repairs: list[str] = []
    functions = [n for n in module.body if isinstance(n, ast.FunctionDef)]
    arity = _required_positional(seed_node)
    main = next((n for n in reversed(functions) if n.name == name), None)
    if main is None:
        fitting = [n for n in functions if _required_positional(n) == arity]
        if len(fitting) != 1:
            found = ", ".join(n.name for n in functions) or "none"
            raise ContractError("wrong_name", f"no function named {name!r} (found: {found})")
        main = fitting[0]
        repairs.append("renamed")
        old = main.name
        main.name = name
        for sub in ast.walk(module):
            if isinstance(sub, ast.Name) and sub.id == old:
                sub.id = name
    if _required_positional(main) != arity or main.args.vararg or any(
            d is None for d in main.args.kw_defaults):
        wanted = ", ".join(a.arg for a in seed_node.args.args)
        got = ast.unparse(main.args)
        raise ContractError("wrong_arguments", f"{name}({got}): expected the arguments ({wanted})")
    if _is_array(_annotation(seed_node.returns)):
        scalar_args = {a.arg for a, s in zip(main.args.args, seed_node.args.args, strict=False)
                       if _annotation(s.annotation) in ("float", "int")}
        returns = _own_returns(main)
        if not returns:  # often a reply cut at max tokens: the function falls off its end
            raise ContractError("no_return", f"{name} has no return statement; it must return "
                                "an array with one entry per option")
        for statement in returns:
            why = _scalar_return(statement.value, scalar_args)
            if why is not None:
                raise ContractError("scalar_return", f"line {statement.lineno}: returns {why}; "
                                    f"{name} must return an array with one entry per option")
    # Strip the docstring, move the reply's other top-level code into the function.
    body = main.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:] or [ast.Pass()]
    moved = [n for n in module.body if n is not main and isinstance(
        n, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.Assign, ast.AnnAssign))
        and not (isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names))]
    # (`from m import *` is legal only at module level: dropped, as numpy is there as np.)
    if moved:
        repairs.append("inlined")
    arrays = {a.arg for a, s in zip(main.args.args, seed_node.args.args, strict=False)
              if _is_array(_annotation(s.annotation))}
    copies = [ast.parse(f"{arg} = {arg}.copy()").body[0] for arg in _mutated_arrays(main, arrays)]
    if copies:
        repairs.append("copied")
    main.body = moved + copies + body
    main.decorator_list = []
    return Contract(ast.unparse(ast.fix_missing_locations(main)), tuple(repairs))
