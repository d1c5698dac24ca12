"""Static check of a candidate before it runs: an AST allow-list.

This is the first of the sandbox's layers (the others are process isolation, rlimits, no
network, a scrubbed environment and a runtime audit hook, see `sandbox` and `_child`). It
rejects what a heuristic never needs: imports outside `ALLOWED_MODULES`, dunder attributes
(the classic `().__class__.__subclasses__()` escape), builtins that reach the interpreter or the
file system, and calls to earlier versions (`priority_v0`..), which do not exist at run time.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

ALLOWED_MODULES = frozenset(
    {"numpy", "math", "itertools", "functools", "collections", "heapq", "bisect", "statistics",
     "operator", "random", "typing", "dataclasses"}
)
FORBIDDEN_NAMES = frozenset(
    {"open", "exec", "eval", "compile", "__import__", "globals", "locals", "vars", "getattr",
     "setattr", "delattr", "input", "breakpoint", "help", "exit", "quit", "memoryview",
     "__builtins__", "__loader__", "__spec__", "object", "type", "super", "classmethod",
     "staticmethod", "property", "os", "sys", "subprocess", "socket", "shutil", "ctypes",
     "importlib", "builtins", "pathlib", "signal", "resource", "multiprocessing", "threading"}
)
# numpy entry points that reach files, the shell or foreign code.
FORBIDDEN_ATTRIBUTES = frozenset(
    {"load", "loads", "save", "savez", "savez_compressed", "savetxt", "loadtxt", "genfromtxt",
     "fromfile", "tofile", "memmap", "ctypeslib", "ctypes", "DataSource", "lib", "f2py",
     "testing", "distutils", "system", "popen", "environ", "getenv", "open", "dump", "dumps",
     "frombuffer", "from_dlpack", "show_config", "show_runtime", "info"}
)
_VERSION = re.compile(r"^\w+_v\d+$")  # priority_v0, ...: earlier versions shown in the prompt


@dataclass(frozen=True)
class Rejection:
    """Why a candidate was rejected, with the line."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"rejected (line {self.line}): {self.reason}"


def check_source(source: str, function_name: str) -> Rejection | None:
    """Return the first reason to reject `source`, or None when it passes."""
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        return Rejection(error.lineno or 0, f"syntax error: {error.msg}")
    defined = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
    if function_name not in defined:
        return Rejection(1, f"no function named {function_name!r} (found {defined or 'none'})")
    bound = set(defined) | {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
                            and isinstance(n.ctx, ast.Store)} | {
        a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments)
        for a in (*n.posonlyargs, *n.args, *n.kwonlyargs)} | {
        n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] not in ALLOWED_MODULES:
                    return Rejection(line, f"import of {alias.name!r} is not allowed "
                                           f"(allowed: {', '.join(sorted(ALLOWED_MODULES))})")
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level or module.split(".")[0] not in ALLOWED_MODULES:
                return Rejection(line, f"import from {module!r} is not allowed "
                                       f"(allowed: {', '.join(sorted(ALLOWED_MODULES))})")
            for alias in node.names:
                if alias.name in FORBIDDEN_ATTRIBUTES or alias.name.startswith("_"):
                    return Rejection(line, f"import of {module}.{alias.name} is not allowed")
        elif isinstance(node, ast.Name):
            if node.id in FORBIDDEN_NAMES:
                return Rejection(line, f"use of {node.id!r} is not allowed")
            if node.id.startswith("__"):
                return Rejection(line, f"dunder name {node.id!r} is not allowed")
            if _VERSION.match(node.id) and node.id not in bound:
                return Rejection(line, f"call to earlier version {node.id!r} is not allowed")
        elif isinstance(node, ast.Attribute):
            if node.attr.startswith("_"):
                return Rejection(line, f"private attribute {node.attr!r} is not allowed")
            if node.attr in FORBIDDEN_ATTRIBUTES:
                return Rejection(line, f"attribute {node.attr!r} is not allowed")
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            return Rejection(line, "global/nonlocal statements are not allowed")
        elif isinstance(node, (ast.AsyncFunctionDef, ast.Await, ast.Yield, ast.YieldFrom)):
            return Rejection(line, "generators and coroutines are not allowed")
        elif isinstance(node, ast.ClassDef):
            return Rejection(line, "class definitions are not allowed")
    return None
