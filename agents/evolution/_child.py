"""The sandbox child: harden this process, then score one candidate and print one JSON line.

Run as `python -m discoverygym.agents.evolution._child` by `sandbox.run_in_sandbox`, with the
job (JSON) on stdin. Layers, in order: resource limits (address space, CPU seconds, file size,
open files), a new network namespace (no interface but loopback-down; when the kernel refuses,
the audit hook below still blocks sockets), the trusted imports and the data loaded, privileges
dropped to `nobody` when started as root (then no process creation at all: RLIMIT_NPROC = 0), then a runtime audit
hook that denies file opens, sockets, process creation, signals and ctypes, and finally the
candidate executed with a restricted `__builtins__` whose `__import__` only knows the allowed
modules. The result goes to a private copy of the original stdout; the candidate's own prints
go nowhere.
"""

from __future__ import annotations

import json
import os
import sys

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
NOBODY = 65534
SAFE_BUILTINS = (
    "abs all any ascii bin bool bytes callable chr complex dict divmod enumerate filter float "
    "format frozenset hash hex int isinstance issubclass iter len list map max min next oct ord "
    "pow print range repr reversed round set slice sorted str sum tuple zip ArithmeticError "
    "AssertionError Exception IndexError KeyError OverflowError RuntimeError StopIteration "
    "TypeError ValueError ZeroDivisionError True False None NotImplemented"
).split()
# numpy submodules loaded on first use: preloaded, since files are off-limits later.
NUMPY_LAZY = ("numpy.ma", "numpy.fft", "numpy.polynomial", "numpy.random", "numpy.linalg",
              "numpy.strings", "numpy.char", "numpy.rec")
DENIED_EVENTS = (
    "socket.", "subprocess.", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
    "os.forkpty", "os.kill", "os.killpg", "os.remove", "os.rename", "os.rmdir", "os.mkdir",
    "os.chmod", "os.chown", "os.link", "os.symlink", "os.truncate", "os.putenv", "os.unsetenv",
    "os.listdir", "os.scandir", "os.chdir", "os.startfile", "ctypes.", "shutil.", "pty.",
    "webbrowser.", "urllib.", "http.", "ftplib.", "smtplib.",
    "code.__new__", "function.__new__", "marshal.", "pickle.", "sqlite3.", "mmap.", "msvcrt.",
)


def _unshare_network() -> str:
    """Enter a fresh network namespace; return what happened (for the result)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        for flags in (CLONE_NEWNET, CLONE_NEWUSER | CLONE_NEWNET):
            if libc.unshare(flags) == 0:
                return "netns"
    except Exception:  # noqa: BLE001 - any failure falls back to the audit hook
        pass
    return "audit-only"


def _limits(memory_mb: int, cpu_s: int) -> None:
    import resource

    memory = memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (2**20, 2**20))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _drop_privileges(workdir: str) -> bool:
    if os.geteuid() != 0:
        return False
    os.chown(workdir, NOBODY, NOBODY)
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)
    return True


def _no_processes() -> None:
    import resource

    try:
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    except (ValueError, OSError):
        pass


def _audit_hook(event: str, args: tuple) -> None:
    if event == "open":
        raise PermissionError(f"sandbox: file access denied ({args[0]!r})")
    if event.startswith(DENIED_EVENTS):
        raise PermissionError(f"sandbox: {event} denied")


def _restricted_builtins(allowed: frozenset[str]) -> dict:
    import builtins

    safe = {name: getattr(builtins, name) for name in SAFE_BUILTINS if hasattr(builtins, name)}

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):  # noqa: A002
        if level or name.split(".")[0] not in allowed:
            raise ImportError(f"sandbox: import of {name!r} is not allowed")
        return __import__(name, globals, locals, fromlist, level)

    safe["__import__"] = guarded_import
    return safe


def _where(error: BaseException) -> str:
    """Line of the candidate where `error` was raised (no source lookup: files are off-limits)."""
    tb, line = error.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<candidate>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return f" (candidate line {line})" if line else ""


def main() -> None:
    job = json.loads(sys.stdin.read())
    result_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.chdir(job["workdir"])
    result: dict = {"ok": False, "error": "sandbox: no result"}
    try:
        _limits(job["memory_mb"], job["cpu_s"])
        network = _unshare_network()
        import importlib
        import math  # noqa: F401 - preloaded for candidates

        import numpy  # noqa: F401

        from discoverygym.agents.evolution import safety
        from discoverygym.agents.evolution.games import get_game

        spec = get_game(job["game"])
        module_name, prefix = spec.scorer.split(":")
        scorer = importlib.import_module(module_name)
        data = getattr(scorer, f"{prefix}_prepare")(tuple(job["datasets"]))
        score_fn = getattr(scorer, f"{prefix}_score")
        for module in sorted(safety.ALLOWED_MODULES) + list(NUMPY_LAZY):
            importlib.import_module(module)
        # Imports and data first (they read files that `nobody` may not reach), then drop.
        dropped = _drop_privileges(job["workdir"])
        if dropped:
            _no_processes()
        sys.addaudithook(_audit_hook)
        result["sandbox"] = {"network": network, "nobody": dropped}
        namespace = {"__builtins__": _restricted_builtins(safety.ALLOWED_MODULES),
                     "__name__": "candidate"}
        provided = getattr(scorer, f"{prefix}_namespace", None)
        if provided is not None:  # trusted helpers of the game (e.g. the tensor game's Flip)
            namespace.update(provided())
        code = compile(spec.preamble + "\n" + job["source"], "<candidate>", "exec")
        exec(code, namespace)  # noqa: S102 - this is the sandbox
        fn = namespace[spec.function_name]
        score, scores = score_fn(fn, data)
        if not (score == score) or score in (float("inf"), float("-inf")):
            raise ValueError(f"score is not finite: {score}")
        result.update(ok=True, error=None, score=score, scores=scores)
    except MemoryError:
        result.update(ok=False, error="memory limit exceeded (MemoryError)")
    except RecursionError:
        result.update(ok=False, error="recursion limit exceeded")
    except BaseException as error:  # noqa: BLE001 - every failure is a result
        message = str(error)[:500]
        result.update(ok=False, error=f"{type(error).__name__}: {message}{_where(error)}")
    try:
        payload = json.dumps(result, allow_nan=False)
    except ValueError:
        payload = json.dumps({"ok": False, "error": "result has non-finite scores"})
    os.write(result_fd, payload.encode() + b"\n")
    os._exit(0)


if __name__ == "__main__":
    main()
