"""Smoke tests of the batched-env benchmarks (speed itself is measured by `discoverygym bench`)."""

from __future__ import annotations

import csv
import time

import numpy as np

from discoverygym.envs.jobshop.vector import JobShopVectorEnv
from discoverygym.experiments.bench import scaling, vector


def test_batched_work_counts_env_steps_and_paired_ratio():
    work = vector.batched_work(
        JobShopVectorEnv(num_envs=4, instance="ft06"), vector.random_legal, True, chunk=3
    )
    assert work() == 12
    ours, ref, ratio = vector.paired(work, work, 0.01, 3)
    assert ours > 0 and ref > 0 and 0.1 < ratio < 10


def test_policies_pick_legal_actions():
    masks = np.array([[0, 1, 1, 0], [1, 0, 0, 1]], dtype=np.int8)
    assert vector.best_fit(None, masks).tolist() == [1, 0]
    picks = vector.random_legal(np.random.default_rng(0), np.repeat(masks, 50, axis=0))
    assert masks.repeat(50, axis=0)[np.arange(100), picks].all()


def test_scaling_writes_table_csv_and_plot(tmp_path, monkeypatch):
    tiny = {
        "bin packing": [("C=100", 100.0, lambda: scaling._binpacking(200, 100))],
        "job shop": [
            ("ft06", 36.0, lambda: scaling._jobshop("ft06")),
            ("la01", 50.0, lambda: scaling._jobshop("la01")),
        ],
        "tensor": [("<2,2,2>", 64.0, lambda: scaling._tensor((2, 2, 2)))],
    }
    monkeypatch.setattr(scaling, "sweeps", lambda quick: tiny)
    rows = scaling.run_to(tmp_path, quick=True)
    assert [r["label"] for r in rows] == ["C=100", "ft06", "la01", "<2,2,2>"]
    with open(tmp_path / "scaling.csv") as handle:
        assert len(list(csv.DictReader(handle))) == 4
    assert (tmp_path / "scaling.png").stat().st_size > 10_000


def test_training_table_times_native_against_the_references():
    tiny = {
        "env_id": "discoverygym/JobShop-v0",
        "env_kwargs": {"dataset": "random-4x3", "normalize_reward": True},
        "policy": "jobshop",
        "policy_kwargs": {"scorer_kwargs": {"hidden": 8}},
        "n_envs": 2,
        "algo_kwargs": {"n_steps": 16, "batch_size": 32, "n_epochs": 1},
        "wandb": {"mode": "disabled"},
    }
    config = vector.shipped_variant(tiny, n_envs=4)
    assert config["n_envs"] == 4 and config["algo_kwargs"]["n_steps"] == 8  # same rollout size
    assert config["eval"] is None and config["pretrain"] is None
    rates = vector.training_rates(config, steps=64, rounds=2, vec_envs=("native", "dummy"))
    assert set(rates) == {"native", "dummy"} and all(len(r) == 2 for r in rates.values())
    assert all(w > 0 and c > 0 for values in rates.values() for w, c in values)
    table, numbers = vector.training_table(True, 1, configs=(tiny,), n_envs=(None, 32))
    assert table.row_count == 2
    key = "train/discoverygym/JobShop-v0"
    assert {f"{key}/2/subproc", f"{key}/2/ratio", f"{key}/32/dummy"} <= set(numbers)
    assert f"{key}/32/subproc" not in numbers  # above SUBPROC_MAX_ENVS: DummyVecEnv only
    ratio = numbers[f"{key}/2/native"] / max(numbers[f"{key}/2/dummy"], numbers[f"{key}/2/subproc"])
    assert numbers[f"{key}/2/ratio"] == ratio  # one round: the ratio of the two medians
    cpu = numbers[f"{key}/2/native/cpu"] / max(
        numbers[f"{key}/2/dummy/cpu"], numbers[f"{key}/2/subproc/cpu"]
    )
    assert numbers[f"{key}/2/cpu_ratio"] == cpu


def test_cpu_seconds_counts_worker_processes():
    import subprocess
    import sys

    worker = subprocess.Popen([sys.executable, "-c", "sum(i * i for i in range(10**7))"])
    worker.wait()  # reaped: /proc has no entry, it counts 0 (no error)
    alone = vector.cpu_seconds([])
    assert vector.cpu_seconds([worker.pid]) >= alone
    busy = subprocess.Popen([sys.executable, "-c", "sum(i * i for i in range(10**8))"])
    try:
        deadline = time.monotonic() + 30  # a loaded machine gives the worker a small share
        while vector.cpu_seconds([busy.pid]) - vector.cpu_seconds([]) <= 0.05:
            assert time.monotonic() < deadline, "the worker's CPU time was not counted"
            time.sleep(0.2)
    finally:
        busy.kill()
        busy.wait()
