"""Program text: parse a function, normalise it, rename versions, trim an LLM completion.

FunSearch evolves one function of a skeleton program. Every candidate is kept as the source
of that single function (named after the game's function, e.g. `priority`); the skeleton's
other parts are fixed and live in the game's specification.
"""

from __future__ import annotations

import ast
import hashlib
import textwrap


class ProgramError(ValueError):
    """A candidate's text is not one valid function definition (message says why)."""


def function_node(source: str, name: str | None = None) -> ast.FunctionDef:
    """Parse `source` and return its function `name` (or its only/last function)."""
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise ProgramError(f"syntax error at line {error.lineno}: {error.msg}") from None
    except (ValueError, RecursionError, MemoryError, SystemError) as error:
        # Null bytes (ValueError on 3.11), nesting too deep for the parser, or CPython 3.11's
        # "AST constructor recursion depth mismatch" after such an error: not a program we run.
        raise ProgramError(f"cannot parse: {type(error).__name__}: {error}") from None
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    if name is not None:
        functions = [node for node in functions if node.name == name]
    if not functions:
        wanted = f"function {name!r}" if name else "a function"
        raise ProgramError(f"expected {wanted} definition, found none")
    return functions[-1]


def function_source(source: str, name: str | None = None) -> str:
    """The text of function `name` (see `function_node`) as written in `source`, after blank
    lines that keep its line numbers: an error the sandbox reports names the file's line."""
    node = function_node(source, name)
    start = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
    lines = source.splitlines()[start - 1:node.end_lineno]
    return "\n" * (start - 1) + "\n".join(lines) + "\n"


def docstring(source: str) -> str | None:
    """The docstring of the function in `source` (None when it has none)."""
    return ast.get_docstring(function_node(source), clean=False)


def _strip_docstring(node: ast.FunctionDef) -> ast.FunctionDef:
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        if isinstance(body[0].value.value, str):
            body = body[1:] or [ast.Pass()]
    node.body = body
    return node


def normalise(source: str, name: str = "priority") -> str:
    """Canonical text of a function: unparsed AST, no docstring or comments, fixed name.

    Two candidates with the same normalised text are the same program (deduplication key).
    """
    node = _strip_docstring(function_node(source))
    node.name = name
    return ast.unparse(node)


def source_hash(source: str, name: str = "priority") -> str:
    """Short stable hash of the normalised source."""
    return hashlib.sha256(normalise(source, name).encode()).hexdigest()[:16]


class _Renamer(ast.NodeTransformer):
    def __init__(self, mapping: dict[str, str]):
        self.mapping = mapping

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in self.mapping:
            node.id = self.mapping[node.id]
        return node


def rename_function(source: str, new_name: str, *, docstring: str | None = None) -> str:
    """Return the function in `source` renamed `new_name` (calls to itself renamed too)."""
    node = function_node(source)
    old = node.name
    node = _Renamer({old: new_name}).visit(node)
    node.name = new_name
    if docstring is not None:
        node = _strip_docstring(node)
        node.body.insert(0, ast.Expr(ast.Constant(docstring)))
    return ast.unparse(ast.fix_missing_locations(node))


def header(source: str, new_name: str, docstring: str) -> str:
    """The signature of the function in `source`, renamed, with a docstring: the prompt's end."""
    node = function_node(source)
    node.name = new_name
    node.body = [ast.Pass()]
    text = ast.unparse(node)
    signature = text.rsplit("\n", 1)[0]
    return f'{signature}\n    """{docstring}"""\n'


def trim_completion(header_text: str, completion: str, name: str) -> str:
    """Turn an LLM completion of `header_text` into a full function named `name`.

    As in FunSearch: the completion continues the function body; keep the longest prefix that
    parses, and stop at the first top-level statement after the function (the model often starts
    another function). A completion that already restates the `def` line is accepted too.
    """
    text = completion.replace("\t", "    ")
    stripped = text.lstrip("\n")
    if stripped.startswith("def "):
        program = stripped
    else:
        if text and not text.startswith((" ", "\n")):
            text = "    " + text
        program = header_text + text
    lines = program.split("\n")
    # Cut at the first non-indented line after the def line.
    for index in range(1, len(lines)):
        line = lines[index]
        if line and not line[0].isspace() and not line.startswith("#"):
            lines = lines[:index]
            break
    # Drop trailing lines until it parses (a completion cut at max tokens ends mid-statement).
    while len(lines) > 1:
        candidate = "\n".join(lines)
        try:
            node = function_node(candidate)
        except ProgramError:
            lines = lines[:-1]
            continue
        node.name = name
        node = _strip_docstring(node)  # the prompt's "Improved version of ..." line
        if len(node.body) == 1 and isinstance(node.body[0], ast.Pass):
            raise ProgramError("completion has an empty function body")
        return ast.unparse(node)
    raise ProgramError("completion does not parse as a function body")


def dedent_function(source: str) -> str:
    """Dedent a function given with leading indentation."""
    return textwrap.dedent(source).strip() + "\n"
