"""An evolved function from outside the package, called through a persistent sandboxed child.

`SandboxedFunction(source, game)` starts one `_child` in serve mode inside the same OS sandbox
as `evaluate_program` (`isolation`: namespaces, unprivileged uid, read-only file system,
empty environment, death with this process; Landlock, seccomp and rlimits inside), loads the
candidate there once, and then answers each call `fn(*args)` (numbers and numpy arrays in,
one real array of at most 2 dimensions out). The answers are read with hard limits: at most
`MAX_VALUES` values and `MAX_ERROR_BYTES` of error text, each call within `call_timeout_s`
seconds; anything else kills the child and raises `SandboxedCallError`. The caller (the game's
agent and evaluator) then checks the values as it checks any priority function's.

Wire format (parent -> child): a 4-byte little-endian length, a JSON header listing the
arguments (`["s", number]` or `["a", [dtype, shape]]`), then the arrays' raw bytes in order.
Child -> parent: status byte 0, ndim byte, ndim uint32 dimensions, float64 values; or status
byte 1, a uint32 length and a UTF-8 error message.
"""

from __future__ import annotations

import json
import os
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from typing import Any

import numpy as np
from discoverygym.agents.evolution import isolation, safety
from discoverygym.agents.evolution.games import get_game

MAX_VALUES = 1 << 20
MAX_ERROR_BYTES = 1000
MAX_LOAD_ERROR_BYTES = 4096


class SandboxedCallError(RuntimeError):
    """The sandboxed function failed, answered out of protocol or too late."""


class SandboxedFunction:
    """A candidate's function run in a persistent sandboxed child (see the module docstring).

    `close()` (also at garbage collection) ends the child; so does the end of this process.
    `static_check=False` skips the AST allow-list (tests use it to probe the OS layers).
    """

    def __init__(self, source: str, game: str, *, name: str = "<program>",
                 call_timeout_s: float = 30.0, load_timeout_s: float = 60.0,
                 memory_mb: int = 2048, cpu_s: int = 3600, static_check: bool = True) -> None:
        spec = get_game(game)
        rejection = safety.check_source(source, spec.function_name) if static_check else None
        if rejection is not None:
            raise ValueError(f"{name}: {rejection}")
        self.name, self.call_timeout_s = name, call_timeout_s
        self._lock = threading.Lock()
        command, kwargs, self.mode = isolation.child_command(
            [sys.executable, "-m", "discoverygym.agents.evolution._child"])
        job = {"source": source, "game": game, "datasets": [], "mode": self.mode, "serve": True,
               "workdir": isolation.SCRATCH if self.mode == "bwrap" else "/tmp",
               "memory_mb": memory_mb, "cpu_s": cpu_s, "readable": isolation.needed_paths()}
        if self.mode == "direct":
            raise RuntimeError(f"{name}: no OS sandbox here to run a program from outside the "
                               f"package ({isolation.bwrap_works()}); "
                               f"{isolation.HOW_TO['bwrap']}")
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            cwd="/", env={}, start_new_session=True, close_fds=True, **kwargs)
        self._in, self._out = self._process.stdin.fileno(), self._process.stdout.fileno()
        self._pending = bytearray()
        text = json.dumps(job).encode()
        os.write(self._in, struct.pack("<I", len(text)) + text)
        deadline = time.monotonic() + load_timeout_s
        line = self._read_line(MAX_LOAD_ERROR_BYTES, deadline)
        self.layers: dict[str, bool] = {}
        try:
            message = json.loads(line)
        except (ValueError, RecursionError):
            message = None
        if isinstance(message, dict) and isinstance(message.get("layers"), dict):
            self.layers = {k: v is True for k, v in message["layers"].items()
                           if k in isolation.LAYERS}
            line = self._read(1, deadline)
            if line != b"R":
                line += self._read_line(MAX_LOAD_ERROR_BYTES, time.monotonic() + 5)
            try:
                message = json.loads(line) if line != b"R" else None
            except (ValueError, RecursionError):
                message = {}
        if line != b"R":
            self.close()
            error = message.get("error") if isinstance(message, dict) else None
            raise ValueError(f"{name}: the program does not load in the sandbox: "
                             f"{str(error)[:500] if error else 'no readable answer'}")
        self.sandbox = {"mode": self.mode, **isolation.layers_of(self.mode, self.layers)}

    def _fill(self, deadline: float) -> bool:
        """Read what the child has written so far into the buffer (False on EOF or timeout)."""
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([self._out], [], [], remaining)[0]:
            return False
        chunk = os.read(self._out, 1 << 16)
        self._pending.extend(chunk)
        return bool(chunk)

    def _read(self, size: int, deadline: float) -> bytes:
        while len(self._pending) < size:
            if not self._fill(deadline):
                self.close()
                raise SandboxedCallError(f"{self.name}: no answer within the time limit, or "
                                         "the sandboxed child ended")
        data = bytes(self._pending[:size])
        del self._pending[:size]
        return data

    def _read_line(self, cap: int, deadline: float) -> bytes:
        """Bytes up to a newline (excluded), at most `cap`, until `deadline` or EOF."""
        while b"\n" not in self._pending and len(self._pending) < cap:
            if not self._fill(deadline):
                break
        end = self._pending.find(b"\n")
        size = min(cap, len(self._pending)) if end < 0 else end + 1
        data = bytes(self._pending[:size])
        del self._pending[:size]
        return data.rstrip(b"\n")

    def __call__(self, *args: Any) -> np.ndarray:
        header, blobs = [], []
        for arg in args:
            if isinstance(arg, np.ndarray):
                array = np.ascontiguousarray(arg)
                header.append(["a", [array.dtype.str, list(array.shape)]])
                blobs.append(array.tobytes())
            elif isinstance(arg, (int, float, np.integer, np.floating)) and not isinstance(arg, bool):
                header.append(["s", arg.item() if isinstance(arg, np.generic) else arg])
            else:
                raise TypeError(f"{self.name}: cannot pass a {type(arg).__name__} to the sandbox")
        text = json.dumps(header).encode()
        request = struct.pack("<I", len(text)) + text + b"".join(blobs)
        with self._lock:
            if self._process is None:
                raise SandboxedCallError(f"{self.name}: the sandboxed child is closed")
            deadline = time.monotonic() + self.call_timeout_s
            try:
                os.write(self._in, request)
            except BrokenPipeError:
                self.close()
                raise SandboxedCallError(f"{self.name}: the sandboxed child ended") from None
            status = self._read(1, deadline)
            if status == b"\x01":
                (length,) = struct.unpack("<I", self._read(4, deadline))
                if length > MAX_ERROR_BYTES:
                    self.close()
                    raise SandboxedCallError(f"{self.name}: error message over {MAX_ERROR_BYTES} bytes")
                raise SandboxedCallError(self._read(length, deadline).decode(errors="replace"))
            if status != b"\x00":
                self.close()
                raise SandboxedCallError(f"{self.name}: answer out of protocol")
            (ndim,) = struct.unpack("<B", self._read(1, deadline))
            if ndim > 2:
                self.close()
                raise SandboxedCallError(f"{self.name}: answer out of protocol (ndim {ndim})")
            shape = struct.unpack(f"<{ndim}I", self._read(4 * ndim, deadline))
            count = int(np.prod(shape, dtype=np.int64))
            if count > MAX_VALUES:
                self.close()
                raise SandboxedCallError(f"{self.name}: answer of {count} values, over {MAX_VALUES}")
            return np.frombuffer(self._read(8 * count, deadline), dtype=np.float64).reshape(shape).copy()

    def close(self) -> None:
        process, self._process = getattr(self, "_process", None), None
        if process is None:
            return
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        process.kill()
        process.wait()
        for pipe in (process.stdin, process.stdout):
            try:
                pipe.close()
            except OSError:
                pass

    def __del__(self) -> None:
        self.close()
