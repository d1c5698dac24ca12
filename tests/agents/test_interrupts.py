"""SIGTERM handled as Ctrl-C while a block runs, and only then."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from discoverygym.agents.interrupts import sigterm_as_interrupt


def test_sigterm_interrupts_the_block_and_the_handler_is_put_back(sigterm_guard) -> None:
    with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
        with sigterm_as_interrupt():
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(10**6):  # the handler runs at the next bytecode boundary
                pass
    assert signal.getsignal(signal.SIGTERM) is sigterm_guard
    with pytest.raises(RuntimeError, match="SIGTERM reached the test"):  # outside the block
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(10**6):
            pass


def test_outside_the_main_thread_it_changes_nothing() -> None:
    seen = []

    def worker() -> None:
        with sigterm_as_interrupt():
            seen.append(signal.getsignal(signal.SIGTERM))

    before = signal.getsignal(signal.SIGTERM)
    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == [before] and signal.getsignal(signal.SIGTERM) is before
