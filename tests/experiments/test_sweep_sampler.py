"""Per-trial seeding: a sweep split into parts draws what the same sweep draws in one go."""

from __future__ import annotations

import optuna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discoverygym.experiments.sweep_sampler import TrialSeededSampler, trial_seed

optuna.logging.set_verbosity(optuna.logging.WARNING)

SAMPLERS = {
    "random": lambda seed: optuna.samplers.RandomSampler(seed=seed),
    "bayes": lambda seed: optuna.samplers.TPESampler(seed=seed, n_startup_trials=3),
}


def objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -5.0, 5.0)
    layers = trial.suggest_int("layers", 1, 8)
    act = trial.suggest_categorical("act", ["relu", "tanh", "gelu"])
    return (x - 1.0) ** 2 + layers + (act == "tanh")


def drawn(study: optuna.Study) -> list[dict]:
    return [t.params for t in sorted(study.trials, key=lambda t: t.number)]


def run(method: str, seed: int, parts: list[int]) -> list[dict]:
    """The sweep run as `parts` trials at a time, each part with a new sampler (a new process)."""
    storage = optuna.storages.InMemoryStorage()
    for count in parts:
        study = optuna.create_study(study_name="s", storage=storage, load_if_exists=True,
                                    sampler=TrialSeededSampler(SAMPLERS[method], seed))
        study.optimize(objective, n_trials=count)
    return drawn(study)


@settings(max_examples=15, deadline=None)
@given(method=st.sampled_from(sorted(SAMPLERS)), seed=st.integers(0, 2**31),
       parts=st.lists(st.integers(1, 3), min_size=2, max_size=4))
def test_a_resumed_sweep_continues_the_sequence(method, seed, parts):
    whole = run(method, seed, [sum(parts)])
    assert run(method, seed, parts) == whole
    assert len({tuple(sorted(p.items())) for p in whole}) == len(whole)  # no repeats


def test_the_seed_matters_and_a_plain_sampler_restarts_on_resume():
    assert run("random", 0, [4]) != run("random", 1, [4])
    assert trial_seed(0, 1) != trial_seed(0, 2) and 0 <= trial_seed(7, 3) < 2**32
    storage = optuna.storages.InMemoryStorage()  # what the sweep did before: one seeded sampler
    for count in (2, 2):
        study = optuna.create_study(study_name="s", storage=storage, load_if_exists=True,
                                    sampler=optuna.samplers.RandomSampler(seed=0))
        study.optimize(objective, n_trials=count)
    params = drawn(study)
    assert params[2:] == params[:2]


@pytest.mark.parametrize("n_jobs", [1, 3])
def test_parallel_trials_draw_the_same_as_sequential_ones(n_jobs):
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(storage=storage, sampler=TrialSeededSampler(SAMPLERS["random"], 5))
    study.optimize(objective, n_trials=6, n_jobs=n_jobs)
    assert drawn(study) == run("random", 5, [6])
