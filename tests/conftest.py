"""Test-wide settings: headless plotting, W&B offline in a temp dir, hypothesis profile."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator

import matplotlib
import pytest
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")

settings.register_profile(
    "ci", deadline=None, max_examples=50, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci")

# A local Ray instance started on a loaded 2-core machine can take longer than Ray's default
# 10 s to register its node (seen while an evolution run shared the cores).
os.environ.setdefault("RAY_raylet_start_wait_time_s", "120")


@pytest.fixture(autouse=True)
def _wandb_offline(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never talk to a W&B server from the tests; runs land in a temp dir."""
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path_factory.mktemp("wandb")))
    monkeypatch.delenv("WANDB_API_KEY", raising=False)


@pytest.fixture()
def sigterm_guard() -> Iterator[Callable]:
    """For tests that send this process SIGTERM: while the test runs, a SIGTERM that the code
    under test leaves unhandled raises RuntimeError (a test failure) instead of ending pytest.
    Yields the guard handler, so a test can check that the code put it back."""

    def escaped(signum: int, frame: object) -> None:
        raise RuntimeError("SIGTERM reached the test: the code under test did not handle it")

    previous = signal.signal(signal.SIGTERM, escaped)
    try:
        yield escaped
    finally:
        signal.signal(signal.SIGTERM, previous)
