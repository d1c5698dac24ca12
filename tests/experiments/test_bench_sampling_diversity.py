"""The sampling-diversity benchmark: its prompts, its counting (sandboxed) and its summary."""

from __future__ import annotations

from discoverygym.experiments.bench.sampling_diversity import HINTS, count, hinted, prompts, summary


def test_prompts_are_the_seed_alone_and_two_versions():
    found = prompts()
    assert list(found) == ["seed only", "seed + FunSearch's"]
    alone, alone_header = found["seed only"]
    assert "def priority_v0(" in alone and "def priority_v1(" not in alone.replace(alone_header, "")
    two, _ = found["seed + FunSearch's"]
    assert "def priority_v1(" in two and "max_bin_cap = max(bins)" in two


def test_count_separates_text_validity_and_behaviour():
    _, header = prompts()["seed only"]
    completions = [
        "    return -(bins - item)\n",        # best fit
        "    return -(bins - item)\n",        # the same text: not distinct
        "    return item - bins\n",           # other text, same behaviour as best fit
        "    return bins\n",                  # worst fit: another behaviour
        "    return bins[0]\n",               # a scalar: not valid
        "    x = (\n",                        # does not parse: nothing
    ]
    pairs = [(header, completion) for completion in completions]
    assert count(pairs) == {"distinct_text": 4, "valid": 3, "distinct_behaviour": 2}


def test_a_hint_goes_into_the_headers_docstring_only():
    text, header = prompts()["seed + FunSearch's"]
    prompt, head = hinted(text, header, 7)
    assert head == header.replace('`."""', f'`: {HINTS[1]}."""') and head != header
    assert prompt.endswith(head) and prompt[: -len(head)] == text[: -len(header)]
    _, seed_header = prompts()["seed only"]
    assert count([(hinted("", seed_header, 0)[1], "    return -(bins - item)\n")])["valid"] == 1


def test_summary_totals_per_setting_with_the_ratio_to_the_first():
    rows = [{"setting": s, "prompt": p, "samples": 4, "seconds": 1.0, "tokens": 10,
             "distinct_text": 3, "valid": 2, "distinct_behaviour": b}
            for s, p, b in (("ref", "a", 1), ("ref", "b", 1), ("wide", "a", 2), ("wide", "b", 3))]
    out = summary(rows)
    assert [r["setting"] for r in out] == ["ref", "wide"]
    assert out[0]["distinct_behaviour"] == 2 and out[1]["behaviour_ratio"] == 2.5
    assert out[1]["samples"] == 8 and out[1]["seconds"] == 2.0
