"""LLM backends behind one interface: `sample(prompt, n) -> list of completions`.

- `LlamaCppBackend`: an embedded GGUF model (`models.MODELS`: Gemma 3 270M, Qwen2.5-Coder 0.5B
  and 1.5B Instruct, all from PyPI) run by `llama-cpp-python` on CPU. `sample` continues a prompt
  (completion mode, FunSearch's); `chat` answers messages with the model's own chat template.
  Models are loaded AMX-safe (see `load_llama`).
- `OpenAIBackend`: any OpenAI-compatible server (vLLM, Ollama, llama.cpp's server, OpenAI) by
  base URL and model; the key comes from the environment (`DISCOVERYGYM_LLM_API_KEY`, else
  `OPENAI_API_KEY`). `/completions` by default; `chat=True` uses `/chat/completions` and
  extracts the code from the reply. Failures (refused connections, HTTP errors, replies that are
  not the expected JSON) are retried a bounded number of times, then raise `LLMError`.
- `ScriptedBackend`: replays given completions (tests, dry runs).
`make_backend(spec)` parses the CLI's `--llm` value: an embedded model's key
(`gemma-270m`, `qwen2.5-coder-0.5b`, `qwen2.5-coder-1.5b`), `openai:<model>@<url>` or
`openai-chat:<model>@<url>`.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
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
    """Decoding parameters shared by the backends.

    `top_k` and `min_p` are left to the backend when None: llama-cpp-python's completions then
    use top_k 40 and min_p 0.05, and nothing is sent to an OpenAI-compatible server (the
    official API has neither; llama.cpp's and vLLM's servers take both when given).
    """

    max_tokens: int = 384
    temperature: float = 1.0
    top_p: float = 0.95
    seed: int = 0
    top_k: int | None = None
    min_p: float | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.max_tokens < 1:
            problems.append(f"max_tokens {self.max_tokens} (expected >= 1)")
        if not self.temperature >= 0:
            problems.append(f"temperature {self.temperature} (expected >= 0)")
        if not 0 < self.top_p <= 1:
            problems.append(f"top_p {self.top_p} (expected in (0, 1])")
        if self.top_k is not None and self.top_k < 0:
            problems.append(f"top_k {self.top_k} (expected >= 0; 0: off)")
        if self.min_p is not None and not 0 <= self.min_p <= 1:
            problems.append(f"min_p {self.min_p} (expected in [0, 1]; 0: off)")
        if problems:
            raise ValueError("bad LLM sampling settings: " + "; ".join(problems))

    def truncation(self) -> dict[str, float]:
        """The top_k / min_p settings that were given (None: the backend's own)."""
        return {key: value for key, value in (("top_k", self.top_k), ("min_p", self.min_p))
                if value is not None}


class LLMError(RuntimeError):
    """The LLM could not be reached or answered something unusable (after the retries)."""


_LOAD_LOCK = threading.Lock()


def load_llama(model_path: str, **kwargs):
    """`llama_cpp.Llama(model_path, **kwargs)` with llama.cpp's extra buffer types turned off.

    On CPUs with AMX (Intel Xeon Sapphire Rapids and later) llama.cpp repacks the weights into
    AMX buffers, and decoding then segfaults (ggml-org/llama.cpp#20824). The model params that
    switch this off (`use_extra_bufts = False`) are built inside `Llama.__init__` from
    `llama_model_default_params()`, which takes no arguments, so the defaults are wrapped for
    the duration of the load (under a lock: the patch is process-wide while it lasts). On CPUs
    without AMX the flag changes nothing but the (unused) repacking.
    """
    import llama_cpp
    import llama_cpp.llama_cpp as bindings

    defaults = bindings.llama_model_default_params

    def amx_safe_defaults():
        params = defaults()
        params.use_extra_bufts = False
        return params

    with _LOAD_LOCK:
        bindings.llama_model_default_params = amx_safe_defaults
        try:
            llama = llama_cpp.Llama(model_path=model_path, **kwargs)
        finally:
            bindings.llama_model_default_params = defaults
    if llama.model_params.use_extra_bufts:  # the wrapper was bypassed: refuse to decode
        raise LLMError(f"{model_path}: llama.cpp's extra buffer types are still on; this "
                       "llama-cpp-python no longer builds its params from "
                       "llama_model_default_params()")
    return llama


class LlamaCppBackend:
    """A GGUF model run in-process by llama-cpp-python (CPU).

    `model` is a key of the embedded registry (`models.MODELS`); `model_path` overrides it
    with any GGUF file. `n_threads` defaults to 1: llama.cpp's threads spin while waiting, so
    on a machine whose cores are shared (with the sandboxes or anything else) more threads are
    much slower (41 s against 7.5 s for the same 52 tokens on 2 busy cores, measured here).
    `prompt_lookup=N` drafts N tokens by prompt lookup (llama-cpp-python's
    `LlamaPromptLookupDecoding`): completions copy much of the programs in their prompt.
    """

    def __init__(self, model_path: str | None = None, *, model: str = "gemma-270m",
                 sampling: SamplingConfig | None = None, n_ctx: int = 4096, n_threads: int = 1,
                 name: str | None = None, prompt_lookup: int = 0):
        if find_spec("llama_cpp") is None:  # pragma: no cover - depends on the optional extra
            raise ImportError("the embedded LLM needs llama-cpp-python: "
                              "pip install 'discoverygym[llm]'")
        from discoverygym.agents.evolution.models import get_model, model_path as registry_path

        self.name = name or (get_model(model).key if model_path is None else Path(model_path).stem)
        self.sampling = sampling or SamplingConfig()
        self.model_path = model_path or registry_path(model)
        draft = None
        if prompt_lookup:
            from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

            draft = LlamaPromptLookupDecoding(num_pred_tokens=prompt_lookup)
        self.llama = load_llama(self.model_path, n_ctx=n_ctx, seed=self.sampling.seed,
                                n_threads=n_threads, verbose=False, draft_model=draft)
        self.calls = 0
        self.tokens = {"prompt": 0, "completion": 0}

    def _options(self) -> dict:
        self.calls += 1
        return {"max_tokens": self.sampling.max_tokens, "temperature": self.sampling.temperature,
                "top_p": self.sampling.top_p, "seed": self.sampling.seed + self.calls,
                **self.sampling.truncation()}

    def sample(self, prompt: str, n: int = 1) -> list[str]:
        out = []
        for _ in range(n):
            response = self.llama.create_completion(prompt, stop=STOP, **self._options())
            count_tokens(self.tokens, response)
            out.append(response["choices"][0]["text"])
        return out

    def chat(self, messages: list[dict[str, str]], n: int = 1) -> list[str]:
        """`n` replies to `messages` (role/content dicts), with the model's chat template."""
        out = []
        for _ in range(n):
            response = self.llama.create_chat_completion(messages, **self._options())
            count_tokens(self.tokens, response)
            out.append(response["choices"][0]["message"]["content"] or "")
        return out


class OpenAIBackend:
    """An OpenAI-compatible HTTP server, in completion or chat mode."""

    def __init__(self, model: str, base_url: str, *, api_key: str | None = None,
                 chat: bool = False, sampling: SamplingConfig | None = None,
                 timeout_s: float = 120.0, retries: int = 2, max_reply_bytes: int = 2**22):
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key if api_key is not None else (
            os.environ.get("DISCOVERYGYM_LLM_API_KEY") or os.environ.get("OPENAI_API_KEY", ""))
        self.chat_mode = chat
        self.max_reply_bytes = max_reply_bytes
        self.sampling = sampling or SamplingConfig()
        self.timeout_s = timeout_s
        self.retries = retries
        self.name = f"openai{'-chat' if chat else ''}:{model}@{self.base_url}"
        self.tokens = {"prompt": 0, "completion": 0}

    def _post(self, path: str, payload: dict) -> dict:
        """POST JSON, retrying refused connections, 5xx/429 and unreadable replies."""
        request = urllib.request.Request(
            self.base_url + path, data=json.dumps(payload).encode(), method="POST",
            headers={"Content-Type": "application/json",
                     **({"Authorization": f"Bearer {self.api_key}"} if self.api_key else {})},
        )
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(8.0, 0.5 * 2 ** attempt))
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    body = response.read(self.max_reply_bytes + 1)
            except urllib.error.HTTPError as error:
                detail = error.read(300).decode(errors="replace")
                last = f"HTTP {error.code}: {detail}"
                if error.code < 500 and error.code != 429:
                    break
                continue
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as error:
                last = f"{getattr(error, 'reason', None) or error}"
                continue
            if len(body) > self.max_reply_bytes:
                last = f"reply over {self.max_reply_bytes} bytes"
                continue
            try:
                data = json.loads(body)
            except ValueError:
                last = f"reply is not JSON: {body[:120]!r}"
                continue
            if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
                last = f"reply has no 'choices' list: {str(data)[:120]}"
                continue
            return data
        raise LLMError(f"{self.base_url}{path}: {last} (after {attempt + 1} attempts)")

    def sample(self, prompt: str, n: int = 1) -> list[str]:
        if self.chat_mode:
            messages = [
                {"role": "system", "content": "You improve Python heuristics. Reply with only "
                 "the complete Python definition of the last function, in one code block."},
                {"role": "user", "content": prompt},
            ]
            return [extract_code(reply) for reply in self.chat(messages, n)]
        data = self._post("/completions", {**self._common(n), "prompt": prompt, "stop": STOP[:4]})
        count_tokens(self.tokens, data)
        return [str(choice.get("text", "")) for choice in data["choices"]][:n]

    def chat(self, messages: list[dict[str, str]], n: int = 1) -> list[str]:
        """`n` replies to `messages` from `/chat/completions`."""
        data = self._post("/chat/completions", {**self._common(n), "messages": messages})
        count_tokens(self.tokens, data)
        try:
            return [str(choice["message"]["content"] or "") for choice in data["choices"]][:n]
        except (KeyError, TypeError) as error:
            raise LLMError(f"{self.base_url}/chat/completions: malformed choice ({error})") from None

    def _common(self, n: int) -> dict:
        return {"model": self.model, "max_tokens": self.sampling.max_tokens, "n": n,
                "temperature": self.sampling.temperature, "top_p": self.sampling.top_p,
                **self.sampling.truncation()}


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


def make_backend(spec: str, sampling: SamplingConfig | None = None, threads: int = 1,
                 prompt_lookup: int = 0) -> LLMBackend:
    """Build the backend named by the CLI's `--llm` value (`threads`, `prompt_lookup`: embedded
    models only)."""
    from discoverygym.agents.evolution.models import ALIASES, MODELS

    if spec in MODELS or spec in ALIASES:
        return LlamaCppBackend(model=spec, sampling=sampling, n_threads=threads,
                               prompt_lookup=prompt_lookup)
    if spec.startswith(("openai:", "openai-chat:")):
        kind, _, rest = spec.partition(":")
        model, at, url = rest.partition("@")
        if not at or not model or not url.startswith(("http://", "https://")):
            raise ValueError(f"--llm {spec!r}: expected {kind}:<model>@<base url>, "
                             "e.g. openai:qwen2.5-coder@http://localhost:8000/v1")
        return OpenAIBackend(model, url, chat=kind == "openai-chat", sampling=sampling)
    raise ValueError(f"unknown --llm {spec!r}; expected one of {', '.join(MODELS)}, "
                     "openai:<model>@<url> or openai-chat:<model>@<url>")
