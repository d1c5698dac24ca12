"""An optuna sampler whose draws for trial `n` depend only on the sweep's seed and `n`.

A sampler seeded once restarts its random sequence when a killed sweep is resumed in a new
process, so the resumed trials repeat the parameters of the first ones. `TrialSeededSampler`
builds one inner sampler per trial, seeded from `(seed, trial.number)` (numpy's `SeedSequence`),
so trial `n` draws the same parameters whether the sweep ran in one go or was resumed, and a
resumed sweep continues the sequence. The inner sampler still sees the whole study (TPE models
every finished trial); only its randomness is tied to the trial. Parallel trials stay
reproducible too: optuna's per-thread `reseed_rng` is a no-op here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState


def trial_seed(seed: int, number: int) -> int:
    """The seed of trial `number` in a sweep seeded with `seed` (a 32-bit integer)."""
    return int(np.random.SeedSequence([seed, number]).generate_state(1)[0])


class TrialSeededSampler(BaseSampler):
    """Delegates each trial to `make(trial_seed(seed, trial.number))`."""

    def __init__(self, make: Callable[[int], BaseSampler], seed: int):
        self._make, self._seed = make, seed
        self._samplers: dict[int, BaseSampler] = {}
        self._lock = threading.Lock()

    def _inner(self, trial: FrozenTrial) -> BaseSampler:
        with self._lock:
            sampler = self._samplers.get(trial.number)
            if sampler is None:
                sampler = self._samplers[trial.number] = self._make(trial_seed(self._seed, trial.number))
            return sampler

    def reseed_rng(self) -> None:
        """Nothing to reseed: each trial's randomness comes from its number."""

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._inner(trial).before_trial(study, trial)

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return self._inner(trial).infer_relative_search_space(study, trial)

    def sample_relative(self, study: Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        return self._inner(trial).sample_relative(study, trial, search_space)

    def sample_independent(self, study: Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        return self._inner(trial).sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study: Study, trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        try:
            self._inner(trial).after_trial(study, trial, state, values)
        finally:
            with self._lock:
                self._samplers.pop(trial.number, None)
