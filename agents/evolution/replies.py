"""Chat replies -> (idea, function source): the parsing half of a chat-mode search.

An instruct model asked for "an idea in braces, then the code" answers in many shapes: a
fenced block (```python, ```py, bare ```), several blocks (the function, then an example
call), no fence at all, the idea in braces, in double braces, in a sentence before the code or
missing, chatter before and after. `parse_reply` takes what a careful reader would:

- the code: the first fenced block that defines the wanted function (else the first block with
  any `def`); without fences, the text from the first line starting `def <name>(` (else the
  first `def`) to the last line that still parses;
- the idea: the first `{...}` outside code (one level of `{{...}}` unwrapped), else the prose
  before the code (first sentence); None when there is none.

Failures raise `ReplyError` whose `kind` counts them: `no_code` (nothing that looks like a
function), `syntax` (a function that never parses). The contract of the function (name,
arguments, return shape) is `contract.py`'s job.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)
MAX_IDEA_CHARS = 600


class ReplyError(ValueError):
    """A reply holds no usable function; `kind` names the failure for the run's counters."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Reply:
    """A parsed reply: the idea (None when absent) and the module text holding the function."""

    idea: str | None
    code: str


def _blocks(text: str) -> list[tuple[int, int, str]]:
    """Fenced blocks as (start, end, body); an unclosed last fence runs to the end."""
    return [(m.start(), m.end(), m.group(2)) for m in FENCE.finditer(text)]


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError, SystemError):
        return False
    return True


def _longest_parsing_prefix(lines: list[str]) -> str | None:
    """The longest prefix of `lines` (at least the `def` line and one more) that parses."""
    for end in range(len(lines), 1, -1):
        candidate = "\n".join(lines[:end])
        if _parses(candidate):
            return candidate
    return None


def _unfenced_code(text: str, name: str) -> str | None:
    """Code from the first `def name(` (else any `def`) line of a reply without fences."""
    lines = text.replace("\t", "    ").split("\n")
    starts = [i for i, line in enumerate(lines) if re.match(rf"\s*def\s+{re.escape(name)}\s*\(", line)]
    starts = starts or [i for i, line in enumerate(lines) if re.match(r"\s*def\s+\w+\s*\(", line)]
    if not starts:
        return None
    start = first = starts[0]
    # Keep imports written just above the function (the contract moves them into it).
    while start > 0 and re.match(r"\s*(import|from)\s+\w", lines[start - 1]):
        start -= 1
    indent = len(lines[first]) - len(lines[first].lstrip())
    body = [line[indent:] if not line[:indent].strip() else line for line in lines[start:]]
    # Stop at prose: the first non-indented line after the def that is not code.
    cut, seen_def = len(body), False
    for index, line in enumerate(body):
        if re.match(r"def\s", line):
            seen_def = True
        elif seen_def and line and not line[0].isspace() and not re.match(r"(def|import|from|@|#)", line):
            cut = index
            break
    return _longest_parsing_prefix(body[:cut])


def _idea(text: str, spans: list[tuple[int, int]]) -> str | None:
    """The first braced idea outside the code spans, else the first sentence of the prose."""
    outside = text
    for start, end in sorted(spans, reverse=True):
        outside = outside[:start] + "\n" + outside[end:]
    match = re.search(r"\{\{?([^{}]+?)\}\}?", outside, re.DOTALL)
    if match:
        idea = match.group(1)
    else:
        prose = outside.split("def ", 1)[0]
        prose = re.sub(r"(?im)^\s*(here is|here's|sure|certainly|okay)\b[^\n]*$", "", prose)
        prose = re.sub(r"(?m)^\s*(\d+[.)]|[-*#]+)\s+", "", prose)  # list markers, headings
        sentences = [s for s in re.split(r"(?<=[.!?])\s+|\n", prose) if len(s.split()) >= 4]
        idea = sentences[0] if sentences else None
    if idea is None:
        return None
    idea = " ".join(idea.replace("`", "").replace("**", "").split()).strip(" :*#-")
    idea = re.sub(r"(?i)^(idea|description|algorithm|new algorithm)\s*:\s*", "", idea)
    return idea[:MAX_IDEA_CHARS] or None


def parse_reply(text: str, name: str) -> Reply:
    """The idea and the code of function `name` in a chat reply (see the module docstring)."""
    if not isinstance(text, str) or not text.strip():
        raise ReplyError("no_code", "empty reply")
    blocks = _blocks(text)
    code_blocks = [b for b in blocks if re.search(r"^\s*def\s+\w+\s*\(", b[2], re.MULTILINE)]
    wanted = [b for b in code_blocks if re.search(rf"^\s*def\s+{re.escape(name)}\s*\(", b[2], re.MULTILINE)]
    chosen = (wanted or code_blocks or [None])[0]
    if chosen is not None:
        body = chosen[2]
        code = body.replace("\t", "    ")
        if not _parses(code):  # a block cut at max tokens: keep what parses
            code = _unfenced_code(code, name)
        spans = [(s, e) for s, e, _ in blocks]
    else:
        code = _unfenced_code(text, name)
        spans = []
        if code is not None:
            first = re.search(r"^[ \t]*(?:(?:import|from)\s+\w[^\n]*\n[ \t]*)*def\s", text, re.MULTILINE)
            spans = [(first.start() if first else 0, len(text))]
    if code is None:
        if re.search(r"\bdef\s+\w+\s*\(", text):
            raise ReplyError("syntax", "the reply's function does not parse")
        raise ReplyError("no_code", "the reply holds no function definition")
    return Reply(_idea(text, spans), code.strip() + "\n")
