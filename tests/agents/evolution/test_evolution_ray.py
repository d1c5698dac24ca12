"""The same search through Ray: evaluation tasks and sampler actors on a local Ray instance."""

from __future__ import annotations

import functools

import pytest

from discoverygym.agents.evolution import ScriptedBackend, run_evolution
from discoverygym.agents.evolution.samplelog import read_log

import evolve_worker  # noqa: E402 - same folder, on sys.path

ray = pytest.importorskip("ray")

COMPLETIONS = ["    return -(bins - item) - 0.01 * bins\n", "    return bins[:1]\n",
               "    return -(bins - item) + 0.5 * (bins == item)\n", "    return -(bins - item) ** 3\n"]


def test_search_on_a_local_ray_instance(tmp_path):
    from discoverygym.agents.evolution.executor import RayExecutor, RaySamplers

    ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"RAY_USAGE_STATS_ENABLED": "0"}})
    try:
        samplers = RaySamplers(functools.partial(ScriptedBackend, COMPLETIONS, name="ray-scripted"),
                               actors=2, actor_cpus=0.5)
        result = run_evolution("binpacking", samplers, tmp_path, samples=4,
                               executor=RayExecutor(workers=2),
                               config=evolve_worker.config(evaluate_test=False))
    finally:
        ray.shutdown()
    records = list(read_log(tmp_path))
    assert len(records) == 4 and result.stats.samples == 4
    # Two actors, each cycling its own copy of the script: the 4 samples are c0, c0, c1, c1.
    assert [r["completion"] for r in sorted(records, key=lambda r: r["sample"])] == \
        [COMPLETIONS[0], COMPLETIONS[0], COMPLETIONS[1], COMPLETIONS[1]]
    assert result.stats.valid == 1 and result.stats.duplicates == 2
    assert sum("shape" in (r["error"] or "") for r in records) == 1
