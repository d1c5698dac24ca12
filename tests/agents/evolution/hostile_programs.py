"""Hostile candidates (the reproducers of issue 13) and the checks that each one was contained.

A test helper, not part of the package. Every check runs one attack through the public
`evaluate_program` (or, for the OS layers, through the sandbox's own command line with the
Python-level checks left out) and returns `(contained, detail)`: contained means the attack
had no effect outside the candidate and gained it no score. `run_all(workdir)` runs every
check and is also called as `python hostile_programs.py <workdir>` (by the tests, as `nobody`
when they run as root), printing one JSON object: check name -> [contained, detail].

`workdir` must be writable by the user running the checks; it holds the marker files an
escaped candidate would create.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

SMALL = ("weibull-200:seed=0,count=2",)
SECRET = "sk-hostile-secret-0123456789"
FORGED = '{"ok": true, "score": 1000000.0, "scores": {}}\n'
OS = "np.lib._datasource.os"  # `os`, reachable through numpy's internals (no static check)
VISIBLE_ENV = "DG_HOSTILE_VISIBLE_DIR"  # a world-writable folder inside the sandbox's view


def candidate(body: str) -> str:
    return "def priority(item, bins):\n" + textwrap.indent(textwrap.dedent(body), "    ")


def evaluate(source: str, *, static_check: bool = False, timeout: float = 8.0):
    from discoverygym.agents.evolution import SandboxLimits, evaluate_program

    return evaluate_program(source, "binpacking", "train", datasets=SMALL,
                            limits=SandboxLimits(timeout_s=timeout, memory_mb=1024),
                            static_check=static_check)


def honest_score() -> float:
    result = evaluate(candidate("return -(bins - item)"), static_check=True)
    assert result.ok, result.error
    return result.score


def _text(result) -> str:
    return f"ok={result.ok} score={result.score} error={result.error!r}"


def _no_gain(result, honest: float) -> bool:
    """Failed, or scored exactly what the honest best fit scores (the forgery changed nothing)."""
    return (not result.ok) or result.score == honest


# ----------------------------------------------------------------- Python-level bypasses
def typing_sys_modules_bypass(workdir: Path) -> tuple[bool, str]:
    """Issue 13, reproducer 1, verbatim: rewrite the audit hook, then read a file."""
    source = textwrap.dedent("""\
        import typing
        def priority(item, bins):
            b = typing.sys.modules['builtins']
            b.setattr(b.getattr(typing.sys.modules['__main__'], '_audit_hook'), '__code__',
                      b.getattr(lambda e, a: None, '__code__'))
            raise ValueError(b.getattr(b, 'open')('/etc/passwd').read())
        """)
    result = evaluate(source, static_check=True)
    return (not result.ok and "root:" not in (result.error or "")), _text(result)


def bypass_then_write_and_spawn(workdir: Path) -> tuple[bool, str]:
    """After the same bypass: write a file, run /bin/sh (as the issue's candidate did)."""
    written, spawned = workdir / "written-by-candidate", workdir / "spawned-by-candidate"
    source = textwrap.dedent(f"""\
        import typing
        def priority(item, bins):
            b = typing.sys.modules['builtins']
            b.setattr(b.getattr(typing.sys.modules['__main__'], '_audit_hook'), '__code__',
                      b.getattr(lambda e, a: None, '__code__'))
            b.getattr(b, 'open')({str(written)!r}, 'w').write('x')
            typing.sys.modules['os'].system('touch {spawned}')
            return bins
        """)
    result = evaluate(source, static_check=True)
    return (not written.exists() and not spawned.exists()), _text(result)


def dataclasses_builtins_exec(workdir: Path) -> tuple[bool, str]:
    """`dataclasses.builtins.exec(...)` runs dunder code past the AST check."""
    target = workdir / "exec-by-candidate"
    source = candidate(f"""\
        import dataclasses
        dataclasses.builtins.exec("__import__('os').system('touch {target}')")
        dataclasses.builtins.exec("open({str(target)!r}, 'w').write('x')")
        return bins
        """)
    result = evaluate(source, static_check=True)
    return not target.exists(), _text(result)


def type_hints_string_annotation(workdir: Path) -> tuple[bool, str]:
    """`typing.get_type_hints` evaluates a string annotation: dunder code past the AST check."""
    target = workdir / "hints-by-candidate"
    source = textwrap.dedent(f"""\
        import typing
        def helper(x: "__import__('os').system('touch {target}')"):
            return x
        def priority(item, bins):
            typing.get_type_hints(helper)
            return bins
        """)
    result = evaluate(source, static_check=True)
    return not target.exists(), _text(result)


def subclasses_walk(workdir: Path) -> tuple[bool, str]:
    """The classic `().__class__.__base__.__subclasses__()` walk to `os.system`."""
    target = workdir / "subclasses-by-candidate"
    source = candidate(f"""\
        for cls in ().__class__.__base__.__subclasses__():
            if cls.__name__ == '_wrap_close':
                cls.__init__.__globals__['system']('touch {target}')
        return bins
        """)
    result = evaluate(source)
    return not target.exists(), _text(result)


# ------------------------------------------------------------------------ forged results
def mutated_instances(workdir: Path) -> tuple[bool, str]:
    """The candidate shrinks every item of the child's copy of the instances (found through
    the frames of its caller), so that the child packs the later instances into one bin: the
    parent verifies against its own copy."""
    honest = honest_score()
    source = candidate("""\
        try:
            raise ValueError
        except ValueError as error:
            frame = error.__traceback__.tb_frame
        while frame is not None:
            for value in list(frame.f_locals.values()):
                if value.__class__.__name__ == 'Dataset':
                    for instance in value.instances:  # frozen: through its __dict__
                        instance.__dict__['sizes'] = instance.sizes * 0 + 1
                        instance.__dict__['items'] = instance.items * 0 + 1
            frame = frame.f_back
        return -(bins - item)
        """)
    result = evaluate(source)
    return _no_gain(result, honest), _text(result)



def forged_score_on_every_fd(workdir: Path) -> tuple[bool, str]:
    """Issue 13, reproducer 2: a score written to the result channel (any fd) and exit."""
    honest = honest_score()
    source = candidate(f"""\
        os = {OS}
        for fd in range(1, 12):
            try:
                os.write(fd, {FORGED.encode()!r})
            except Exception:
                pass
        os._exit(0)
        """)
    result = evaluate(source)
    return (_no_gain(result, honest) and result.score != 1e6), _text(result)


def forged_decisions(workdir: Path) -> tuple[bool, str]:
    """Well-formed decisions that are not a packing (every item in bin 0), claiming all layers."""
    honest = honest_score()
    fake = {"ok": True, "error": None, "layers": {"seccomp": True, "landlock": True},
            "decisions": {SMALL[0]: [[0] * 200, [0] * 200]}}
    source = candidate(f"""\
        os = {OS}
        for fd in range(1, 12):
            try:
                os.write(fd, {(json.dumps(fake) + chr(10)).encode()!r})
            except Exception:
                pass
        os._exit(0)
        """)
    result = evaluate(source)
    return _no_gain(result, honest), _text(result)


def result_flood(workdir: Path) -> tuple[bool, str]:
    """Issue 13, reproducer 3: 200 MiB written to every fd; the parent's peak memory (measured
    with getrusage in a fresh process, against the same process scoring the honest seed)
    must stay bounded."""
    flood = candidate(f"""\
        os = {OS}
        chunk = b'x' * 2**20
        for _ in range(200):
            for fd in range(1, 12):
                try:
                    os.write(fd, chunk)
                except Exception:
                    pass
        return bins
        """)
    growth = {}
    for label, source in (("honest", candidate("return -(bins - item)")), ("flood", flood)):
        script = (f"import sys, json, resource; sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
                  "import hostile_programs as h\n"
                  "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
                  f"r = h.evaluate({source!r})\n"
                  "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
                  "print(json.dumps([before, after, r.ok, r.error]))\n")
        done = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True,
                              timeout=120, cwd=workdir)
        if done.returncode != 0:
            return False, f"{label}: {done.stderr[-500:]}"
        before, after, ok, _ = json.loads(done.stdout.strip().splitlines()[-1])
        growth[label] = (after - before) / 1024  # KiB -> MiB
        if label == "flood" and ok:
            return False, "the flood scored as ok"
    extra = growth["flood"] - growth["honest"]
    detail = (f"parent maxrss growth: honest {growth['honest']:.1f} MiB, "
              f"flood {growth['flood']:.1f} MiB (extra {extra:.1f} MiB)")
    return extra < 64, detail


# ---------------------------------------------------------------------- time and processes
def sleeping_candidate(workdir: Path) -> tuple[bool, str]:
    """Issue 13, reproducer 5: a candidate that sleeps (no CPU) is stopped by the wall clock."""
    source = candidate(f"{OS}.sys.modules['time'].sleep(600)\nreturn bins")
    start = time.monotonic()
    result = evaluate(source, timeout=3)
    took = time.monotonic() - start
    return (not result.ok and "timeout" in (result.error or "") and took < 15), \
        f"{_text(result)} after {took:.1f} s"


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def sigkill_parent_leaves_nothing(workdir: Path) -> tuple[bool, str]:
    """Issue 13, reproducer 5: SIGKILL of the evaluating process leaves no candidate process."""
    source = candidate(f"{OS}.sys.modules['time'].sleep(600)\nreturn bins")
    script = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
              "import hostile_programs as h\n"
              f"h.evaluate({source!r}, timeout=120)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=workdir)
    try:
        deadline, seen = time.monotonic() + 60, set()
        while time.monotonic() < deadline:
            seen = _descendants(parent.pid)
            cmdlines = []
            for pid in seen:
                try:
                    cmdlines.append(Path(f"/proc/{pid}/cmdline").read_bytes())
                except OSError:
                    pass
            if any(b"evolution._child" in c for c in cmdlines):
                break
            time.sleep(0.2)
        else:
            return False, "no sandbox child appeared within 60 s"
        time.sleep(1.0)  # the candidate is asleep by now
        seen = _descendants(parent.pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(pid) for pid in seen):
            time.sleep(0.1)
        left = sorted(pid for pid in seen if _alive(pid))
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
    for pid in left:  # clean up after a failure: these are processes this check started
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return not left, f"{len(seen)} sandbox processes before the kill, {len(left)} left after"


def fork_and_daemon(workdir: Path) -> tuple[bool, str]:
    """A candidate that forks a daemon to outlive its evaluation."""
    source = candidate(f"""\
        os = {OS}
        pid = os.fork()
        if pid == 0:
            os.sys.modules['time'].sleep(600)
            os._exit(0)
        raise ValueError('forked ' + str(pid))
        """)
    result = evaluate(source)
    return "forked" not in (result.error or ""), _text(result)


def kill_a_host_process(workdir: Path) -> tuple[bool, str]:
    """`os.kill` on a process of the host (a sacrificial sleeper), and on the parent."""
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        source = candidate(f"""\
            os = {OS}
            os.kill({sleeper.pid}, 9)
            os.kill(os.getppid(), 9)
            return bins
            """)
        result = evaluate(source)
        time.sleep(0.2)
        alive = sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()
    return alive, _text(result)


def subprocess_shell(workdir: Path) -> tuple[bool, str]:
    """`subprocess.run(['/bin/sh', ...])` (through sys.modules) and `os.posix_spawn`."""
    target = workdir / "shell-by-candidate"
    source = candidate(f"""\
        os = {OS}
        try:
            os.posix_spawn('/bin/sh', ['/bin/sh', '-c', 'touch {target}'], {{}})
        except Exception as error:
            first = repr(error)
        else:
            first = 'spawned'
        importlib = os.sys.modules['importlib']
        importlib.import_module('subprocess').run(['/bin/sh', '-c', 'touch {target}'])
        return bins
        """)
    result = evaluate(source)
    time.sleep(0.3)
    return not target.exists(), _text(result)


# ----------------------------------------------------------------------- secrets and network
def parent_environ(workdir: Path) -> tuple[bool, str]:
    """Issue 13: /proc/<ppid>/environ (and our own pid's) must not give the parent's secrets."""
    os.environ["DG_HOSTILE_SECRET"] = SECRET
    try:
        source = candidate(f"""\
            os = {OS}
            found = []
            for pid in (os.getppid(), {os.getpid()}, 1):
                try:
                    fd = os.open('/proc/%d/environ' % pid, os.O_RDONLY)
                    found.append(os.read(fd, 1 << 16))
                except Exception as error:
                    found.append(repr(error).encode())
            raise ValueError(b'|'.join(found).decode(errors='replace'))
            """)
        result = evaluate(source)
    finally:
        del os.environ["DG_HOSTILE_SECRET"]
    return SECRET not in (result.error or ""), _text(result)[:300]


def socket_to_loopback(workdir: Path) -> tuple[bool, str]:
    """A connection to a server on the host's 127.0.0.1 is refused."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(0.2)
    port, accepted = server.getsockname()[1], []

    def accept() -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not accepted:
            try:
                accepted.append(server.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        source = candidate(f"""\
            os = {OS}
            importlib = os.sys.modules['importlib']
            sock = importlib.import_module('socket').create_connection(('127.0.0.1', {port}), 2)
            sock.sendall(b'secret')
            return bins
            """)
        result = evaluate(source)
        thread.join(timeout=1.0)
    finally:
        server.close()
    return not accepted, _text(result)


# ---------------------------------------------------------- the OS layers, Python checks off
PROBE = r'''
import json, os, socket, sys
from discoverygym.agents.evolution import _child
try:
    import pyseccomp  # noqa: F401 - loaded before processes end, as the child does
except Exception:
    pass
port, host_pid, sleeper, workdir, secret_file, visible, readable = json.loads(sys.argv[1])
_child._limits(1024, 20)
_child._no_processes()
layers = {"landlock": _child._landlock("/tmp", readable), "seccomp": _child._seccomp()}
out = {"layers": layers, "uid": os.getuid()}
def attempt(name, fn):
    try:
        out[name] = "DONE: " + repr(fn())[:200]
    except BaseException as error:
        out[name] = "refused: " + repr(error)[:200]
def environ():
    fd = os.open("/proc/%d/environ" % host_pid, os.O_RDONLY)
    return os.read(fd, 1 << 16)
attempt("read_host_environ", environ)
attempt("read_secret_file", lambda: open(secret_file).read())
attempt("write_outside_scratch", lambda: open(os.path.join(workdir, "probe-wrote"), "w").write("x"))
if visible:
    attempt("write_visible_dir", lambda: open(os.path.join(visible, "probe-wrote"), "w").write("x"))
attempt("socket_loopback", lambda: socket.create_connection(("127.0.0.1", port), 2))
attempt("fork", lambda: os.fork())
attempt("exec_shell", lambda: os.posix_spawn("/bin/sh", ["/bin/sh", "-c", "true"], {}))
attempt("kill_host_process", lambda: os.kill(sleeper, 9))
attempt("ptrace_parent", lambda: open("/proc/%d/mem" % host_pid, "rb").read(1))
attempt("read_shadow", lambda: open("/etc/shadow").read())
attempt("scratch_size_limit", lambda: [open("/tmp/fill-%d" % k, "wb").write(b"x" * 2**20)
                                       for k in range(64)])
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
def syscall(*args):
    if libc.syscall(*args) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return "ok"
attempt("ptrace_attach", lambda: syscall(101, 16, host_pid, 0, 0))  # ptrace(PTRACE_ATTACH)
attempt("unshare_user_ns", lambda: syscall(272, 0x10000000))  # unshare(CLONE_NEWUSER)
attempt("kill_namespace_init", lambda: os.kill(1, 9))
attempt("udp_to_internet", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(
    b"x", ("8.8.8.8", 53)))
for name in list(out):
    if name.startswith("scratch_size_limit"):
        for k in range(64):
            try:
                os.remove("/tmp/fill-%d" % k)
            except OSError:
                pass
attempt("scratch_is_writable", lambda: open("/tmp/probe", "w").write("ok"))
os.write(1, json.dumps(out).encode())
'''


def os_layers_without_python_checks(workdir: Path) -> dict[str, tuple[bool, str]]:
    """Run a probe with no audit hook, no AST check and full builtins inside the sandbox's own
    command line and hardening (rlimits, Landlock, seccomp): what the OS alone refuses."""
    from discoverygym.agents.evolution import isolation

    visible = os.environ.get(VISIBLE_ENV) or ""
    secret_file = workdir / f"secret-{os.getuid()}"
    secret_file.write_text(SECRET)
    secret_file.chmod(0o600)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(5)
    sleeper = subprocess.Popen(["sleep", "60"])
    os.environ["DG_HOSTILE_SECRET"] = SECRET
    try:
        command, kwargs, mode = isolation.child_command(
            [sys.executable, "-c", PROBE,
             json.dumps([server.getsockname()[1], os.getpid(), sleeper.pid, str(workdir),
                         str(secret_file), visible, isolation.needed_paths()])])
        done = subprocess.run(command, check=False, capture_output=True, timeout=60, cwd="/",
                              env={} if mode == "bwrap" else {"PATH": os.environ.get("PATH", "")},
                              start_new_session=True, **kwargs)
        try:
            server.accept()
            connected = True
        except OSError:
            connected = False
        sleeper_alive = sleeper.poll() is None
    finally:
        del os.environ["DG_HOSTILE_SECRET"]
        server.close()
        sleeper.kill()
        sleeper.wait()
    try:
        out = json.loads(done.stdout.decode())
    except ValueError:
        return {"os:probe": (False, f"mode {mode}: no report: {done.stderr.decode()[-400:]}")}
    results = {}
    for name in ("read_host_environ", "read_secret_file", "write_outside_scratch",
                 "socket_loopback", "fork", "exec_shell", "kill_host_process", "ptrace_parent",
                 "read_shadow", "scratch_size_limit", "ptrace_attach", "unshare_user_ns",
                 "kill_namespace_init", "udp_to_internet"):
        results[f"os:{name}"] = (out[name].startswith("refused") and SECRET not in out[name],
                                 f"mode {mode}: {out[name]}")
    results["os:socket_loopback"] = (results["os:socket_loopback"][0] and not connected,
                                     results["os:socket_loopback"][1])
    results["os:kill_host_process"] = (results["os:kill_host_process"][0] and sleeper_alive,
                                       results["os:kill_host_process"][1])
    results["os:write_outside_scratch"] = (
        results["os:write_outside_scratch"][0] and not (workdir / "probe-wrote").exists(),
        results["os:write_outside_scratch"][1])
    if visible:
        results["os:write_visible_dir"] = (
            out["write_visible_dir"].startswith("refused")
            and not (Path(visible) / "probe-wrote").exists(), f"mode {mode}: {out['write_visible_dir']}")
    results["os:scratch_is_writable"] = (out["scratch_is_writable"].startswith("DONE"),
                                         f"mode {mode}: {out['scratch_is_writable']}")
    claimed = evaluate(candidate("return -(bins - item)"), static_check=True).sandbox
    agree = all(claimed.get(layer) == held for layer, held in out["layers"].items())
    results["os:layers"] = (agree, (f"mode {mode}, uid {out['uid']}, probe {out['layers']}, "
                                    f"evaluate_program claims {claimed}"))
    return results


CHECKS: dict[str, Callable[[Path], tuple[bool, str]]] = {
    fn.__name__: fn for fn in (
        typing_sys_modules_bypass, bypass_then_write_and_spawn, dataclasses_builtins_exec,
        type_hints_string_annotation, subclasses_walk, forged_score_on_every_fd,
        forged_decisions, mutated_instances, result_flood,
        sleeping_candidate, sigkill_parent_leaves_nothing, fork_and_daemon, kill_a_host_process,
        subprocess_shell, parent_environ, socket_to_loopback)
}


def run_all(workdir: Path, names: list[str] | None = None) -> dict[str, tuple[bool, str]]:
    """Every check (or those in `names`; "os" for the OS probe), after making sure the sandbox
    scores an honest program at all (otherwise every attack would look contained)."""
    try:
        results = {"honest_seed_scores": (True, f"score {honest_score()}")}
    except AssertionError as error:
        return {"honest_seed_scores": (False, f"the sandbox cannot score the seed: {error}")}
    for name, check in CHECKS.items():
        if names and name not in names:
            continue
        try:
            results[name] = check(workdir)
        except Exception as error:  # noqa: BLE001 - a crashed check is not a contained attack
            results[name] = (False, f"check crashed: {type(error).__name__}: {error}")
    if not names or "os" in names:
        try:
            results.update(os_layers_without_python_checks(workdir))
        except Exception as error:  # noqa: BLE001
            results["os:probe"] = (False, f"probe crashed: {type(error).__name__}: {error}")
    return results


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    selected = sys.argv[2].split(",") if len(sys.argv) > 2 else None
    print(json.dumps(run_all(Path(sys.argv[1]), selected)))
