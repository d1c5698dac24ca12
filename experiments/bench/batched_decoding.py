"""Several completions of one prompt decoded together (one llama.cpp batch) against one at a time.

FunSearch asks for several samples per prompt. llama.cpp can decode them as parallel sequences
that share the prompt's KV cache: each step evaluates one token of every live sequence in one
batch. On a memory-bound CPU that would read the weights once for all of them. This measures
whether it pays here: for each number of sequences N, the completion tokens per second of the
decoding alone (the prompt is evaluated once, then copied to the N sequences, and not timed),
and its ratio to N = 1 measured in the same round. Sizes alternate ascending and descending
between rounds, so that a drift in the machine's load hits every size alike.

    python -m discoverygym.experiments.bench.batched_decoding --rounds 2 --sizes 1,4,8,16

The model is loaded AMX-safe (`llm.load_llama`); sampling is top-p then temperature, one
generator per sequence; a sequence stops at end of generation, at one of the search's stop
strings (`llm.STOP`) or after `max_tokens`.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import statistics
import time
from typing import Any


def _context(llama: Any, sequences: int, n_ctx: int, threads: int) -> Any:
    """A fresh llama.cpp context on `llama`'s weights with room for `sequences` sequences that
    share their cells (a unified KV cache, so the copied prompt is stored once)."""
    import llama_cpp.llama_cpp as bindings

    params = bindings.llama_context_default_params()
    params.n_ctx, params.n_batch, params.n_ubatch = n_ctx, n_ctx, min(512, n_ctx)
    params.n_threads = params.n_threads_batch = threads
    params.n_seq_max, params.kv_unified = max(sequences, 1), True
    ctx = bindings.llama_init_from_model(llama.model, params)
    if not ctx:
        raise RuntimeError(f"llama.cpp could not make a context for {sequences} sequences")
    return ctx


def decode_parallel(llama: Any, prompt: str, sequences: int, max_tokens: int = 128, seed: int = 0,
                    temperature: float = 1.0, top_p: float = 0.95, threads: int = 1,
                    n_ctx: int = 4096) -> tuple[list[str], int, float]:
    """`sequences` completions of `prompt` decoded together: (texts, completion tokens, seconds
    of decoding, the prompt's evaluation excluded)."""
    import llama_cpp.llama_cpp as bindings

    from discoverygym.agents.evolution.llm import STOP

    tokens = llama.tokenize(prompt.encode(), add_bos=False, special=False)
    if len(tokens) + sequences * max_tokens > n_ctx:
        raise ValueError(f"{len(tokens)} prompt tokens + {sequences} x {max_tokens} do not fit "
                         f"n_ctx={n_ctx}")
    vocab = bindings.llama_model_get_vocab(llama.model)
    ctx = _context(llama, sequences, n_ctx, threads)
    batch = bindings.llama_batch_init(max(len(tokens), sequences), 0, sequences)
    samplers = []
    try:
        def put(entries: list[tuple[int, int, int, bool]]) -> None:  # (token, pos, seq, logits)
            batch.n_tokens = len(entries)
            for i, (token, pos, seq, logits) in enumerate(entries):
                batch.token[i], batch.pos[i], batch.n_seq_id[i] = token, pos, 1
                batch.seq_id[i][0], batch.logits[i] = seq, logits
            if bindings.llama_decode(ctx, batch) != 0:
                raise RuntimeError("llama_decode failed")

        put([(t, i, 0, i == len(tokens) - 1) for i, t in enumerate(tokens)])
        memory = bindings.llama_get_memory(ctx)
        for seq in range(1, sequences):
            bindings.llama_memory_seq_cp(memory, 0, seq, -1, -1)
        for seq in range(sequences):
            chain = bindings.llama_sampler_chain_init(bindings.llama_sampler_chain_default_params())
            bindings.llama_sampler_chain_add(chain, bindings.llama_sampler_init_top_p(top_p, 1))
            bindings.llama_sampler_chain_add(chain, bindings.llama_sampler_init_temp(temperature))
            bindings.llama_sampler_chain_add(chain, bindings.llama_sampler_init_dist(seed + seq))
            samplers.append(chain)
        start = time.perf_counter()
        row = {seq: len(tokens) - 1 for seq in range(sequences)}  # each one's logits in the batch
        texts = [b""] * sequences
        live, pos, count = set(range(sequences)), len(tokens), 0
        piece = ctypes.create_string_buffer(256)
        stops = [s.encode() for s in STOP]
        for _ in range(max_tokens):
            step = []
            for seq in sorted(live):
                token = bindings.llama_sampler_sample(samplers[seq], ctx, row[seq])
                if bindings.llama_vocab_is_eog(vocab, token):
                    live.discard(seq)
                    continue
                size = bindings.llama_token_to_piece(vocab, token, piece, len(piece), 0, False)
                texts[seq] += piece.raw[:max(size, 0)]
                count += 1
                if any(stop in texts[seq] for stop in stops):
                    live.discard(seq)
                    continue
                step.append((token, pos, seq, True))
            if not step:
                break
            for i, (_, _, seq, _) in enumerate(step):
                row[seq] = i
            put(step)
            pos += 1
        seconds = time.perf_counter() - start
    finally:
        for chain in samplers:
            bindings.llama_sampler_free(chain)
        bindings.llama_batch_free(batch)
        bindings.llama_free(ctx)
    return [t.decode(errors="replace") for t in texts], count, seconds


def measure(model: str = "qwen2.5-coder-0.5b", sizes: tuple[int, ...] = (1, 4, 8, 16),
            rounds: int = 2, max_tokens: int = 128, threads: int = 1) -> list[dict]:
    """One dict per (round, size): tokens, decoding seconds and tokens/s."""
    from discoverygym.agents.evolution.llm import load_llama
    from discoverygym.agents.evolution.models import model_path
    from discoverygym.experiments.bench.prompt_lookup import funsearch_prompt

    prompt = funsearch_prompt()
    llama = load_llama(model_path(model), n_ctx=512, n_threads=threads, verbose=False)
    runs = []
    for index in range(rounds):
        order = sizes if index % 2 == 0 else tuple(reversed(sizes))
        for size in order:
            _, count, seconds = decode_parallel(llama, prompt, size, max_tokens, seed=index * 1000,
                                                threads=threads)
            runs.append({"round": index, "sequences": size, "tokens": count,
                         "seconds": round(seconds, 2), "tokens_per_s": round(count / seconds, 2)})
            print(json.dumps(runs[-1]), flush=True)
    return runs


def summary(runs: list[dict]) -> dict:
    """Per size: the median tokens/s and the median of its per-round ratio to one sequence."""
    out = {}
    for size in sorted({r["sequences"] for r in runs}):
        ratios = []
        for index in sorted({r["round"] for r in runs}):
            rate = {r["sequences"]: r["tokens_per_s"] for r in runs if r["round"] == index}
            ratios.append(round(rate[size] / rate[1], 3))
        rates = [r["tokens_per_s"] for r in runs if r["sequences"] == size]
        out[str(size)] = {"median_tokens_per_s": statistics.median(rates),
                          "ratios_to_one": ratios, "median_ratio": statistics.median(ratios)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--sizes", default="1,4,8,16", help="numbers of sequences, 1 among them")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    sizes = tuple(int(s) for s in args.sizes.split(","))
    if 1 not in sizes:
        parser.error("--sizes must include 1, the reference")
    runs = measure(args.model, sizes, args.rounds, args.max_tokens, args.threads)
    print(json.dumps(summary(runs)))


if __name__ == "__main__":
    main()
