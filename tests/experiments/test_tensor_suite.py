"""The tensor suite (evaluate/compare rows) and the tensor benchmark (smoke)."""

from __future__ import annotations

import pytest

from discoverygym.experiments.bench import tensor as bench
from discoverygym.experiments.suites import get_suite
from discoverygym.experiments.suites.tensor import SUITE, parse_dataset


def test_suite_lists() -> None:
    assert get_suite("tensor") is SUITE
    assert SUITE.datasets() == ["2x2x2", "2x2x3"]
    assert {"2x3x3", "3x3x3", "3x3x3-mod2"} <= set(SUITE.datasets(full=True))
    assert SUITE.agent_names()[:4] == ["naive", "random", "search", "limit"]
    assert "ppo_tensor" in SUITE.agent_names()[4:]  # the shipped RL model
    assert parse_dataset("2x3x3-mod2") == (2, 3, 3, "mod2")


@pytest.mark.parametrize("dataset", ["2x2x2", "2x2x3-mod2"])
def test_every_agent_scores_rank_next_to_best_known(dataset) -> None:
    records = {a: SUITE.evaluate(a, dataset)[0] for a in SUITE.agent_names()[:4]}
    best = {"2x2x2": 7, "2x2x3-mod2": 11}[dataset]
    naive = {"2x2x2": 8, "2x2x3-mod2": 12}[dataset]
    for record in records.values():
        assert record.game == "tensor" and record.metric == "rank" and record.bound == best
    assert records["naive"].value == naive and records["naive"].gap == pytest.approx(
        100 * (naive - best) / best
    )
    assert records["search"].value == best and records["search"].compute["candidates"] > 0
    assert records["limit"].value == best and records["limit"].family == "limit"
    assert records["random"].value > naive


def test_unknown_names_list_the_known_ones() -> None:
    with pytest.raises(KeyError, match="naive, random, search, limit"):
        SUITE.evaluate("greedy", "2x2x2")
    with pytest.raises(KeyError, match="NxMxP"):
        SUITE.evaluate("naive", "2x2")
    with pytest.raises(KeyError, match="NxMxP"):
        SUITE.evaluate("naive", "2x2x2-mod3")


def test_bench_quick_smoke(capsys) -> None:
    bench.run(quick=True)
    out = capsys.readouterr().out
    assert (
        out.count("env steps/s") == 12 and out.count("search candidates/s") == 4 and "4x4x4" in out
        and out.count("under the draw limit") == 2
    )
    assert bench.reference_flip_walk(2, 2, 2, 500, __import__("numpy").random.default_rng(0)) <= 8


def test_the_shipped_rl_model_plays_its_own_size_only() -> None:
    """ppo_tensor (an MLP over the <2,2,2> residual) decomposes <2,2,2> at the naive rank, and
    has no record on other sizes (compare leaves the cell empty)."""
    (rl,) = SUITE.evaluate("ppo_tensor", "2x2x2")
    assert (rl.family, rl.value, rl.bound) == ("rl", 8.0, 7.0) and rl.compute["env_steps"] > 0
    assert SUITE.evaluate("ppo_tensor", "2x2x3") == []


def test_a_shipped_evolved_proposal_drives_the_search_in_the_sandbox(tmp_path, monkeypatch):
    """`evolved:<stem>` runs the flip-graph search with the program's `propose` in the sandbox,
    with the budget, seed and target of `search`: the game's seed rule (uniform flips) finds the
    same scheme after the same number of candidates as `search`, checked and replayed."""
    from discoverygym.agents.evolution.export import write_program
    from discoverygym.agents.evolution.games import TENSOR
    from discoverygym.experiments.suites import tensor as suite_module

    program = write_program(tmp_path / "evolved_tensor_test.py", TENSOR.seed, "tensor",
                            {"compute": {"llm_samples": 3}})
    from discoverygym.experiments import suites

    shipped = {"evolved:evolved_tensor_test": program}
    monkeypatch.setattr(suite_module, "shipped_agents", lambda game: shipped)
    monkeypatch.setattr(suites, "shipped_agents", lambda game: shipped)
    suite = suite_module.TensorSuite()
    assert "evolved:evolved_tensor_test" in suite.agent_names()
    (record,) = suite.evaluate("evolved:evolved_tensor_test", "2x2x3-mod2")
    (search,) = suite.evaluate("search", "2x2x3-mod2")
    assert record.family == "evolved" and record.value == search.value == 11.0
    assert record.compute["candidates"] == search.compute["candidates"] > 0
    assert record.compute["llm_samples"] == 3.0
    (from_file,) = suite.evaluate(str(program), "2x2x2")  # any program file, by its path
    assert (from_file.agent, from_file.value, from_file.family) == (str(program), 7.0, "evolved")


def test_an_evolved_rule_that_never_returns_is_cut_or_fails_with_its_name(tmp_path):
    """A rule that redraws forever still finishes its budget (each call is cut after
    DRAW_LIMIT draws and counts as no flip); one that loops without drawing fails at the
    sandbox's wall-clock limit, with an error naming the program and the size."""
    from discoverygym.agents.evolution.proposals import SandboxedFlipGraphAgent

    redraw = tmp_path / "redraw.py"
    redraw.write_text("def propose(state, rng):\n    while True:\n        rng.random()\n")
    agent = SandboxedFlipGraphAgent.from_program(redraw, 2, 2, 2, "mod2", attempts=300)
    u, _, _ = agent.scheme()
    assert u.shape[1] == 8 and agent.result.attempts == 300 and agent.result.rank == 8

    spin = tmp_path / "spin.py"
    spin.write_text("def propose(state, rng):\n    while True:\n        pass\n")
    agent = SandboxedFlipGraphAgent.from_program(spin, 2, 2, 2, "mod2", attempts=100,
                                                 timeout_s=3.0)
    with pytest.raises(ValueError, match=r"evolved:spin on <2,2,2> \(mod2\): timeout"):
        agent.scheme()
    with pytest.raises(ValueError, match="attempts must be >= 1"):
        SandboxedFlipGraphAgent.from_program(redraw, 2, 2, 2, attempts=0)
    other = tmp_path / "other.py"
    other.write_text("def priority(item, bins):\n    return bins\n")
    with pytest.raises(ValueError, match=r"other\.py: expected .*propose"):
        SandboxedFlipGraphAgent.from_program(other, 2, 2, 2, attempts=10)


def test_a_shipped_factor_policy_plays_its_own_size_and_falls_back_to_naive(tmp_path, monkeypatch):
    """`guided_tensor_<size>` runs the bases search with the file's policy: an untrained one
    finds nothing in its (shortened) budget of bases and plays the naive scheme, checked,
    family rl; other sizes and GF(2) get no record."""
    from discoverygym.agents.rl.tensor_factors import (
        FactorPolicy,
        FactorPolicyConfig,
        TrainedFactorPolicy,
        save_factor_policy,
    )
    from discoverygym.experiments.suites import tensor as suite_module

    config = FactorPolicyConfig(hidden=16, head_hidden=16, embed=4, steps=1)
    path = save_factor_policy(
        TrainedFactorPolicy(FactorPolicy(config), compute={"cpu_seconds": 12.5}), tmp_path / "guided_x.pt"
    )
    monkeypatch.setattr(suite_module, "shipped_factor_policies", lambda: {"guided_x": path})
    monkeypatch.setattr(suite_module, "GUIDED_BASES", 2)
    suite = suite_module.TensorSuite()
    assert "guided_x" in suite.agent_names()
    (record,) = suite.evaluate("guided_x", "2x2x2")
    assert (record.family, record.value, record.bound) == ("rl", 8.0, 7.0)
    assert record.compute["bases"] == 2 and record.compute["train_cpu_seconds"] == 12.5
    assert suite.evaluate("guided_x", "2x2x3") == [] and suite.evaluate("guided_x", "2x2x2-mod2") == []


def test_the_shipped_factor_policy_reaches_strassens_rank_in_random_bases() -> None:
    """The shipped <2,2,2> policy, never shown a matmul scheme, finds a rank-7 scheme with
    coefficients {-1, 0, 1} when the beam plays the target in random bases; checked by the
    independent checker and replayed through the env."""
    from discoverygym.agents.base import run_episode
    from discoverygym.agents.rl.tensor_factors import load_factor_policy
    from discoverygym.agents.rl.tensor_guided import GuidedSearchAgent
    from discoverygym.envs.tensor.env import TensorDecompositionEnv
    from discoverygym.envs.tensor.tensors import verify_matmul_decomposition
    from discoverygym.experiments.suites.tensor import shipped_factor_policies

    policy, _ = load_factor_policy(shipped_factor_policies()["guided_tensor_2x2x2"])
    agent = GuidedSearchAgent(policy, coefficients=(-1, 0, 1), width=1024, bases=60, seed=1, density=0.1)
    result = run_episode(TensorDecompositionEnv(2, 2, 2, coefficients=(-1, 0, 1)), agent, seed=0)
    assert agent.result.rank == 7 and result.steps == 7
    assert verify_matmul_decomposition(2, 2, 2, *result.final_info["decomposition"]) == 7
    assert agent.result.basis > 0  # the standard basis alone finds rank 8 only


def test_the_attempts_figure_shows_the_searches_only(tmp_path) -> None:
    """The report's tensor figure plots the candidate flips of the searches (log scale), and is
    left out when no search played."""
    from discoverygym.agents.records import Record
    from discoverygym.experiments.suites.tensor import attempts_records

    def record(agent, family, compute):
        return Record("tensor", "3x3x3", agent, family, "rank", 23.0, 23.0, 0.0, compute=compute)

    records = [record("search", "heuristic", {"candidates": 8_605_000.0}),
               record("evolved:x", "evolved", {"candidates": 32_000.0, "llm_samples": 118.0}),
               record("naive", "heuristic", {})]
    searched = attempts_records(records)
    assert [(r.agent, r.value, r.gap) for r in searched] == [("search", 8_605_000.0, None),
                                                             ("evolved:x", 32_000.0, None)]
    (figure,) = SUITE.figures(records, tmp_path)
    assert figure.name == "tensor_attempts.png" and figure.stat().st_size > 1000
    assert SUITE.figures(records[2:], tmp_path) == []
