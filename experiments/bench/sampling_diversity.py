"""Do the LLM's sampling settings cause the search's duplicates? Distinct programs per setting.

Most valid programs an evolve run writes play exactly like an earlier one (README, throughput).
One suspect is the embedded backend's truncation: llama-cpp-python keeps only the top 40 tokens
and drops those under 5 % of the most likely one's probability (`top_k`, `min_p`). This draws N
completions of the same FunSearch prompts under each setting, with the same sampling seeds
(1..N) for every setting, turns each into a program exactly as the search does
(`code.trim_completion`), and counts per setting:

- **distinct text**: programs whose normalised source differs from the others of the setting;
- **valid**: those of them that the sandbox scores (bin packing, `weibull-5k:seed=1`);
- **distinct behaviour**: valid ones whose per-instance scores differ from the others'
  (what the search's database keeps), with the ratio to the first setting, the reference;
- decoding seconds and completion tokens.

Prompts: the seed alone (how every island starts) and the two-version prompt of
`prompt_lookup.funsearch_prompt` (the seed, then FunSearch's published Weibull heuristic).
The last setting keeps the default decoding and changes the prompt instead: the header's
docstring names one of `HINTS`, EoH's operators in a phrase (sample k gets hint k mod 6), to
see whether telling the model what kind of change to make breaks its habit of repeating itself.

    python -m discoverygym.experiments.bench.sampling_diversity --samples 16
"""

from __future__ import annotations

import argparse
import json
import time

# name -> llama-cpp-python options; the first is the reference (the backend's own truncation).
SETTINGS: dict[str, dict[str, float]] = {
    "T 1.0, top_k 40, min_p 0.05 (default)": {"temperature": 1.0},
    "T 1.0, no top_k / min_p": {"temperature": 1.0, "top_k": 0, "min_p": 0.0},
    "T 1.2, top_k 40, min_p 0.05": {"temperature": 1.2},
    "T 1.2, no top_k / min_p": {"temperature": 1.2, "top_k": 0, "min_p": 0.0},
    "T 1.0, default, an operator hint in the header": {"temperature": 1.0, "hint": True},
}

# What kind of change to make, after EoH's operators (explore, combine, mutate, tune).
HINTS = (
    "it tries an idea different from the earlier versions",
    "it keeps the idea and adds a new term",
    "it transforms the quantities nonlinearly",
    "it treats some inputs as a special case",
    "it changes the constants and weights",
    "it makes one small change",
)


def hinted(text: str, header: str, seed: int) -> tuple[str, str]:
    """The prompt and header with hint `seed` mod 6 in the header's docstring."""
    new = header.replace('`."""', f'`: {HINTS[seed % len(HINTS)]}."""')
    return text[: len(text) - len(header)] + new, new


def prompts() -> dict[str, tuple[str, str]]:
    """name -> (prompt text, header) for the seed-only and the two-version bin packing prompt."""
    from discoverygym.agents.evolution.games import get_game
    from discoverygym.experiments.bench.prompt_lookup import BETTER, prompt_of

    seed = get_game("binpacking").seed
    out = {}
    for name, programs in (("seed only", [seed]), ("seed + FunSearch's", [seed, BETTER])):
        prompt = prompt_of(programs)
        out[name] = (prompt.text, prompt.header)
    return out


def count(completions: list[tuple[str, str]]) -> dict[str, int]:
    """Distinct texts, valid ones and distinct behaviours among programs built from
    `completions`, (header, completion) pairs."""
    from discoverygym.agents.evolution import code
    from discoverygym.agents.evolution.sandbox import evaluate_program

    texts, valid, behaviours = set(), 0, set()
    for header, completion in completions:
        try:
            source = code.trim_completion(header, completion, "priority")
            key = code.normalise(source, "priority")
        except Exception:  # noqa: BLE001 - an unparsable completion is counted as nothing
            continue
        if key in texts:
            continue
        texts.add(key)
        result = evaluate_program(source, "binpacking", "train", datasets=("weibull-5k:seed=1",))
        if result.ok:
            valid += 1
            behaviours.add(json.dumps(result.scores, sort_keys=True))
    return {"distinct_text": len(texts), "valid": valid, "distinct_behaviour": len(behaviours)}


def measure(samples: int = 16, model: str = "qwen2.5-coder-0.5b", threads: int = 1) -> list[dict]:
    """One row per (setting, prompt): counts, decoding seconds and completion tokens."""
    from discoverygym.agents.evolution.llm import STOP, load_llama
    from discoverygym.agents.evolution.models import model_path

    llama = load_llama(model_path(model), n_ctx=4096, n_threads=threads, verbose=False)
    rows = []
    for setting, options in SETTINGS.items():
        for name, (text, header) in prompts().items():
            start, tokens, completions = time.perf_counter(), 0, []
            decoding = {key: value for key, value in options.items() if key != "hint"}
            for seed in range(1, samples + 1):
                prompt, head = hinted(text, header, seed) if options.get("hint") else (text, header)
                response = llama.create_completion(prompt, stop=STOP, max_tokens=384, top_p=0.95,
                                                   seed=seed, **decoding)
                completions.append((head, response["choices"][0]["text"]))
                tokens += response["usage"]["completion_tokens"]
            row = {"setting": setting, "prompt": name, "samples": samples,
                   "seconds": round(time.perf_counter() - start, 1), "tokens": tokens,
                   **count(completions)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def summary(rows: list[dict]) -> list[dict]:
    """Per setting, over the prompts: totals and the distinct-behaviour ratio to the reference."""
    out = []
    for setting in dict.fromkeys(r["setting"] for r in rows):
        mine = [r for r in rows if r["setting"] == setting]
        total = {key: sum(r[key] for r in mine)
                 for key in ("samples", "distinct_text", "valid", "distinct_behaviour", "tokens")}
        total["seconds"] = round(sum(r["seconds"] for r in mine), 1)
        out.append({"setting": setting, **total})
    reference = max(out[0]["distinct_behaviour"], 1)
    for row in out:
        row["behaviour_ratio"] = round(row["distinct_behaviour"] / reference, 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=16, help="completions per setting and prompt")
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    for row in summary(measure(args.samples, args.model, args.threads)):
        print(json.dumps(row))


if __name__ == "__main__":
    main()
