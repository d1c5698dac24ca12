"""Each search method, a few real samples of the embedded Qwen2.5-Coder 0.5B (kept under a minute)."""

from __future__ import annotations

import evolve_worker
import pytest
from discoverygym.agents.evolution import run_evolution
from discoverygym.agents.evolution.eoh import EoHConfig
from discoverygym.agents.evolution.samplelog import read_log
from test_evolution_models import _embedded_available

# What a failed sample may be: the parsing and contract kinds (EoH) or FunSearch's, the sandbox's.
KINDS = {"no_code", "syntax", "wrong_name", "wrong_arguments", "no_return", "scalar_return",
         "unparsable", "duplicate", "evaluation", "timeout"}


@pytest.mark.slow
@pytest.mark.parametrize("method", ["funsearch", "eoh"])
def test_short_real_run_of_each_method(method, tmp_path):
    if not _embedded_available("qwen2.5-coder-0.5b"):
        pytest.skip("the llm extra is not installed")
    from discoverygym.agents.evolution import SamplingConfig
    from discoverygym.agents.evolution.llm import LlamaCppBackend

    # One sample of 32 tokens: on this 2-core machine shared with other runs, decoding can be
    # as slow as 2 tokens/s. The run checks the pipeline, not the model's quality.
    backend = LlamaCppBackend(model="qwen2.5-coder-0.5b", n_ctx=1024,
                              sampling=SamplingConfig(max_tokens=32, seed=0))
    config = evolve_worker.config(evaluate_test=False, method=method,
                                  eoh=EoHConfig(population_size=2, follow_ups=0))
    config.samples_per_prompt = 1
    result = run_evolution("binpacking", backend, tmp_path, samples=1, config=config)
    records = list(read_log(tmp_path))
    assert [r["sample"] for r in records] == [1] and result.stats.samples == 1
    assert all(r["completion"].strip() for r in records)  # the model wrote something
    assert result.stats.completion_tokens > 0 and result.stats.llm_s > 0
    for record in records:
        assert record["ok"] or record["failure"] in KINDS, record
        assert record["ok"] == (record["score"] is not None)
    if method == "eoh":
        # Seeded start: a crossover needs two programs, so the first operator is m1 on the seed.
        assert records[0]["method"] == "eoh" and records[0]["operator"] == "m1"
        assert "I need a priority function" in records[0]["prompt"]
        assert "Idea: Best fit" in records[0]["prompt"]
    else:
        assert records[0]["prompt"].rstrip().endswith('"""Improved version of `priority_v0`."""')
