"""Chat replies -> idea + code (replies.py) and the function's contract (contract.py)."""

from __future__ import annotations

import ast

import pytest
from discoverygym.agents.evolution.contract import ContractError, check_contract
from discoverygym.agents.evolution.games import get_game
from discoverygym.agents.evolution.replies import ReplyError, parse_reply
from hypothesis import given, settings
from hypothesis import strategies as st

SEED = get_game("binpacking").seed
FUNCTION = "def priority(item, bins):\n    return -(bins - item) ** 2\n"


def test_fenced_reply_with_idea_in_braces():
    reply = ("{Prefer bins whose squared slack is smallest.}\n\n```python\nimport numpy as np\n\n"
             + FUNCTION + "```\nThis works because...")
    parsed = parse_reply(reply, "priority")
    assert parsed.idea == "Prefer bins whose squared slack is smallest."
    assert "return -(bins - item) ** 2" in parsed.code and "This works" not in parsed.code


def test_unfenced_reply_with_chatter_after():
    reply = ("Sure! {Tight fit with a bonus for exact fits}\n" + FUNCTION +
             "\nThis function returns the priorities.\nHope it helps.")
    parsed = parse_reply(reply, "priority")
    assert parsed.idea == "Tight fit with a bonus for exact fits"
    assert ast.parse(parsed.code) and "Hope" not in parsed.code


def test_missing_idea_falls_back_to_the_first_sentence_or_none():
    assert parse_reply("```python\n" + FUNCTION + "```", "priority").idea is None
    prose = parse_reply("The new algorithm squares the slack. It is simple.\n```python\n"
                        + FUNCTION + "```", "priority")
    assert prose.idea == "The new algorithm squares the slack."


def test_braces_inside_code_are_not_the_idea():
    code = "def priority(item, bins):\n    d = {'a': 1}\n    return -(bins - item) * d['a']\n"
    parsed = parse_reply("```python\n" + code + "```", "priority")
    assert parsed.idea is None and "d = {'a': 1}" in parsed.code
    doubled = parse_reply("{{Doubled braces idea}}\n```\n" + code + "```", "priority")
    assert doubled.idea == "Doubled braces idea"


def test_several_blocks_pick_the_one_defining_the_function():
    reply = ("{idea}\n```python\nx = priority(3.0, np.array([5.0]))\n```\n"
             "```py\ndef helper(x):\n    return x\n```\n```python\n" + FUNCTION + "```\n")
    assert parse_reply(reply, "priority").code.strip() == FUNCTION.strip()


def test_block_cut_at_max_tokens_keeps_what_parses():
    reply = "{cut}\n```python\ndef priority(item, bins):\n    s = bins - item\n    return -s\n    x = (1 +"
    parsed = parse_reply(reply, "priority")
    assert parsed.code.strip().endswith("return -s")


@pytest.mark.parametrize("reply, kind", [
    ("", "no_code"),
    ("I cannot help with that.", "no_code"),
    ("```python\nprint('hi')\n```", "no_code"),
    ("{idea}\n```python\ndef priority(item, bins) return bins\n```", "syntax"),
])
def test_unusable_replies_raise_with_a_kind(reply, kind):
    with pytest.raises(ReplyError) as error:
        parse_reply(reply, "priority")
    assert error.value.kind == kind


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("def priority(item, bins):\n return{}`python#x=1+-*")),
               max_size=300))
def test_any_text_parses_or_raises_reply_error(text):
    try:
        parsed = parse_reply(text, "priority")
    except ReplyError as error:
        assert error.kind in ("no_code", "syntax")
    else:
        ast.parse(parsed.code)  # whatever comes back parses


def test_contract_renames_a_single_fitting_function_and_inlines_helpers():
    code = ("import math\nK = 2.0\ndef helper(x):\n    return x * K\n"
            "def score(item, bins):\n    return -helper(bins - item)\n")
    contract = check_contract(code, SEED, "priority")
    assert contract.repairs == ("renamed", "inlined")
    node = ast.parse(contract.source).body[0]
    assert node.name == "priority" and [type(n).__name__ for n in node.body[:3]] == \
        ["Import", "Assign", "FunctionDef"]


def test_contract_drops_star_imports_legal_only_at_module_level():
    code = "from typing import *\nimport math\ndef priority(item, bins):\n    return -(bins - item)\n"
    contract = check_contract(code, SEED, "priority")
    assert "import *" not in contract.source and "import math" in contract.source


def test_contract_copies_an_array_argument_changed_in_place():
    contract = check_contract("def priority(item, bins):\n    bins -= item\n    return -bins\n",
                              SEED, "priority")
    assert contract.repairs == ("copied",)
    assert contract.source.splitlines()[1].strip() == "bins = bins.copy()"


@pytest.mark.parametrize("code, kind", [
    ("def priority(item):\n    return item\n", "wrong_arguments"),
    ("def priority(item, bins, extra):\n    return bins\n", "wrong_arguments"),
    ("def a(x, y):\n    return x\ndef b(x, y):\n    return y\n", "wrong_name"),
    ("def priority(item, bins):\n    return 0.0\n", "scalar_return"),
    ("def priority(item, bins):\n    return item\n", "scalar_return"),
    ("def priority(item, bins):\n    return np.max(bins - item)\n", "scalar_return"),
    ("def priority(item, bins):\n    if item > 1:\n        return (bins - item).sum()\n    return bins\n",
     "scalar_return"),
    ("def priority(item, bins):\n    return float(item)\n", "scalar_return"),
    ("def priority(item, bins):\n    return np.max(bins) - item\n", "scalar_return"),  # seen
    ("def priority(item, bins):\n    return -(2.0 * item)\n", "scalar_return"),
    ("def priority(item, bins):\n    x = bins - item\n", "no_return"),
])
def test_contract_rejects_with_the_failure_kind(code, kind):
    with pytest.raises(ContractError) as error:
        check_contract(code, SEED, "priority")
    assert error.value.kind == kind


def test_contract_keeps_array_returns():
    for body in ("return np.max(bins) - bins", "return np.maximum(bins, item)",
                 "return (bins - item).max(axis=0) - bins", "return max(bins - item, 0) * bins",
                 "return -(bins - item)", "return np.max(bins) - bins + 2.0 * item",
                 "def inner():\n        return 0\n    return bins * inner()"):
        source = f"def priority(item, bins, scale=1.0):\n    {body}\n"
        assert check_contract(source, SEED, "priority").source.startswith("def priority(")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("def priority(item, bins):\n return float np.max\0[]=-+")),
               max_size=200))
def test_contract_on_any_text_returns_a_parsing_function_or_a_kind(text):
    try:
        contract = check_contract(text, SEED, "priority")
    except ContractError as error:
        assert error.kind in ("syntax", "wrong_name", "wrong_arguments", "no_return",
                              "scalar_return")
    else:
        (node,) = ast.parse(contract.source).body
        assert isinstance(node, ast.FunctionDef) and node.name == "priority"
