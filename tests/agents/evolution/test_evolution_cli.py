"""`discoverygym evolve` end to end: HTTP LLM on loopback, W&B offline, resume, bad input."""

from __future__ import annotations

import json
import os
import signal
import threading
from http.server import ThreadingHTTPServer

import pytest
from typer.testing import CliRunner

from discoverygym.agents.evolution import isolation
from discoverygym.agents.evolution.cli import app
from discoverygym.agents.evolution.export import read_metadata
from discoverygym.agents.evolution.samplelog import read_log

from test_evolution_llm import Handler  # noqa: E402 - same folder, on sys.path

SMALL = ["--train", "weibull-200:seed=0,count=2", "--validation", "weibull-200:seed=1,count=2",
         "--test", "weibull-200:seed=2,count=2"]


@pytest.fixture()
def url():
    Handler.requests, Handler.fail_next = [], 0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def test_evolve_command_with_wandb_offline_and_resume(url, tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    run_dir = tmp_path / "run"
    args = ["--env", "binpacking", "--llm", f"openai:tiny@{url}", "--run-dir", str(run_dir),
            "--islands", "2", "--samples-per-prompt", "2", *SMALL]
    result = CliRunner().invoke(app, [*args, "--samples", "4"])
    assert result.exit_code == 0, result.output
    assert "best program" in result.output and "samples 4/4" in result.output
    assert len(list(read_log(run_dir))) == 4
    assert read_metadata(run_dir / "best.py")["llm"].startswith("openai:tiny@")
    assert list((run_dir / "wandb").glob("offline-run-*"))
    sandbox = json.loads((run_dir / "sandbox.json").read_text())  # the layers the run had
    assert sandbox["missing"] == [] and sandbox["allow_weak_sandbox"] is False
    assert all(sandbox["layers"][layer] for layer in isolation.LAYERS)
    again = CliRunner().invoke(app, [*args, "--samples", "6"])
    assert again.exit_code != 0 and "--resume" in again.output
    shipped = tmp_path / "models" / "evolved_tiny.py"
    resumed = CliRunner().invoke(app, [*args, "--samples", "6", "--resume", "--no-wandb",
                                       "--ship", str(shipped)])
    assert resumed.exit_code == 0, resumed.output
    assert len(list(read_log(run_dir))) == 6
    # The shipped program carries the whole run's compute; its summary has the curve and seed.
    assert read_metadata(shipped)["compute"]["llm_samples"] == 6
    summary = json.loads(shipped.with_suffix(".summary.json").read_text())
    assert summary["samples"] == 6 and summary["curve"][-1]["sample"] == 6
    # Token counts from the server's `usage`: 100 prompt and 7 completion tokens per sample
    # (2 samples per prompt), the LLM's compute.
    assert summary["llm_tokens"] == {"prompt": 300, "completion": 42}
    assert summary["seed"]["train"] is not None and summary["seed"]["validation"] is not None
    assert shipped.with_suffix(".curve.png").read_bytes()[:4] == b"\x89PNG"
    # Resumed without the dataset options or --seed: the run's own; another seed is refused.
    bare = ["--env", "binpacking", "--llm", f"openai:tiny@{url}", "--run-dir", str(run_dir),
            "--islands", "2", "--samples-per-prompt", "2", "--no-wandb", "--resume"]
    more = CliRunner().invoke(app, [*bare, "--samples", "8"])
    assert more.exit_code == 0, more.output
    assert len(list(read_log(run_dir))) == 8
    assert read_metadata(run_dir / "best.py")["datasets"]["train"] == ["weibull-200:seed=0,count=2"]
    other = CliRunner().invoke(app, [*bare, "--samples", "10", "--seed", "5"], env={"COLUMNS": "400"})
    assert other.exit_code != 0
    assert "was run with --seed 0" in " ".join(other.output.replace("│", " ").split())


class TerminatingHandler(Handler):
    """The LLM server; at its third request it sends the process SIGTERM, as `kill` would."""

    def do_POST(self):  # noqa: N802 - http.server's name
        if len(Handler.requests) == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        super().do_POST()


def test_sigterm_ends_evolve_saved_with_exit_code_130(tmp_path, sigterm_guard):
    Handler.requests, Handler.fail_next = [], 0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), TerminatingHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    run_dir = tmp_path / "run"
    try:
        result = CliRunner().invoke(app, [
            "--env", "binpacking", "--llm", f"openai:tiny@http://127.0.0.1:{httpd.server_address[1]}/v1",
            "--run-dir", str(run_dir), "--samples", "1000", "--no-wandb", "--islands", "2",
            "--samples-per-prompt", "2", *SMALL], env={"COLUMNS": "300"})
        assert signal.getsignal(signal.SIGTERM) is sigterm_guard  # put back after the run
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert result.exit_code == 130, result.output
    logged = len(list(read_log(run_dir)))
    assert f"interrupted after {logged} samples" in result.output and "--resume" in result.output
    assert "best program" in result.output and (run_dir / "best.py").is_file()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--env", "binpackin", "--samples", "1"], "did you mean binpacking"),
        (["--llm", "openai:x", "--samples", "1"], "openai:<model>@<base url>"),
        (["--run-dir", "x"], "give a budget"),
        (["--llm", "openai:m@http://127.0.0.1:9/v1", "--min-p", "2", "--samples", "1"],
         "bad LLM sampling settings: min_p 2.0 (expected in [0, 1]; 0: off)"),
    ],
)
def test_bad_input_is_explained(argv, message, tmp_path):
    if "--run-dir" not in argv:
        argv = [*argv, "--run-dir", str(tmp_path / "r")]
    result = CliRunner().invoke(app, [*argv, "--no-wandb"], env={"COLUMNS": "400"})
    assert result.exit_code != 0
    assert message in " ".join(result.output.replace("│", " ").split())


class NotJSON(Handler):
    def do_POST(self):  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers["Content-Length"]))
        payload = b"<html>502 bad gateway</html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the with-block ends


@pytest.mark.parametrize("server", ["nothing listening", "not JSON"])
def test_evolve_ends_with_a_clear_error_when_the_llm_fails(server, tmp_path):
    """A dead or broken server ends the run quickly with exit code 1, not a silent hang."""
    if server == "not JSON":
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), NotJSON)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    else:
        httpd, base = None, f"http://127.0.0.1:{closed_port()}/v1"
    try:
        result = CliRunner().invoke(app, [
            "--env", "binpacking", "--llm", f"openai:m@{base}", "--run-dir", str(tmp_path / "r"),
            "--samples", "4", "--no-wandb", "--islands", "2", "--no-seed-variants", *SMALL])
    finally:
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
    assert result.exit_code == 1, result.output
    expected = "not JSON" if server == "not JSON" else "refused"
    assert "3 LLM calls in a row failed" in result.output and expected in result.output
    assert "--resume" in result.output


def test_unknown_llm_lists_the_known_ones(tmp_path):
    result = CliRunner().invoke(app, ["--llm", "llama-9000", "--samples", "1",
                                      "--run-dir", str(tmp_path / "r"), "--no-wandb"])
    assert result.exit_code == 2
    assert "qwen2.5-coder-0.5b" in result.output and "openai:<model>@<url>" in result.output


def test_a_start_from_program_that_fails_is_named(url, tmp_path):
    program = tmp_path / "scalar.py"
    program.write_text("def priority(item, bins):\n    return 1.0\n")
    result = CliRunner().invoke(app, ["--llm", f"openai:tiny@{url}", "--run-dir", str(tmp_path / "r"),
                                      "--samples", "2", "--no-wandb", "--start-from", str(program),
                                      *SMALL], env={"COLUMNS": "400"})
    assert result.exit_code == 2, result.output
    assert "the --start-from program scalar.py fails on train" in " ".join(result.output.replace("│", " ").split())
    assert not Handler.requests  # refused before any LLM call
