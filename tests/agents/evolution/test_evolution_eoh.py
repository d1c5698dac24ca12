"""EoH (eoh.py): prompts, population management, and the search end to end on the sandbox."""

from __future__ import annotations

import json

import evolve_worker
import numpy as np
import pytest
from discoverygym.agents.evolution import ScriptedBackend, get_game, run_evolution
from discoverygym.agents.evolution.checkpoint import load_checkpoint
from discoverygym.agents.evolution.cli import app
from discoverygym.agents.evolution.database import Program
from discoverygym.agents.evolution.eoh import (
    OPERATORS,
    EoHConfig,
    Population,
    build_messages,
    template,
)
from discoverygym.agents.evolution.export import read_metadata
from discoverygym.agents.evolution.samplelog import read_log
from test_evolution_cli import SMALL, url  # noqa: F401 - the loopback server fixture
from test_evolution_llm import Handler
from typer.testing import CliRunner

SPEC = get_game("binpacking")


def program(score: float, tag: int) -> Program:
    source = f"def priority(item, bins):\n    return -(bins - item) + {tag}\n"
    return Program(source, score, {"a": score}, tag)


class ScriptedChat:
    """A chat model that answers from a list, in turn (the messages are kept for checks)."""

    name = "scripted-chat"

    def __init__(self, replies: list[str]):
        self.replies, self.calls, self.messages = replies, 0, []

    def chat(self, messages: list[dict[str, str]], n: int = 1) -> list[str]:
        self.messages.append(messages)
        out = [self.replies[(self.calls + i) % len(self.replies)] for i in range(n)]
        self.calls += n
        return out


GOOD = "{Square the slack.}\n```python\ndef priority(item, bins):\n    return -(bins - item) ** 2 - bins\n```"
REPLIES = [
    GOOD,
    "Sure! {Prefer the emptiest bin}\ndef priority(item, bins):\n    return bins - item\nDone.",
    "```python\ndef priority(item, bins):\n    return -(bins - item) * 2.0 + 0.001 * bins\n```",
    "I would pack the item into the best bin.",  # no code
    "{Scalar}\n```python\ndef priority(item, bins):\n    return float(item)\n```",
    "{Wrong arity}\n```python\ndef priority(bins):\n    return bins\n```",
    GOOD,  # the same program again: a duplicate
    "{Scaled best fit}\n```python\ndef score(item, bins):\n    return -(bins - item) * 3.0\n```",
]


def test_messages_hold_task_parents_scores_ideas_operator_and_template():
    parents = [(program(-4.0, 1), "Best fit."), (program(-3.5, 2), None)]
    system, user = build_messages(SPEC.describe(), template(SPEC.seed, "priority"), OPERATORS["e2"],
                                  parents, SPEC.metric)
    assert system["role"] == "system" and "braces" in system["content"]
    text = user["content"]
    assert text.startswith(SPEC.task) and "I have 2 existing algorithms" in text
    assert "No. 1 algorithm (score -4.0000" in text and "Idea: Best fit." in text
    assert "No. 2 algorithm (score -3.5000" in text and "Idea: (not stated)" in text
    assert OPERATORS["e2"].instruction in text and "inside braces {}" in text
    assert text.rstrip().endswith("Do not give additional explanations.")
    assert 'def priority(item: float, bins: np.ndarray) -> np.ndarray:\n    """Returns priority' in text
    (_, first) = build_messages(SPEC.describe(), template(SPEC.seed, "priority"), OPERATORS["i1"],
                                [], SPEC.metric)
    assert "existing algorithm" not in first["content"] and OPERATORS["i1"].instruction in first["content"]


def test_population_keeps_the_best_n_and_rejects_behavioural_duplicates():
    population = Population(EoHConfig(population_size=3), "priority")
    assert population.register(program(-5.0, 1))
    assert not population.register(program(-5.0, 2))  # same signature, other code
    for tag, score in enumerate((-4.0, -6.0), start=3):
        assert population.register(program(score, tag))
    assert population.generation == 1 and [p.score for p in population.members] == [-4.0, -5.0, -6.0]
    for tag, score in enumerate((-1.0, -2.0, -9.0), start=10):
        population.register(program(score, tag))
    assert population.generation == 2 and [p.score for p in population.members] == [-1.0, -2.0, -4.0]
    assert population.best_program().score == -1.0


def test_parents_are_chosen_by_rank():
    population = Population(EoHConfig(population_size=4), "priority", seed=1)
    for tag, score in enumerate((-1.0, -2.0, -3.0, -4.0)):
        population.register(program(score, tag))
    counts = {score: 0 for score in (-1.0, -2.0, -3.0, -4.0)}
    for _ in range(4000):
        (parent,) = population.select(1)
        counts[parent.score] += 1
    # p(rank r) = 1 / (r + 4) normalised: 0.300, 0.240, 0.200, 0.171 (EoH's rank selection).
    expected = np.array([1 / 4, 1 / 5, 1 / 6, 1 / 7]) / sum([1 / 4, 1 / 5, 1 / 6, 1 / 7])
    observed = np.array([counts[s] for s in (-1.0, -2.0, -3.0, -4.0)]) / 4000
    assert np.all(np.abs(observed - expected) < 0.03), observed
    pair = population.select(2)
    assert len({p.sample for p in pair}) == 2 and pair[0].score >= pair[1].score


def test_operators_start_with_i1_then_cycle_and_fall_back_to_one_parent():
    population = Population(EoHConfig(population_size=2, operators=("e1", "m2"), init_samples=2),
                            "priority")
    population.register(program(-5.0, 1))
    assert [population.next_operator()[0].name for _ in range(2)] == ["i1", "i1"]
    operator, parents = population.next_operator()  # e1 needs two distinct parents: only one
    assert operator.name == "m1" and len(parents) == 1
    operator, parents = population.next_operator()
    assert operator.name == "m2" and len(parents) == 1
    population.register(program(-4.0, 2))
    operator, parents = population.next_operator()
    assert operator.name == "e1" and len(parents) == 2


def test_population_round_trips_through_json():
    population = Population(EoHConfig(population_size=3, operators=("m1", "m3")), "priority", seed=4)
    for tag, score in enumerate((-3.0, -2.0, -1.0, -0.5)):
        population.register(program(score, tag))
        population.note_idea(program(score, tag).source, f"idea {tag}")
    population.next_operator()
    copy = Population.from_dict(json.loads(json.dumps(population.to_dict())))
    assert copy.to_dict() == population.to_dict()
    assert [p.sample for p in copy.select(2)] == [p.sample for p in population.select(2)]
    assert copy.idea(program(-1.0, 2)) == "idea 2"
    with pytest.raises(ValueError, match="--method funsearch"):
        Population.from_dict({"islands": []})


def test_bad_eoh_config_lists_the_operators():
    with pytest.raises(ValueError, match="e1, e2, m1, m2, m3"):
        EoHConfig(operators=("e9",))
    with pytest.raises(ValueError, match="population_size >= 2"):
        EoHConfig(population_size=1)


def test_eoh_search_end_to_end_with_failures_by_kind_and_resume(tmp_path):
    config = evolve_worker.config(evaluate_test=False, method="eoh",
                                  eoh=EoHConfig(population_size=3, init_samples=2, follow_ups=0))
    config.samples_per_prompt = 1
    llm = ScriptedChat(REPLIES)
    result = run_evolution("binpacking", llm, tmp_path, samples=8, config=config)
    records = sorted(read_log(tmp_path), key=lambda r: r["sample"])
    assert [r["sample"] for r in records] == list(range(1, 9))
    assert all(r["method"] == "eoh" for r in records)
    assert [r["operator"] for r in records[:2]] == ["i1", "i1"]
    assert {r["operator"] for r in records[2:]} <= {"e1", "e2", "m1", "m2"}
    by_reply = {r["completion"]: r for r in records}  # the last record of each reply
    assert records[0]["thought"] == "Square the slack." and records[0]["ok"]
    assert by_reply[REPLIES[0]]["duplicate"] is True and records[6]["failure"] == "duplicate"
    assert by_reply[REPLIES[1]]["thought"] == "Prefer the emptiest bin"
    assert by_reply[REPLIES[2]]["thought"] is None and by_reply[REPLIES[2]]["ok"]
    assert by_reply[REPLIES[7]]["repairs"] == ["renamed"]
    assert result.stats.failures == {"no_code": 1, "scalar_return": 1, "wrong_arguments": 1,
                                     "duplicate": 1}
    assert result.stats.duplicates == 1 and result.stats.valid == 4
    # The seed's idea reaches the prompts: the first operator after i1 shows it or a child's.
    shown = [m[-1]["content"] for m in llm.messages[2:]]
    assert any("Idea: " + SPEC.seed_idea in text for text in shown)
    # Same exports as FunSearch: best.py with metadata, an EoH checkpoint.
    assert read_metadata(tmp_path / "best.py")["llm"] == "scripted-chat"
    state = load_checkpoint(tmp_path)
    assert state["database"]["kind"] == "eoh"
    funsearch = evolve_worker.config(evaluate_test=False)
    with pytest.raises(ValueError, match="--method eoh"):
        run_evolution("binpacking", ScriptedBackend(["    return bins\n"]), tmp_path, samples=9,
                      resume=True, config=funsearch)
    resumed = run_evolution("binpacking", ScriptedChat(REPLIES[:3]), tmp_path, samples=10,
                            resume=True, config=config)
    assert resumed.stats.samples == 10 and len(list(read_log(tmp_path))) == 10


def test_a_reply_without_code_gets_a_follow_up_turn(tmp_path):
    config = evolve_worker.config(evaluate_test=False, method="eoh")
    config.samples_per_prompt = 1
    code = "```python\ndef priority(item, bins):\n    return -(bins - item) ** 3 - bins\n```"
    llm = ScriptedChat(["{Cube the slack.}", code])
    result = run_evolution("binpacking", llm, tmp_path, samples=1, config=config)
    (record,) = read_log(tmp_path)
    assert record["ok"] and record["thought"] == "Cube the slack." and record["follow_ups"] == [code]
    assert record["completion"] == "{Cube the slack.}" and result.stats.valid == 1
    follow_up = llm.messages[1]
    assert follow_up[:2] == llm.messages[0] and follow_up[2] == {"role": "assistant",
                                                                "content": "{Cube the slack.}"}
    assert "priority(item: float, bins: np.ndarray) -> np.ndarray" in follow_up[3]["content"]


def test_eoh_needs_a_chat_model(tmp_path):
    config = evolve_worker.config(method="eoh")
    with pytest.raises(ValueError, match="needs a chat model"):
        run_evolution("binpacking", ScriptedBackend(["x"]), tmp_path, samples=1, config=config)


def test_evolve_command_runs_eoh_over_http_chat(url, tmp_path):  # noqa: F811 - the fixture
    run_dir = tmp_path / "run"
    args = ["--env", "binpacking", "--llm", f"openai-chat:tiny@{url}", "--run-dir", str(run_dir),
            "--method", "eoh", "--population-size", "2", "--samples-per-prompt", "1",
            "--no-wandb", *SMALL]
    bad = CliRunner().invoke(app, [*args, "--samples", "2", "--operators", "e1,x9"])
    assert bad.exit_code != 0 and "x9" in bad.output and "m3" in bad.output
    result = CliRunner().invoke(app, [*args, "--samples", "2"])
    assert result.exit_code == 0, result.output
    records = list(read_log(run_dir))
    assert len(records) == 2 and all(r["method"] == "eoh" for r in records)
    assert all(Handler.requests[i]["messages"][0]["role"] == "system" for i in range(2))
    assert records[0]["source"].startswith("def priority(item, bins):")
