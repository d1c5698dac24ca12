"""Stopping long work cleanly: SIGTERM handled as Ctrl-C.

A `kill`, a scheduler's preemption or a sweep ending a trial sends SIGTERM, whose default action
ends the process on the spot: a training run would lose its final model and notes, an evolution
run its last checkpoint. `sigterm_as_interrupt` makes SIGTERM raise KeyboardInterrupt in the main
thread while a block runs, so the code that already handles Ctrl-C (save, checkpoint, say how to
continue) handles both.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While the block runs, SIGTERM raises KeyboardInterrupt as Ctrl-C does. Only in the main
    thread (where Python delivers signals; elsewhere a no-op); the previous handler is restored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
