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


class ScriptedFactorPolicy:
    """A stand-in for `FactorPolicy` in the tensor search's tests: it proposes the same terms
    with the same log-probabilities at every state (<2,2,2>, coefficients {-1, 0, 1})."""

    def __init__(self, terms: list, logp: list[float]) -> None:
        import numpy as np

        from discoverygym.agents.rl.tensor_factors import FactorPolicyConfig, factor_codecs

        self.config = FactorPolicyConfig()
        self.codecs = factor_codecs(self.config)
        self.tokens = np.array(
            [[self.codecs[k].encode(np.asarray(t[k])) for k in range(3)] for t in terms]
        )
        self.logp = np.asarray(logp, dtype=float)

    def top_terms(self, residuals, budgets, top):
        import numpy as np

        count = len(residuals)
        return (
            np.arange(count).repeat(len(self.tokens)),
            np.tile(self.tokens, (count, 1)),
            np.tile(self.logp, count),
        )

    def decode(self, tokens):
        return tuple(self.codecs[k].decode(tokens[:, k]) for k in range(3))

    @staticmethod
    def strassen_terms() -> list:
        from discoverygym.agents.rl.tensor_factors import canonical_signs
        from discoverygym.envs.tensor.known import strassen

        u, v, w = canonical_signs(*(f.T for f in strassen()))
        return list(zip(u, v, w, strict=True))

    @staticmethod
    def naive_terms() -> list:
        from discoverygym.agents.heuristics.tensor_search import naive_decomposition

        return list(zip(*(f.T for f in naive_decomposition(2, 2, 2)), strict=True))


@pytest.fixture()
def scripted_factor_policy() -> type[ScriptedFactorPolicy]:
    """`ScriptedFactorPolicy`: build it with terms (e.g. its `strassen_terms()` and
    `naive_terms()`) and their log-probabilities."""
    return ScriptedFactorPolicy
