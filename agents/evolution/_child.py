"""The sandbox child: harden this process, run one candidate, print its decisions (never a score).

Run as `python -m discoverygym.agents.evolution._child` by `sandbox.evaluate_program`, normally
inside bubblewrap (new user, mount, PID, network, IPC and UTS namespaces, read-only file
system with a private size-limited scratch directory as the working directory, empty
environment, unprivileged uid, death with the parent; see `isolation`), with the job on stdin
(a 4-byte little-endian length, then JSON). In this process, in order: resource limits (address space, CPU seconds, file size, open
files, no core dumps); the trusted imports and the game's data; in the `direct` fallback (no
bubblewrap) a new network namespace when the kernel allows it and the drop to `nobody` when
started as root; then no more processes (RLIMIT_NPROC = 0); Landlock (writes only in the
scratch directory, reads only of the interpreter, environment and package sources, no
execution) and a seccomp filter (no sockets, ptrace, process creation,
exec, signals to other processes or namespace changes) where the kernel has them; then the
Python-level early rejection: a runtime audit hook and a restricted `__builtins__` whose
`__import__` only knows the allowed modules. Finally the candidate runs through the game's
`<g>_decide` and one JSON line `{"ok": ..., "decisions" | "error": ..., "layers": {...}}` goes
to a private copy of the original stdout, after a first line `{"layers": {...}}` written before
the candidate is compiled (the only layer report the parent reads); the candidate's own prints
go nowhere.

None of this is trusted by the parent: it reads at most a fixed number of bytes, checks the
schema and verifies the decisions itself (`scorers.<g>_verify`).
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
    "webbrowser.", "urllib.", "http.", "ftplib.", "smtplib.", "sys.addaudithook",
    "code.__new__", "function.__new__", "marshal.", "pickle.", "sqlite3.", "mmap.", "msvcrt.",
    "object.__setattr__", "object.__delattr__", "sys._getframe", "sys.setprofile",
    "sys.settrace", "gc.get_referrers", "gc.get_objects",
)
# Denied with EPERM by the seccomp filter once the candidate is about to run.
DENIED_SYSCALLS = (
    "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4", "sendto",
    "sendmsg", "sendmmsg", "recvfrom", "recvmsg", "recvmmsg", "ptrace", "process_vm_readv",
    "process_vm_writev", "fork", "vfork", "clone", "execve", "execveat", "kill", "tkill",
    "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_open", "pidfd_send_signal",
    "pidfd_getfd", "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "bpf",
    "perf_event_open", "keyctl", "add_key", "request_key", "userfaultfd", "io_uring_setup",
    "personality", "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid",
    "setgroups", "open_by_handle_at", "name_to_handle_at", "kcmp", "move_mount", "open_tree",
    "fsopen", "fsmount", "fspick",
)
ENOSYS = 38


def _unshare_network() -> bool:
    """Direct mode only: enter a fresh network namespace; return whether it worked."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        for flags in (CLONE_NEWNET, CLONE_NEWUSER | CLONE_NEWNET):
            if libc.unshare(flags) == 0:
                return True
    except Exception:  # noqa: BLE001 - any failure is reported as a missing layer
        pass
    return False


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


def _preload_security() -> None:
    """Import the seccomp and Landlock bindings while processes and files are still allowed
    (`ctypes.util.find_library` runs ldconfig)."""
    for module in ("pyseccomp", "landlock"):
        try:
            __import__(module)
        except Exception:  # noqa: BLE001, S110 - a missing binding is reported as a missing layer
            pass


def _landlock(scratch: str, readable: list[str] | None = None) -> bool:
    """Reads only below `readable` (default: `isolation.needed_paths()`, what the child needs),
    writes only below `scratch`, no execution anywhere (False when unavailable)."""
    try:
        from landlock import FSAccess, Ruleset
    except Exception:  # noqa: BLE001 - reported as a missing layer
        return False
    if readable is None:
        from discoverygym.agents.evolution.isolation import needed_paths

        readable = needed_paths()
    try:
        ruleset = Ruleset()
        for path in readable:
            if os.path.isdir(path):
                ruleset.allow(path, rules=FSAccess.READ_FILE | FSAccess.READ_DIR)
        ruleset.allow(scratch, rules=FSAccess.all() & ~FSAccess.EXECUTE)
        ruleset.apply()
    except Exception:  # noqa: BLE001 - kernel without Landlock: reported as missing
        return False
    return True


def _seccomp() -> bool:
    """Deny sockets, ptrace, process creation, exec, signals and namespace changes."""
    try:
        import errno

        import pyseccomp as seccomp
    except Exception:  # noqa: BLE001 - reported as a missing layer
        return False
    try:
        rules = seccomp.SyscallFilter(seccomp.ALLOW)
        for name in DENIED_SYSCALLS:
            try:
                rules.add_rule(seccomp.ERRNO(errno.EPERM), name)
            except (OSError, ValueError, RuntimeError):
                pass  # a syscall this architecture does not have
        rules.add_rule(seccomp.ERRNO(ENOSYS), "clone3")  # glibc then tries clone: EPERM
        rules.load()
    except Exception:  # noqa: BLE001 - no libseccomp or no kernel support: reported
        return False
    return True


def _audit_hook(event: str, args: tuple) -> None:
    if event == "open":
        raise PermissionError(f"sandbox: file access denied ({args[0]!r})")
    if event.startswith(DENIED_EVENTS):
        raise PermissionError(f"sandbox: {event} denied")


def _restricted_builtins(allowed: frozenset[str]) -> dict:
    import builtins

    safe = {name: getattr(builtins, name) for name in SAFE_BUILTINS if hasattr(builtins, name)}

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
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


_PENDING = bytearray()  # stdin read ahead (requests arrive in one piece)


def _read_exact(size: int) -> bytes:
    while len(_PENDING) < size:
        chunk = os.read(0, max(1 << 16, size - len(_PENDING)))
        if not chunk:
            raise EOFError
        _PENDING.extend(chunk)
    data = bytes(_PENDING[:size])
    del _PENDING[:size]
    return data


def _serve(fn, out: int) -> None:
    """Answer calls of `fn` (protocol in `served`): a request is a 4-byte length, a JSON header
    listing the arguments, then the arrays' bytes; the answer is status 0, ndim, dims, float64
    data, or status 1 and an error message."""
    import struct

    import numpy as np

    while True:
        try:
            (length,) = struct.unpack("<I", _read_exact(4))
            header = json.loads(_read_exact(length))
            args = []
            for kind, spec in header:
                if kind == "s":
                    args.append(spec)
                else:
                    dtype, shape = np.dtype(spec[0]), tuple(spec[1])
                    size = dtype.itemsize * int(np.prod(shape, dtype=np.int64))
                    args.append(np.frombuffer(_read_exact(size), dtype=dtype).reshape(shape).copy())
        except EOFError:
            return
        try:
            value = np.asarray(fn(*args), dtype=np.float64)
            if value.ndim > 2:
                raise ValueError(f"returned an array with {value.ndim} dimensions")
            answer = (struct.pack("<BB", 0, value.ndim) + struct.pack(f"<{value.ndim}I", *value.shape)
                      + value.tobytes())
        except BaseException as error:  # noqa: BLE001 - every failure is an answer
            text = f"{type(error).__name__}: {str(error)[:400]}{_where(error)}".encode()[:1000]
            answer = struct.pack("<BI", 1, len(text)) + text
        os.write(out, answer)


def main() -> None:
    import struct

    (length,) = struct.unpack("<I", _read_exact(4))  # the job: a 4-byte length, then JSON
    job = json.loads(_read_exact(length))
    result_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.chdir(job["workdir"])
    layers: dict = {}
    result: dict = {"ok": False, "error": "sandbox: no result", "layers": layers}
    try:
        _limits(job["memory_mb"], job["cpu_s"])
        if job.get("mode") == "direct":
            layers["net_ns"] = _unshare_network()
        import importlib
        import math  # noqa: F401 - preloaded for candidates

        import numpy  # noqa: F401
        from discoverygym.agents.evolution import safety
        from discoverygym.agents.evolution.games import get_game

        spec = get_game(job["game"])
        module_name, prefix = spec.scorer.split(":")
        scorer = importlib.import_module(module_name)
        data = getattr(scorer, f"{prefix}_prepare")(tuple(job["datasets"]))
        decide = getattr(scorer, f"{prefix}_decide")
        for module in sorted(safety.ALLOWED_MODULES) + list(NUMPY_LAZY):
            importlib.import_module(module)
        _preload_security()
        provided = getattr(scorer, f"{prefix}_namespace", None)
        helpers = provided() if provided is not None else {}
        # Imports and data first (they read files that `nobody` may not reach), then drop.
        if job.get("mode") == "direct":
            layers["unprivileged_uid"] = _drop_privileges(job["workdir"]) or os.geteuid() != 0
        _no_processes()
        layers["landlock"] = _landlock(job["workdir"], job.get("readable"))
        layers["seccomp"] = _seccomp()
        # The layers go out now, before the candidate exists: the parent believes this line only.
        os.write(result_fd, json.dumps({"layers": layers}).encode() + b"\n")
        sys.addaudithook(_audit_hook)
        namespace = {"__builtins__": _restricted_builtins(safety.ALLOWED_MODULES),
                     "__name__": "candidate"}
        namespace.update(helpers)  # trusted helpers of the game (e.g. the tensor game's Flip)
        code = compile(spec.preamble + "\n" + job["source"], "<candidate>", "exec")
        exec(code, namespace)  # noqa: S102 - this is the sandbox
        fn = namespace[spec.function_name]
        if job.get("serve"):
            os.write(result_fd, b"R")  # loaded: serve calls until the parent closes stdin
            _serve(fn, result_fd)
            os._exit(0)
        result.update(ok=True, error=None, decisions=decide(fn, data))
    except MemoryError:
        result.update(ok=False, error="memory limit exceeded (MemoryError)")
    except RecursionError:
        result.update(ok=False, error="recursion limit exceeded")
    except BaseException as error:  # noqa: BLE001 - every failure is a result
        message = str(error)[:500]
        result.update(ok=False, error=f"{type(error).__name__}: {message}{_where(error)}")
    try:
        payload = json.dumps(result, allow_nan=False)
    except (ValueError, TypeError) as error:
        payload = json.dumps({"ok": False, "error": f"decisions are not plain JSON: {error}"})
    os.write(result_fd, payload.encode() + b"\n")
    os._exit(0)


if __name__ == "__main__":
    main()
