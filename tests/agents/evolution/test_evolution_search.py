"""The search end to end with a scripted LLM: logging, database safety, export, kill -9 resume."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from discoverygym.agents.evolution import (
    GAMES,
    DatabaseConfig,
    ScriptedBackend,
    SandboxLimits,
    evaluate_program,
    get_game,
    load_agent,
    load_function,
    run_evolution,
)
from discoverygym.agents.evolution import code
from discoverygym.agents.evolution.checkpoint import load_checkpoint
from discoverygym.agents.evolution.export import read_metadata
from discoverygym.agents.evolution.samplelog import read_log

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import evolve_worker  # noqa: E402

# FunSearch's published heuristic for Weibull instances (bin_packing notebook): 0.68 % on Weibull 5k.
FUNSEARCH_WEIBULL = '''def priority(item: float, bins: np.ndarray) -> np.ndarray:
    max_bin_cap = max(bins)
    score = (bins - max_bin_cap) ** 2 / item + bins ** 2 / (item ** 2)
    score += bins ** 2 / item ** 3
    score[bins > item] = -score[bins > item]
    score[1:] -= score[:-1]
    return score
'''

ADVERSARIAL = [
    "    while True:\n        pass\n",
    "    import os\n    return bins * len(os.environ)\n",
    "    return bins * np.nan\n",
    "    return (bins +\n",
    "    x = np.ones(10 * 2**30 // 8)\n    return bins + x[0]\n",
    "    return -(bins - item)\n",  # the seed again: a duplicate
    "    return -(bins - item) - 0.01 * bins\n",
    "    return -(bins - item) + 0.5 * (bins == item)\n",
]


def test_strong_heuristic_ranked_above_best_fit():
    data = ("weibull-1k:seed=0,count=2",)
    strong = evaluate_program(FUNSEARCH_WEIBULL, "binpacking", "train", datasets=data)
    best_fit = evaluate_program(get_game("binpacking").seed, "binpacking", "train", datasets=data)
    assert strong.ok and best_fit.ok, (strong.error, best_fit.error)
    assert strong.score > best_fit.score + 0.5  # excess 3.5 % against 4.5 %


def test_evolve_smoke_with_adversarial_llm(tmp_path):
    config = evolve_worker.config()
    config.limits = SandboxLimits(timeout_s=5, memory_mb=1024)
    result = run_evolution("binpacking", ScriptedBackend(ADVERSARIAL), tmp_path, samples=8,
                           config=config)
    records = list(read_log(tmp_path))
    assert [r["sample"] for r in sorted(records, key=lambda r: r["sample"])] == list(range(1, 9))
    by_completion = {r["completion"]: r for r in records}
    assert "timeout" in by_completion[ADVERSARIAL[0]]["error"]
    assert "import of 'os'" in by_completion[ADVERSARIAL[1]]["error"]
    assert "NaN" in by_completion[ADVERSARIAL[2]]["error"]
    assert "unparsable" in by_completion[ADVERSARIAL[3]]["error"]
    assert "memory" in by_completion[ADVERSARIAL[4]]["error"].lower()
    assert by_completion[ADVERSARIAL[5]]["duplicate"] is True
    assert all(r["prompt"].rstrip().endswith('"""Improved version of `priority_v0`."""')
               or "priority_v1" in r["prompt"] for r in records)
    assert result.stats.samples == 8 and result.stats.valid == 2
    # The database holds the seed (in its equivalent forms) and the valid programs that do not
    # play exactly as a stored one (both here play as best fit on this small set: kept out).
    state = load_checkpoint(tmp_path)
    sources = {p["source"] for island in state["database"]["islands"] for p in island["programs"]}
    assert all("nan" not in s and "while" not in s and "ones" not in s for s in sources)
    seeds = {code.normalise(s) for s in get_game("binpacking").seeds()[:config.database.num_islands]}
    twins = [r for r in records if r.get("duplicate") == "behaviour"]
    assert result.stats.behavioural_duplicates == len(twins) == 2
    assert all(r["ok"] and r["score"] == result.stats.seed_train for r in twins)
    assert seeds <= sources and len(sources - seeds) == result.stats.valid - len(twins) == 0
    # The best program is exported with its header and loads as a function.
    assert result.best_path is not None and result.best_path.exists()
    meta = read_metadata(result.best_path)
    assert meta["game"] == "binpacking" and meta["llm"] == "scripted" and meta["samples"] == 8
    assert set(meta["scores"]) == {"train", "validation", "test"}
    import numpy as np

    fn = load_function(result.best_path)
    assert fn(10, np.array([5, 10, 50])).shape == (3,)
    agent = load_agent(result.best_path)  # what `evaluate` / `compare` play
    assert agent.family == "evolved" and agent.name == "evolved:best"
    from discoverygym.envs.binpacking import evaluate_priority, load_dataset

    replay = evaluate_priority(agent.priority, load_dataset("weibull-200:seed=1,count=2"))
    assert -replay.excess_pct == pytest.approx(meta["scores"]["validation"])


def _worker_signalled(run_dir: Path, samples: int, sig: signal.Signals, *flags: str,
                      after: float = 0.0) -> tuple[subprocess.Popen, str, float]:
    """Run `evolve_worker.py` on `run_dir` for `samples`, send it `sig` `after` seconds once its
    checkpoint holds 6 samples, and return it ended with its output and the seconds it took
    to end."""
    worker = subprocess.Popen([sys.executable, str(HERE / "evolve_worker.py"), str(run_dir), str(samples),
                               *flags], stdout=subprocess.PIPE, text=True)
    deadline = time.time() + 90
    try:
        while time.time() < deadline:
            state = load_checkpoint(run_dir) if (run_dir / "checkpoint.json").exists() else None
            if state and state["stats"]["samples"] >= 6:
                break
            time.sleep(0.2)
        time.sleep(after)
        worker.send_signal(sig)
        signalled = time.monotonic()
        out, _ = worker.communicate(timeout=150)
    finally:
        worker.kill()
    return worker, out, time.monotonic() - signalled


def test_resume_after_kill_9(tmp_path):
    target = 24
    worker, _, _ = _worker_signalled(tmp_path, target, signal.SIGKILL)
    assert worker.returncode == -signal.SIGKILL
    killed_state = load_checkpoint(tmp_path)  # a complete checkpoint survives the kill
    logged = list(read_log(tmp_path))
    assert 6 <= killed_state["stats"]["samples"] <= len(logged) < target
    valid_before = {r["source"] for r in logged if r["ok"] and r.get("duplicate") != "behaviour"}

    result = run_evolution("binpacking", ScriptedBackend(evolve_worker.completion), tmp_path,
                           samples=target, resume=True, config=evolve_worker.config(evaluate_test=False))
    records = list(read_log(tmp_path))
    ids = [r["sample"] for r in records]
    assert len(ids) == len(set(ids)) == target == result.stats.samples
    state = load_checkpoint(tmp_path)
    in_database = {p["source"] for island in state["database"]["islands"] for p in island["programs"]}
    assert valid_before <= in_database  # nothing evaluated before the kill is lost
    assert result.stats.valid == sum(r["ok"] for r in records)


def test_sigterm_stops_the_run_and_saves_it(tmp_path):
    """`kill` (or a scheduler's preemption) ends the run as Ctrl-C does: the loop stops, the
    final checkpoint holds every logged sample, the best is exported, the process exits
    normally, and the run resumes from there."""
    worker, out, _ = _worker_signalled(tmp_path, 100_000, signal.SIGTERM)
    assert worker.returncode == 0, out
    state = load_checkpoint(tmp_path)
    logged = list(read_log(tmp_path))
    assert f"interrupted=True samples={len(logged)}" in out
    assert state["stats"]["samples"] == len(logged) >= 6  # the final checkpoint, not a periodic one
    assert "interrupted" in state["stats"]["last_error"]
    assert (tmp_path / "best.py").is_file()
    before = signal.getsignal(signal.SIGTERM)
    result = run_evolution("binpacking", ScriptedBackend(evolve_worker.completion), tmp_path,
                           samples=len(logged) + 4, resume=True,
                           config=evolve_worker.config(evaluate_test=False))
    assert not result.interrupted and result.stats.samples == len(logged) + 4
    assert signal.getsignal(signal.SIGTERM) is before  # the handler is put back


def test_an_interrupted_run_drops_its_evaluations_in_flight(tmp_path):
    """Stopped while its sandboxes evaluate programs that spin for a minute, the run kills
    them and exits at once, instead of waiting for each to finish or time out (120 s)."""
    worker, out, seconds = _worker_signalled(tmp_path, 100_000, signal.SIGTERM, "--slow", after=5)
    assert worker.returncode == 0 and "interrupted=True" in out, out
    assert seconds < 60
    spinning = [r for r in read_log(tmp_path) if "10 ** 9" in (r["source"] or "")]
    assert not spinning  # they were in flight, and dropped


def test_stop_all_kills_the_children_evaluating_now():
    import threading

    from discoverygym.agents.evolution.sandbox import stop_all

    results = []
    spin = "def priority(item, bins):\n    while True:\n        item = item + 1\n"
    thread = threading.Thread(target=lambda: results.append(evaluate_program(
        spin, "binpacking", "train", datasets=("weibull-200:seed=0,count=1",),
        limits=SandboxLimits(timeout_s=120))))
    thread.start()
    deadline = time.monotonic() + 30
    while not stop_all() and time.monotonic() < deadline:  # once the child has started
        time.sleep(0.05)
    thread.join(timeout=20)
    assert not thread.is_alive() and not results[0].ok
    assert stop_all() == 0


def test_existing_run_dir_needs_resume(tmp_path):
    (tmp_path / "checkpoint.json").write_text(json.dumps({}))
    with pytest.raises(FileExistsError, match="--resume"):
        run_evolution("binpacking", ScriptedBackend(["    return bins\n"]), tmp_path, samples=1)


SMALL_TRAIN = {"binpacking": ("weibull-1k:seed=3,count=2",)}


@pytest.mark.parametrize("game", [name for name, spec in GAMES.items() if spec.seed_variants])
def test_seed_variants_play_as_the_seed(game):
    spec = get_game(game)
    data = SMALL_TRAIN[game]
    seed = evaluate_program(spec.seed, game, "train", datasets=data)
    assert seed.ok, seed.error
    for variant in spec.seed_variants:
        result = evaluate_program(variant, game, "train", datasets=data)
        assert result.ok and result.scores == seed.scores, (variant, result.error)
        assert code.normalise(variant) != code.normalise(spec.seed)


def test_islands_start_from_the_seed_variants_in_turn(tmp_path):
    config = evolve_worker.config(evaluate_test=False)
    config.database = DatabaseConfig(num_islands=7)
    run_evolution("binpacking", ScriptedBackend(["    return bins\n"]), tmp_path, samples=1,
                  config=config)
    islands = load_checkpoint(tmp_path)["database"]["islands"]
    seeds = [code.normalise(s) for s in get_game("binpacking").seeds()]
    assert len(seeds) == 5
    assert [island["programs"][0]["source"] for island in islands] == [seeds[i % 5] for i in range(7)]


def test_a_seed_variant_that_plays_differently_is_refused(tmp_path):
    import dataclasses

    from discoverygym.agents.evolution.search import Evolution

    spec = get_game("binpacking")
    broken = dataclasses.replace(spec, seed_variants=(spec.seed.replace("-(bins - item)", "bins - item"),))
    evolution = Evolution(broken, ScriptedBackend(["    return bins\n"]), tmp_path,
                          evolve_worker.config(evaluate_test=False))
    with pytest.raises(RuntimeError, match="does not play as the seed"):
        evolution.run(samples=1)


def test_resume_keeps_the_runs_datasets_and_seed(tmp_path):
    from dataclasses import replace

    from discoverygym.agents.evolution import EvolutionConfig

    config = replace(evolve_worker.config(evaluate_test=False), seed=2)
    completions = ["    return -(bins - item) - 0.01 * bins\n"]
    run_evolution("binpacking", ScriptedBackend(completions), tmp_path, samples=2, config=config)
    recorded = load_checkpoint(tmp_path)["config"]
    assert recorded["seed"] == 2
    assert recorded["datasets"]["validation"] == list(config.validation_datasets)
    # Resumed without the dataset options: the run's own datasets, not the game's defaults.
    bare = EvolutionConfig(database=config.database, samples_per_prompt=2, seed=2,
                           limits=config.limits, evaluate_test=False)
    result = run_evolution("binpacking", ScriptedBackend(completions), tmp_path, samples=4,
                           config=bare, resume=True)
    assert result.stats.samples == 4
    assert load_checkpoint(tmp_path)["config"]["datasets"] == recorded["datasets"]
    assert read_metadata(tmp_path / "best.py")["datasets"]["train"] == list(config.train_datasets)
    # Other datasets or another seed would mix scores in one database: refused, naming both.
    other = replace(bare, train_datasets=("weibull-1k:seed=9,count=2",))
    with pytest.raises(ValueError, match=r"was run with --train weibull-200:seed=0,count=2; .*"
                                         r"not weibull-1k:seed=9,count=2"):
        run_evolution("binpacking", ScriptedBackend(completions), tmp_path, samples=5,
                      config=other, resume=True)
    with pytest.raises(ValueError, match="was run with --seed 2; .* not 0"):
        run_evolution("binpacking", ScriptedBackend(completions), tmp_path, samples=5,
                      config=replace(bare, seed=0), resume=True)


def test_a_run_can_start_from_an_earlier_program(tmp_path):
    from dataclasses import replace

    from discoverygym.agents.evolution.export import start_from, write_program
    from discoverygym.agents.evolution.search import Evolution

    spec = get_game("binpacking")
    program = write_program(tmp_path / "earlier.py", FUNSEARCH_WEIBULL, "binpacking",
                            {"scores": {"train": -1.0}})
    seeded, provenance = start_from(spec, program)
    assert provenance["file"] == "earlier.py" and len(provenance["sha256"]) == 64
    assert seeded.seed_variants == () and code.docstring(seeded.seed) == code.docstring(spec.seed)
    run_dir = tmp_path / "run"
    config = replace(evolve_worker.config(evaluate_test=False), start_from=provenance)
    Evolution(seeded, ScriptedBackend(["    return bins\n"]), run_dir, config).run(samples=2)
    checkpoint = load_checkpoint(run_dir)
    islands = checkpoint["database"]["islands"]
    # Every island starts from the program, scored in the sandbox, not from best fit.
    assert {island["programs"][0]["source"] for island in islands} == {code.normalise(FUNSEARCH_WEIBULL)}
    started = evaluate_program(FUNSEARCH_WEIBULL, "binpacking", "train", datasets=config.train_datasets)
    best_fit = evaluate_program(spec.seed, "binpacking", "train", datasets=config.train_datasets)
    assert checkpoint["stats"]["seed_train"] == started.score != best_fit.score
    assert checkpoint["config"]["start_from"] == provenance
    assert read_metadata(run_dir / "best.py")["start_from"] == provenance
    # Resumed without the option: the run's own start; with another file: refused, naming both.
    resumed = run_evolution("binpacking", ScriptedBackend(["    return bins\n"]), run_dir,
                            samples=3, config=replace(config, start_from=None), resume=True)
    assert resumed.stats.samples == 3
    assert load_checkpoint(run_dir)["config"]["start_from"] == provenance
    other = write_program(tmp_path / "other.py", spec.seed, "binpacking", {})
    with pytest.raises(ValueError, match="started from --start-from earlier.py; .* not other.py"):
        run_evolution("binpacking", ScriptedBackend(["    return bins\n"]), run_dir, samples=4,
                      config=replace(config, start_from=start_from(spec, other)[1]), resume=True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("def priority(item, bins):\n    return (bins +\n", "syntax error at line 2"),
        ("def helper(item, bins):\n    return bins\n", "expected function 'priority'"),
        ('# metadata: {"game": "jobshop"}\ndef priority(item, bins):\n    return bins\n',
         "it is a jobshop program, not binpacking"),
        ("# metadata: [not json\ndef priority(item, bins):\n    return bins\n", "not a JSON object"),
        (b"\xff\xfe\x00", "cannot read it"),
    ],
)
def test_start_from_refuses_a_bad_program_by_name(tmp_path, text, message):
    from discoverygym.agents.evolution.export import start_from

    path = tmp_path / "bad.py"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ValueError, match=message) as error:
        start_from(get_game("binpacking"), path)
    assert str(path) in str(error.value)


@pytest.mark.parametrize("covered", [False, True])
def test_programs_near_the_best_on_train_are_validated_within_the_games_margin(tmp_path, covered):
    from dataclasses import replace

    from discoverygym.agents.evolution.search import Evolution

    spec = get_game("binpacking")
    config = evolve_worker.config(evaluate_test=False)
    worse = "    return -np.abs(bins - item - 5)\n"  # valid; leaves 5 free: worse than best fit
    source = spec.seed.split("\n")[0] + "\n" + worse
    seed_train = evaluate_program(spec.seed, "binpacking", "train", datasets=config.train_datasets)
    train = evaluate_program(source, "binpacking", "train", datasets=config.train_datasets)
    gap = seed_train.score - train.score
    assert gap > 0.01
    margin = gap + 0.01 if covered else gap - 0.01
    result = Evolution(replace(spec, validation_margin=margin), ScriptedBackend([worse]),
                       tmp_path, config).run(samples=1)
    (record,) = list(read_log(tmp_path))
    assert record["ok"] and record["score"] == pytest.approx(train.score)
    assert ("validation" in record) is covered
    assert result.stats.best_train == pytest.approx(seed_train.score)
