"""The prompt-lookup benchmark: its FunSearch prompt and its paired summary."""

from __future__ import annotations

import pytest

from discoverygym.agents.evolution import code
from discoverygym.experiments.bench.prompt_lookup import funsearch_prompt, summary


def test_prompt_is_a_two_version_funsearch_prompt():
    prompt = funsearch_prompt("binpacking")
    assert prompt.startswith('"""Finds good assignment for online 1d bin packing."""')
    assert "def priority_v0(" in prompt and "def priority_v1(" in prompt
    assert prompt.rstrip().endswith('"""Improved version of `priority_v1`."""')
    assert "max_bin_cap = max(bins)" in prompt  # the better program is v1, the seed v0
    head = prompt[prompt.index("def priority_v2"):]
    assert code.trim_completion(head, "    return bins\n", "priority").endswith("return bins")


def test_summary_pairs_modes_and_takes_medians():
    runs = [{"pair": 0, "mode": "plain", "tokens_per_s": 10.0},
            {"pair": 0, "mode": "lookup", "tokens_per_s": 15.0},
            {"pair": 1, "mode": "lookup", "tokens_per_s": 8.0},
            {"pair": 1, "mode": "plain", "tokens_per_s": 10.0},
            {"pair": 2, "mode": "plain", "tokens_per_s": 20.0},
            {"pair": 2, "mode": "lookup", "tokens_per_s": 22.0}]
    result = summary(runs)
    assert result["ratios"] == [1.5, 0.8, 1.1] and result["median_ratio"] == 1.1
    assert result["median_plain_tokens_per_s"] == 10.0
    assert result["median_lookup_tokens_per_s"] == 15.0
    with pytest.raises(KeyError):
        summary([{"pair": 0, "mode": "plain", "tokens_per_s": 1.0}])  # an unpaired run
