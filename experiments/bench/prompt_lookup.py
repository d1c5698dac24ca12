"""Prompt-lookup decoding against plain decoding for an embedded model on a FunSearch prompt.

FunSearch completions copy much of the programs in their prompt, so drafting the next tokens
by looking them up in the prompt (llama-cpp-python's `LlamaPromptLookupDecoding`) may decode
faster. This measures it paired: the same prompt (evaluated once per mode before the timed runs,
then reused from llama.cpp's cache, as for a search's several samples per prompt, so the
timings are decoding), sampling seed and settings for both modes,
in ABBA order within each pair (so a drift in the machine's load hits both modes alike), and
reports completion tokens per second of each run, each pair's ratio and the median ratio.

    python -m discoverygym.experiments.bench.prompt_lookup --pairs 3 --max-tokens 128
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from discoverygym.agents.evolution.database import Prompt

BETTER = '''def priority(item: float, bins: np.ndarray) -> np.ndarray:
    max_bin_cap = max(bins)
    score = (bins - max_bin_cap) ** 2 / item + bins ** 2 / (item ** 2)
    score += bins ** 2 / item ** 3
    score[bins > item] = -score[bins > item]
    score[1:] -= score[:-1]
    return score
'''


def prompt_of(programs: list[str], game: str = "binpacking") -> Prompt:
    """The FunSearch prompt the search builds from `programs`, worst first (scores -4, -3, ...):
    they become versions v0, v1, ... and the prompt asks for the next one."""
    from discoverygym.agents.evolution import code
    from discoverygym.agents.evolution.database import DatabaseConfig, Program, ProgramDatabase
    from discoverygym.agents.evolution.games import get_game

    spec = get_game(game)
    database = ProgramDatabase(DatabaseConfig(num_islands=1, cluster_sampling_temperature_init=100),
                               spec.preamble, spec.function_name, docstring=code.docstring(spec.seed))
    for rank, source in enumerate(programs):
        database.register(Program(source, -4.0 + rank, {"a": -4.0 + rank}), 0)
    return database.prompt(0)


def funsearch_prompt(game: str = "binpacking") -> str:
    """A two-version FunSearch prompt as the search builds it: the seed, then a better program
    (for bin packing FunSearch's published Weibull heuristic; else the seed's first variant)."""
    from discoverygym.agents.evolution.games import get_game

    spec = get_game(game)
    better = BETTER if game == "binpacking" else (spec.seed_variants or (spec.seed,))[0]
    return prompt_of([spec.seed, better], game).text


def measure(model: str = "qwen2.5-coder-0.5b", pairs: int = 3, max_tokens: int = 128,
            lookup: int = 10, temperature: float = 1.0, threads: int = 1) -> list[dict]:
    """Paired runs (ABBA order): one dict per run with mode, tokens, seconds and tokens/s."""
    from discoverygym.agents.evolution.llm import LlamaCppBackend, SamplingConfig

    prompt = funsearch_prompt()
    backends = {}
    for mode, draft in (("plain", 0), ("lookup", lookup)):
        backends[mode] = LlamaCppBackend(model=model, n_threads=threads, prompt_lookup=draft,
                                         sampling=SamplingConfig(max_tokens=max_tokens,
                                                                 temperature=temperature))
        backends[mode].sample(prompt, 1)  # warm up and cache the prompt: decoding is timed
    runs = []
    for pair in range(pairs):
        order = ("plain", "lookup") if pair % 2 == 0 else ("lookup", "plain")
        for mode in order:
            backend = backends[mode]
            backend.calls = pair * 100  # the same sampling seed for both modes of a pair
            before = backend.tokens["completion"]
            start = time.perf_counter()
            (text,) = backend.sample(prompt, 1)
            seconds = time.perf_counter() - start
            tokens = backend.tokens["completion"] - before
            runs.append({"pair": pair, "mode": mode, "tokens": tokens, "seconds": round(seconds, 2),
                         "tokens_per_s": round(tokens / seconds, 2), "chars": len(text)})
            print(json.dumps(runs[-1]), flush=True)
    return runs


def summary(runs: list[dict]) -> dict:
    """Per-pair lookup/plain ratios of tokens/s and their median."""
    ratios = []
    for pair in sorted({r["pair"] for r in runs}):
        rate = {r["mode"]: r["tokens_per_s"] for r in runs if r["pair"] == pair}
        ratios.append(round(rate["lookup"] / rate["plain"], 3))
    plain = [r["tokens_per_s"] for r in runs if r["mode"] == "plain"]
    lookup = [r["tokens_per_s"] for r in runs if r["mode"] == "lookup"]
    return {"pairs": len(ratios), "ratios": ratios, "median_ratio": statistics.median(ratios),
            "median_plain_tokens_per_s": statistics.median(plain),
            "median_lookup_tokens_per_s": statistics.median(lookup)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--lookup", type=int, default=10, help="tokens drafted per lookup")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    runs = measure(args.model, args.pairs, args.max_tokens, args.lookup, args.temperature,
                   args.threads)
    print(json.dumps(summary(runs)))


if __name__ == "__main__":
    main()
