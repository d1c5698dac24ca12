"""Shipped evolved programs: trusted by hash, run in-process, quietly."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from discoverygym.agents.evolution.export import is_trusted, load_function, models_dir


def test_shipped_bin_packing_program_ranks_a_perfect_fit_first_without_warnings():
    path = models_dir() / "evolved_binpacking_qwen05b.py"
    assert is_trusted(path)
    priority = load_function(path)
    bins = np.array([30.0, 12.0, 100.0, 50.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning would fail here
        scores = priority(12.0, bins)
    assert int(np.argmax(scores)) == 1  # the bin the item fills exactly
    assert priority.__name__ == "priority"


def test_shipped_cap_set_program_beats_the_constant_priority_at_n8():
    from discoverygym.envs.capset import greedy_cap_set, verify

    priority = load_function(models_dir() / "evolved_capset_qwen05b.py")
    assert verify(8, greedy_cap_set(8, priority)) > 2**8


def test_every_shipped_program_matches_its_recorded_hash():
    """A shipped program edited after shipping (by a formatter, say) would silently move to
    the sandbox path; its bytes must stay those whose SHA-256 the summary records."""
    programs = sorted(models_dir().glob("evolved_*.py"))
    assert len(programs) >= 3
    assert [p.name for p in programs if not is_trusted(p)] == []


def test_shipped_tuned_bin_packing_program_beats_its_original_on_a_fresh_set():
    """The constants `discoverygym tune` chose hold on a Weibull set no run saw."""
    from discoverygym.experiments.evaluate import evaluate

    def gap(agent: str) -> float:
        (record,) = evaluate(agent, "binpacking", "weibull-5k:seed=7")
        return record.gap

    assert is_trusted(models_dir() / "evolved_binpacking_qwen05b_tuned.py")
    tuned, original = gap("evolved:evolved_binpacking_qwen05b_tuned"), gap("evolved:evolved_binpacking_qwen05b")
    assert tuned < original < gap("best_fit")


def test_shipped_job_shop_program_beats_mwkr_on_taillard_20x20():
    """Checked schedules (the suite's checker) for the evolved rule and its seed, MWKR."""
    from discoverygym.experiments.evaluate import evaluate

    def gap(agent: str) -> float:
        records = evaluate(agent, "jobshop", "taillard-20x20")
        return float(np.mean([r.gap for r in records]))

    assert gap("evolved:evolved_jobshop_qwen05b") < gap("mwkr") - 1.0


def test_shipped_15x15_job_shop_program_beats_mwkr_on_taillard_20x15_and_20x20():
    """The rule evolved on random 15x15 instances (MWKR after the next operation, among the
    jobs that can start earliest): checked schedules, against MWKR, on two Taillard sizes."""
    from discoverygym.experiments.evaluate import evaluate

    def gap(agent: str, dataset: str) -> float:
        records = evaluate(agent, "jobshop", dataset)
        return float(np.mean([r.gap for r in records]))

    assert is_trusted(models_dir() / "evolved_jobshop_qwen05b_15x15.py")
    for dataset in ("taillard-20x15", "taillard-20x20"):
        assert gap("evolved:evolved_jobshop_qwen05b_15x15", dataset) < gap("mwkr", dataset) - 2.0


@pytest.mark.parametrize("name", ["evolved_jobshop_qwen05b_cont", "evolved_jobshop_qwen05b_cont2"])
def test_continued_job_shop_program_beats_mwkr_on_taillard_15x15_20x15_and_20x20(name: str):
    """Issue 15's job-shop target: the rules continued from an earlier program (`evolve
    --start-from`) beat the best dispatching rule, MWKR, on the three Taillard sizes, checked
    schedules; and each records the program it started from."""
    from discoverygym.agents.evolution.export import read_metadata, source_sha256
    from discoverygym.experiments.evaluate import evaluate

    def gap(agent: str, dataset: str) -> float:
        records = evaluate(agent, "jobshop", dataset)
        return float(np.mean([r.gap for r in records]))

    program = models_dir() / f"{name}.py"
    assert is_trusted(program)
    start = read_metadata(program)["start_from"]
    assert start["sha256"] == source_sha256(models_dir() / start["file"])
    for dataset in ("taillard-15x15", "taillard-20x15", "taillard-20x20"):
        assert gap(f"evolved:{name}", dataset) < gap("mwkr", dataset), dataset


def test_shipped_or_protocol_program_beats_best_fit_on_each_or_set():
    """Issue 15's OR-protocol target: the program evolved on generated U[20,100] instances
    (FunSearch's OR protocol) beats best fit on OR1-OR4, through the one scoring path."""
    from discoverygym.agents.evolution.export import read_metadata
    from discoverygym.experiments.evaluate import evaluate

    program = models_dir() / "evolved_binpacking_or_qwen15b.py"
    assert is_trusted(program)
    assert read_metadata(program)["datasets"]["train"] == ["uniform-120:seed=1,count=100"]
    for dataset in ("or1", "or2", "or3", "or4"):
        (evolved,) = evaluate("evolved:evolved_binpacking_or_qwen15b", "binpacking", dataset)
        (best_fit,) = evaluate("best_fit", "binpacking", dataset)
        assert evolved.gap < best_fit.gap, dataset
