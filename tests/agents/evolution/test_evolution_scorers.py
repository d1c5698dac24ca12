"""The scoring protocol: decisions made by the candidate, verified and scored by the parent.

Each game's `<g>_decide` runs here in-process with trusted functions (the sandbox is tested in
test_evolution_sandbox); `<g>_verify` must give the scores of the direct evaluation and turn
every forged, malformed or inconsistent answer into a `DecisionError` naming what is wrong.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from discoverygym.agents.evolution import scorers
from discoverygym.agents.evolution.scorers import DecisionError
from hypothesis import given, settings
from hypothesis import strategies as st

BINS = ("weibull-200:seed=0,count=2",)
JOBS = ("random-6x5:seed=0,n=2",)
TENSOR = ("2x2x3:mod2:seed=0:attempts=60000",)


def best_fit(item, bins):
    return -(bins - item)


def shortest_first(job_features, machine_features):
    return -job_features[:, 0]


def decided(game: str, fn, names):
    data = getattr(scorers, f"{game}_prepare")(names)
    return data, getattr(scorers, f"{game}_decide")(fn, data)


# ------------------------------------------------------------------------------ bin packing
def test_binpacking_score_is_the_direct_evaluation():
    from discoverygym.envs.binpacking import evaluate_priority, load_dataset

    data, decisions = decided("binpacking", best_fit, BINS)
    score, scores = scorers.binpacking_verify(data, decisions)
    direct = evaluate_priority(best_fit, load_dataset(BINS[0]))
    assert score == pytest.approx(-direct.excess_pct)
    assert sorted(scores.values()) == sorted(-float(b) for b in direct.bins_per_instance)
    assert all(key.startswith(BINS[0] + "/") for key in scores)


@pytest.mark.parametrize("name", ["or1", "or3"])
def test_binpacking_published_sets_score_as_the_evaluator_through_the_verified_path(name):
    """FunSearch's Table 1 sets: the verified decisions give the evaluator's excess exactly."""
    from discoverygym.envs.binpacking import evaluate_priority, load_dataset

    data, decisions = decided("binpacking", best_fit, (name,))
    score, _ = scorers.binpacking_verify(data, decisions)
    assert score == -evaluate_priority(best_fit, load_dataset(name)).excess_pct
    if name == "or3":
        assert round(-score, 2) == 5.37  # the evaluator's documented best-fit figure


@pytest.mark.parametrize(
    ("forge", "message"),
    [
        (lambda d: d[BINS[0]][0].__setitem__(slice(None), [0] * len(d[BINS[0]][0])), "capacity"),
        (lambda d: d[BINS[0]][0].pop(), "entries, expected"),
        (lambda d: d[BINS[0]][0].__setitem__(3, 1.0), "entry 3 is 1.0"),
        (lambda d: d[BINS[0]][0].__setitem__(3, True), "entry 3 is True"),
        (lambda d: d[BINS[0]][0].__setitem__(5, -1), "entry 5 is -1"),
        (lambda d: d[BINS[0]][0].__setitem__(5, 10**9), "entry 5 is 1000000000"),
        (lambda d: d[BINS[0]].pop(), "1 packings, expected one per instance (2)"),
        (lambda d: d.__setitem__("or1", []), "expected ['weibull-200"),
        (lambda d: d.__setitem__(BINS[0], "0 1 2"), "str packings"),
    ],
)
def test_binpacking_forged_or_malformed_decisions_are_rejected(forge, message):
    data, decisions = decided("binpacking", best_fit, BINS)
    forged = copy.deepcopy(decisions)
    forge(forged)
    with pytest.raises(DecisionError) as error:
        scorers.binpacking_verify(data, forged)
    assert message in str(error.value)


def test_binpacking_decisions_must_be_a_mapping():
    data, _ = decided("binpacking", best_fit, BINS)
    for junk in (None, [], 1e6, {"ok": True, "score": 1e6}):
        with pytest.raises(DecisionError):
            scorers.binpacking_verify(data, junk)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=7), min_size=8, max_size=8))
def test_binpacking_any_assignment_is_scored_by_its_bins_or_rejected(assignment):
    from discoverygym.envs.binpacking.instances import Dataset, Instance

    instance = Instance.from_items("tiny", 10, [6, 5, 4, 4, 3, 3, 2, 1])
    data = [("tiny", Dataset("tiny", (instance,)))]
    loads = np.bincount(assignment, weights=instance.sizes, minlength=8)
    try:
        score, scores = scorers.binpacking_verify(data, {"tiny": [list(assignment)]})
    except DecisionError as error:
        assert loads.max() > 10, error
        return
    assert loads.max() <= 10
    assert scores == {"tiny/tiny": -float(len(set(assignment)))}
    l1 = -(-int(instance.sizes.sum()) // 10)
    assert score == pytest.approx(-100.0 * (len(set(assignment)) - l1) / l1)


# -------------------------------------------------------------------------------- job shop
def test_jobshop_score_is_the_checked_gap_of_the_direct_episode():
    from discoverygym.agents.base import run_episode
    from discoverygym.agents.heuristics.jobshop import PriorityAgent
    from discoverygym.envs.jobshop import load_dataset
    from discoverygym.envs.jobshop.env import JobShopEnv

    data, decisions = decided("jobshop", shortest_first, JOBS)
    score, scores = scorers.jobshop_verify(data, decisions)
    gaps = []
    for instance in load_dataset(JOBS[0]):
        info = run_episode(JobShopEnv(instance=instance), PriorityAgent(shortest_first),
                           seed=0).final_info
        bound = instance.upper_bound or instance.best_lower_bound
        gaps.append(100.0 * (info["makespan"] - bound) / bound)
        assert scores[f"{JOBS[0]}/{instance.name}"] == pytest.approx(-gaps[-1])
    assert score == pytest.approx(-np.mean(gaps))


def test_jobshop_another_legal_order_scores_its_own_schedule():
    data, decisions = decided("jobshop", shortest_first, JOBS)
    instance = data[0][1][0]
    round_robin = [j for _ in range(instance.num_operations) for j in range(instance.num_jobs)]
    other = copy.deepcopy(decisions)
    other[JOBS[0]][0] = round_robin
    _, scores = scorers.jobshop_verify(data, other)
    assert np.isfinite(scores[f"{JOBS[0]}/{instance.name}"])


@pytest.mark.parametrize(
    ("forge", "message"),
    [
        (lambda order, jobs: order.__setitem__(slice(None), [0] * len(order)), "no operation left"),
        (lambda order, jobs: order.pop(), "entries, expected"),
        (lambda order, jobs: order.__setitem__(0, jobs), f"entry 0 is {6}"),
        (lambda order, jobs: order.__setitem__(0, "0"), "entry 0 is '0'"),
    ],
)
def test_jobshop_forged_dispatch_orders_are_rejected(forge, message):
    data, decisions = decided("jobshop", shortest_first, JOBS)
    forged = copy.deepcopy(decisions)
    forge(forged[JOBS[0]][0], data[0][1][0].num_jobs)
    with pytest.raises(DecisionError) as error:
        scorers.jobshop_verify(data, forged)
    assert message in str(error.value)


# ---------------------------------------------------------------------------------- tensor
def seed_propose():
    from discoverygym.agents.heuristics.tensor_search import uniform_flip

    return uniform_flip


def test_tensor_walk_is_deterministic_and_verified():
    data, first = decided("tensor", seed_propose(), TENSOR)
    _, second = decided("tensor", seed_propose(), TENSOR)
    assert first == second  # a budget of attempts, not seconds
    score, scores = scorers.tensor_verify(data, first)
    rank = len(first[TENSOR[0]]["u"][0])
    assert rank == 11 and -12 < score <= -11  # the best-known rank 11 of <2,2,3>
    assert scores == {TENSOR[0]: score}


def test_tensor_attempt_budget_is_exact_when_the_target_is_not_reached():
    from discoverygym.agents.heuristics.tensor_search import flip_graph_search

    result = flip_graph_search(3, 3, 3, "mod2", time_budget=None, attempt_budget=2500,
                               target_rank=1, seed=0)
    assert result.candidates == 2500 and result.rank > 1
    with pytest.raises(ValueError, match="attempt_budget must be >= 1"):
        flip_graph_search(2, 2, 2, time_budget=None, attempt_budget=0)


def _tensor_forgeries():
    def wrong_entry(entry):
        entry["u"][0][0] ^= 1

    def drop_term(entry):
        for key in "uvw":
            for row in entry[key]:
                row.pop()

    def claims_fast(entry):
        entry["attempts"] = 0

    return [
        (wrong_entry, "not a scheme"),
        (drop_term, "not a scheme"),
        (lambda e: e.__setitem__("attempts", 10**9), "attempts 1000000000 outside"),
        (lambda e: e.__setitem__("attempts", 1.5), "attempts 1.5 outside"),
        (lambda e: e.__setitem__("score", 1e6), "expected keys"),
        (lambda e: e["v"][0].__setitem__(0, 2**40), "expected -1024 <= value"),
        (lambda e: e["w"].pop(), "rows"),
        (claims_fast, None),  # valid: the attempts are a bounded claim (see the docstring)
    ]


@pytest.mark.parametrize(("forge", "message"), _tensor_forgeries())
def test_tensor_forged_schemes_are_rejected(forge, message):
    data, decisions = decided("tensor", seed_propose(), TENSOR)
    forged = copy.deepcopy(decisions)
    forge(forged[TENSOR[0]])
    if message is None:
        score, _ = scorers.tensor_verify(data, forged)
        assert -11 >= score >= -12  # the claim moves the score by less than one rank
        return
    with pytest.raises(DecisionError) as error:
        scorers.tensor_verify(data, forged)
    assert message in str(error.value)


def test_tensor_rank_above_target_must_have_used_the_whole_budget():
    from discoverygym.agents.heuristics.tensor_search import naive_decomposition

    data = scorers.tensor_prepare(("2x2x2:mod2:seed=0:attempts=1000",))
    u, v, w = naive_decomposition(2, 2, 2)
    naive = {"u": u.tolist(), "v": v.tolist(), "w": w.tolist()}
    with pytest.raises(DecisionError, match="rank 8 above the target 7 after 10 of 1000"):
        scorers.tensor_verify(data, {data[0][0]: {**naive, "attempts": 10}})
    score, _ = scorers.tensor_verify(data, {data[0][0]: {**naive, "attempts": 1000}})
    assert score == -9.0


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("3x3x3:mod2:seed=0:budget=2", "attempts=<N>"),
        ("3x3:mod2", "expected '<n>x<m>x<p>"),
        ("3x3x3:mod3:seed=0", "mod3"),
        ("3x3x3:mod2:attempts=0", "attempts must be >= 1"),
    ],
)
def test_tensor_dataset_names_are_parsed_strictly(name, message):
    with pytest.raises(ValueError) as error:
        scorers.tensor_dataset(name)
    assert message in str(error.value)


def test_every_game_defines_the_protocol():
    from discoverygym.agents.evolution.games import GAMES

    for spec in GAMES.values():
        module, prefix = spec.scorer.split(":")
        assert module == scorers.__name__
        for part in ("prepare", "decide", "verify"):
            assert callable(getattr(scorers, f"{prefix}_{part}")), (spec.name, part)


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_jobshop_any_legal_dispatch_order_is_a_feasible_schedule(draw):
    """Every interleaving of the jobs' operations is legal; its checked makespan is at least the
    instance's lower bound (score <= 0 against it)."""
    data = scorers.jobshop_prepare(JOBS)
    instance = data[0][1][0]
    jobs = [j for j in range(instance.num_jobs) for _ in range(instance.num_operations)]
    order = draw.draw(st.permutations(jobs))
    decisions = {JOBS[0]: [list(order), scorers.jobshop_decide(shortest_first, data)[JOBS[0]][1]]}
    _, scores = scorers.jobshop_verify(data, decisions)
    assert scores[f"{JOBS[0]}/{instance.name}"] <= 0.0


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_tensor_schemes_are_verified_whatever_their_term_order(draw):
    """Permuting the terms keeps a scheme (same rank, same score); changing one entry breaks it."""
    from discoverygym.agents.heuristics.tensor_search import naive_decomposition

    data = scorers.tensor_prepare(("2x2x2:mod2:seed=0:attempts=1000",))
    name = data[0][0]
    u, v, w = naive_decomposition(2, 2, 2)
    order = draw.draw(st.permutations(range(8)))
    entry = {"u": u[:, order].tolist(), "v": v[:, order].tolist(), "w": w[:, order].tolist(),
             "attempts": 1000}
    score, _ = scorers.tensor_verify(data, {name: entry})
    assert score == -9.0
    key, row, col = draw.draw(st.sampled_from("uvw")), draw.draw(st.integers(0, 3)), \
        draw.draw(st.integers(0, 7))
    entry[key][row][col] ^= 1
    with pytest.raises(DecisionError, match="not a scheme"):
        scorers.tensor_verify(data, {name: entry})


# -------------------------------------------------------------------------------- cap set
def test_capset_constant_priority_scores_2_to_the_n():
    data, decisions = decided("capset", lambda el, n: 0.0, ("n3", "n5", "n6"))
    score, scores = scorers.capset_verify(data, decisions)
    assert scores == {"n3": 8.0, "n5": 32.0, "n6": 64.0}
    from discoverygym.envs.capset.bounds import gap_pct

    assert score == pytest.approx(-np.mean([gap_pct(8, 3), gap_pct(32, 5), gap_pct(64, 6)]))


def test_capset_a_better_priority_scores_higher():
    """A priority that prefers vectors with no 1 (FunSearch's n = 3 optimum has 9 of them)."""
    data, seed = decided("capset", lambda el, n: 0.0, ("n4",))
    _, other = decided("capset", lambda el, n: float(sum(x == 1 for x in el) == 0) + sum(el), ("n4",))
    assert scorers.capset_verify(data, other)[1]["n4"] >= 16
    assert scorers.capset_verify(data, seed)[1]["n4"] == 16


@pytest.mark.parametrize("forge, message", [
    (lambda d: {"n4": d["n4"] + [d["n4"][0]]}, "chosen twice"),
    (lambda d: {"n4": list(range(27))}, "line"),
    (lambda d: {"n4": [81]}, "81"),
    (lambda d: {"n4": [1.5]}, "integer"),
    (lambda d: {"n4": "all of them"}, "list"),
    (lambda d: {"n5": d["n4"]}, "datasets"),
])
def test_capset_forged_sets_are_rejected(forge, message):
    data, decisions = decided("capset", lambda el, n: 0.0, ("n4",))
    with pytest.raises(DecisionError, match=message):
        scorers.capset_verify(data, forge(decisions))
