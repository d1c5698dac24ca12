"""Adversarial candidates: each is contained, scored as failed with its reason, host unharmed."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from discoverygym.agents.evolution import SandboxLimits, evaluate_program, get_game
from discoverygym.agents.evolution import _child, isolation
from discoverygym.agents.evolution.safety import check_source

SMALL = ("weibull-200:seed=0,count=2",)
FAST = SandboxLimits(timeout_s=4, memory_mb=1024)


def run(body: str, *, static_check: bool = True, limits: SandboxLimits = FAST):
    source = "def priority(item, bins):\n" + textwrap.indent(textwrap.dedent(body), "    ")
    return evaluate_program(source, "binpacking", "train", datasets=SMALL, limits=limits,
                            static_check=static_check)


def test_seed_scores_and_runs_hardened():
    result = evaluate_program(get_game("binpacking").seed, "binpacking", "train", datasets=SMALL)
    assert result.ok, result.error
    assert result.score < 0 and len(result.scores) == 2
    assert set(result.sandbox) == {"mode", *isolation.LAYERS}
    assert result.sandbox["net_ns"] is True and result.sandbox["unprivileged_uid"] is True


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("import os\nwhile True:\n    os.fork()", "import of 'os' is not allowed"),
        ("import subprocess\nsubprocess.run(['true'])\nreturn bins", "import of 'subprocess'"),
        ("import socket\nsocket.create_connection(('127.0.0.1', 80))\nreturn bins", "import of 'socket'"),
        ("open('/tmp/dg_evil', 'w').write('x')\nreturn bins", "use of 'open'"),
        ("import os\nreturn bins * len(os.environ['HOME'])", "import of 'os'"),
        ("return priority_v0(item, bins)", "earlier version 'priority_v0'"),
        ("return ().__class__.__bases__[0].__subclasses__()", "private attribute"),
        ("np.save('/tmp/dg_evil.npy', bins)\nreturn bins", "attribute 'save'"),
        ("return eval('bins')", "use of 'eval'"),
        ("return bins +", "syntax error"),
    ],
)
def test_static_check_rejects_with_reason(body, reason):
    result = run(body)
    assert not result.ok and result.score is None
    assert reason in result.error


def test_infinite_loop_times_out():
    result = run("while True:\n    pass")
    assert not result.ok and "timeout" in result.error
    assert result.seconds < FAST.timeout_s + 5


def test_ten_gigabyte_allocation_hits_memory_limit():
    result = run("x = np.ones(10 * 2**30 // 8)\nreturn bins + x[0]")
    assert not result.ok and "memory" in result.error.lower()


def test_wrong_shape_and_nan_fail_with_item_index():
    shape = run("return np.zeros(len(bins) + 1)")
    assert not shape.ok and "shape" in shape.error and "item 0" in shape.error
    nan = run("return bins * np.nan")
    assert not nan.ok and "NaN" in nan.error
    scalar = run("return 1.0")
    assert not scalar.ok and "shape" in scalar.error


def test_runtime_layers_hold_without_the_static_check(tmp_path):
    """Bypass the AST check: the guarded import, audit hook, nobody and rlimits still hold."""
    target = Path("/tmp") / f"dg_evil_{os.getpid()}"
    blocked_import = run("import os\nreturn bins", static_check=False)
    assert not blocked_import.ok and "import of 'os' is not allowed" in blocked_import.error
    # `os` reachable through numpy's internals: fork and writes are denied at run time.
    fork = run("np.lib._datasource.os.fork()\nreturn bins", static_check=False)
    assert not fork.ok and ("denied" in fork.error or "Resource" in fork.error)
    write = run(f"np.save({str(target)!r}, bins)\nreturn bins", static_check=False)
    assert not write.ok and "denied" in write.error
    assert not target.exists() and not target.with_suffix(".npy").exists()
    no_open = run("open('x', 'w')\nreturn bins", static_check=False)
    assert not no_open.ok and "NameError" in no_open.error


def test_environment_is_scrubbed(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    result = run("raise ValueError(str(np.lib._datasource.os.environ.get('OPENAI_API_KEY')))",
                 static_check=False)
    assert not result.ok and "ValueError: None" in result.error
    assert "sk-very-secret" not in result.error


def test_audit_hook_denies_network_and_processes():
    for event in ("socket.connect", "socket.__new__", "subprocess.Popen", "os.system", "os.fork",
                  "open", "ctypes.dlopen"):
        with pytest.raises(PermissionError):
            _child._audit_hook(event, ("x",))
    _child._audit_hook("exec", ("x",))  # harmless events pass


def test_check_source_accepts_ordinary_heuristics():
    source = ("def priority(item, bins):\n    import math\n    from numpy import maximum\n"
              "    r = bins - item\n    return -r + maximum(r, 0) * math.log(2)\n")
    assert check_source(source, "priority") is None
    assert "no function named 'priority'" in str(check_source("def f(x):\n    return x\n", "priority"))


def test_jobshop_seed_and_random_rule_in_the_sandbox():
    data = ("random-8x6:seed=0,n=3",)
    seed = evaluate_program(get_game("jobshop").seed, "jobshop", "train", datasets=data)
    assert seed.ok, seed.error
    assert len(seed.scores) == 3 and all(value <= 0 for value in seed.scores.values())
    # Longest-processing-time among every unfinished job (no non-delay restriction) is worse.
    lpt = "def priority(job_features, machine_features):\n    return job_features[:, 0]\n"
    worse = evaluate_program(lpt, "jobshop", "train", datasets=data)
    assert worse.ok and worse.score < seed.score
    bad = evaluate_program("def priority(job_features, machine_features):\n    return job_features\n",
                           "jobshop", "train", datasets=data)
    assert not bad.ok and "shape" in bad.error


def test_version_like_local_names_are_fine_but_earlier_versions_are_not():
    local = "def priority(item, bins):\n    score_v2 = bins - item\n    return -score_v2\n"
    assert check_source(local, "priority") is None
    call = "def priority(item, bins):\n    return bin_value_v1(bins)\n"
    assert "earlier version 'bin_value_v1'" in str(check_source(call, "priority"))


def test_tensor_proposal_in_the_sandbox():
    data = ("2x2x3:mod2:seed=0:attempts=50000",)
    seed = evaluate_program(get_game("tensor").seed, "tensor", "train", datasets=data)
    assert seed.ok, seed.error
    assert -12 < seed.score <= -11  # reaches the best-known rank 11 of <2,2,3>
    garbage = evaluate_program("def propose(state, rng):\n    return 42\n", "tensor", "train",
                               datasets=data)
    assert not garbage.ok and garbage.error
    assert seed.decisions is None  # kept only when asked: the verified scheme, to replay
    kept = evaluate_program(get_game("tensor").seed, "tensor", "train", datasets=data,
                            keep_decisions=True)
    assert kept.score == seed.score and len(kept.decisions[data[0]]["u"][0]) == 11


# ----------------------------------------------------------------------------- OS isolation
needs_bwrap = pytest.mark.skipif(isolation.bwrap_works() is not None,
                                 reason=f"no OS sandbox here: {isolation.bwrap_works()}")


@needs_bwrap
def test_every_layer_holds_and_is_reported():
    result = run("return -(bins - item)")
    assert result.ok, result.error
    assert result.sandbox.pop("mode") == "bwrap"
    assert result.sandbox == dict.fromkeys(isolation.LAYERS, True)
    assert isolation.missing_layers(dict.fromkeys(isolation.LAYERS, True)) == {}


def test_direct_fallback_reports_the_missing_layers(monkeypatch):
    """Without bubblewrap the candidate still runs, and the result says what is missing."""
    monkeypatch.setattr(isolation, "_probe", lambda: ("bwrap", False))
    result = run("return -(bins - item)")
    assert result.ok, result.error
    assert result.sandbox["mode"] == "direct"
    missing = isolation.missing_layers({k: v for k, v in result.sandbox.items() if k != "mode"})
    assert {"pid_ns", "mount_ns", "readonly_fs", "empty_env"} <= set(missing)
    assert "apt-get install -y bubblewrap" in missing["pid_ns"]


@needs_bwrap
@pytest.mark.skipif(os.geteuid() != 0, reason="the root path drops to nobody itself")
def test_root_without_user_namespaces_keeps_the_other_layers(monkeypatch):
    monkeypatch.setattr(isolation, "_probe", lambda: (None, False))
    result = run("return -(bins - item)")
    assert result.ok, result.error
    held = {k for k, v in result.sandbox.items() if v is True}
    assert held == set(isolation.LAYERS) - {"user_ns"}
    missing = isolation.missing_layers({k: v for k, v in result.sandbox.items() if k != "mode"})
    assert list(missing) == ["user_ns"] and "user namespaces" in missing["user_ns"]


def test_scores_come_from_the_verified_decisions_not_the_child():
    """The child's answer is decisions; a result line with a score is not accepted."""
    from discoverygym.agents.evolution import sandbox

    data = sandbox._prepared("binpacking", SMALL)
    forged = b'{"ok": true, "score": 1000000.0, "scores": {}, "error": null, "layers": {}}\n'
    result = sandbox._verify("binpacking", data, forged, 0, "bwrap", 0.0, "train")
    assert not result.ok and "unexpected keys" in result.error
    layers = b'{"layers": {"seccomp": true, "landlock": "yes"}}\n'
    wrong = layers + b'{"ok": true, "error": null, "layers": {}, "decisions": {"x": 1}}\n'
    result = sandbox._verify("binpacking", data, wrong, 0, "bwrap", 0.0, "train")
    assert not result.ok and "decisions rejected" in result.error
    assert result.sandbox["seccomp"] is True and result.sandbox["landlock"] is False


def test_oversized_result_fails_and_the_child_is_killed(monkeypatch):
    from discoverygym.agents.evolution import sandbox

    monkeypatch.setattr(sandbox, "MAX_RESULT_BYTES", 1000)  # any real answer is larger
    result = evaluate_program(get_game("binpacking").seed, "binpacking", "train", datasets=SMALL)
    assert not result.ok and "result over 1000 bytes" in result.error


# ----------------------------------------------------------------------------- the CLI's gate
def test_evolve_refuses_a_weak_sandbox_unless_allowed(monkeypatch):
    import typer

    from discoverygym.agents.evolution import cli, sandbox

    weak = {"mode": "direct", **dict.fromkeys(isolation.LAYERS, True), "seccomp": False}
    monkeypatch.setattr(sandbox, "sandbox_check", lambda game: weak)
    with pytest.raises(typer.Exit):
        cli._sandbox_or_exit("binpacking", allow_weak=False)
    record = cli._sandbox_or_exit("binpacking", allow_weak=True)
    assert record["missing"] == ["seccomp"] and record["allow_weak_sandbox"] is True
    assert record["layers"] == weak


@needs_bwrap
def test_sandbox_check_measures_the_layers():
    from discoverygym.agents.evolution.sandbox import sandbox_check

    layers = sandbox_check("binpacking")
    assert layers["mode"] == "bwrap" and all(layers[k] for k in isolation.LAYERS)


# ----------------------------------------------------------------------------- user programs
def _program(tmp_path: Path, body: str, name: str = "user.py") -> Path:
    from discoverygym.agents.evolution.export import write_program

    source = "def priority(item, bins):\n" + textwrap.indent(textwrap.dedent(body), "    ")
    return write_program(tmp_path / name, source, "binpacking", {"scores": {}})


@needs_bwrap
def test_a_user_program_plays_from_the_sandbox_with_the_same_packing(tmp_path):
    import numpy as np

    from discoverygym.agents.evolution.export import load_agent
    from discoverygym.agents.evolution.served import SandboxedFunction
    from discoverygym.envs.binpacking import evaluate_priority, load_dataset

    agent = load_agent(_program(tmp_path, "return -(bins - item)"))
    assert isinstance(agent.priority, SandboxedFunction)
    assert agent.priority.sandbox == {"mode": "bwrap", **dict.fromkeys(isolation.LAYERS, True)}
    data = load_dataset("weibull-200:seed=3,count=2")
    served = evaluate_priority(agent.priority, data)
    local = evaluate_priority(lambda item, bins: -(bins - item), data)
    assert np.array_equal(served.bins_per_instance, local.bins_per_instance)
    agent.priority.close()


@needs_bwrap
def test_a_user_program_never_runs_in_this_process(tmp_path, monkeypatch):
    import numpy as np

    from discoverygym.agents.evolution.export import load_function
    from discoverygym.agents.evolution.served import SandboxedCallError
    from discoverygym.envs.binpacking import PriorityError, evaluate_priority, load_dataset

    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    with pytest.raises(ValueError, match="import of 'os' is not allowed"):
        load_function(_program(tmp_path, "import os\nreturn bins"))
    from discoverygym.agents.evolution.served import SandboxedFunction

    leak = SandboxedFunction("def priority(item, bins):\n"
                             "    raise ValueError(str(np.lib._datasource.os.environ))\n",
                             "binpacking", static_check=False)
    with pytest.raises(SandboxedCallError) as caught:
        leak(1.0, np.array([2.0]))
    assert "sk-very-secret" not in str(caught.value) and "OPENAI" not in str(caught.value)
    with pytest.raises(PriorityError):  # the evaluator names the item, as for any priority
        evaluate_priority(leak, load_dataset("weibull-200:seed=3,count=1"))
    sleeper = load_function(_program(tmp_path, "while True:\n    pass", "sleep.py"))
    sleeper.call_timeout_s = 1.0
    with pytest.raises(SandboxedCallError, match="time limit"):
        sleeper(1.0, np.array([2.0]))


def test_tensor_user_programs_are_refused_in_process(tmp_path):
    from discoverygym.agents.evolution.export import load_function, write_program

    path = write_program(tmp_path / "t.py", get_game("tensor").seed, "tensor", {"scores": {}})
    with pytest.raises(ValueError, match="SandboxedFlipGraphAgent"):
        load_function(path)


def test_only_shipped_programs_with_their_recorded_hash_run_in_process(tmp_path, monkeypatch):
    import json
    import types

    from discoverygym.agents.evolution import export

    assert export.is_trusted(export.models_dir() / "evolved_binpacking_gemma270m_1h.py")
    monkeypatch.setattr(export, "models_dir", lambda: tmp_path.resolve())
    path = _program(tmp_path, "return -(bins - item)", "shipped.py")
    summary = path.with_suffix(".summary.json")
    summary.write_text(json.dumps({"source_sha256": export.source_sha256(path)}))
    assert export.is_trusted(path)
    assert isinstance(export.load_function(path), types.FunctionType)  # in-process
    path.write_text(path.read_text() + "# edited after shipping\n")
    assert not export.is_trusted(path)
    if isolation.bwrap_works() is None:
        from discoverygym.agents.evolution.served import SandboxedFunction

        served = export.load_function(path)
        assert isinstance(served, SandboxedFunction)
        served.close()
    summary.write_text("not json")
    assert not export.is_trusted(path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    copy = outside / "shipped.py"
    copy.write_text(path.read_text())
    assert not export.is_trusted(copy)
