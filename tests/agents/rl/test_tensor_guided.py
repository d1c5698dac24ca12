"""The tensor factor policy (synthetic demonstrations) and the search it guides."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th
from hypothesis import given, settings
from hypothesis import strategies as st

from discoverygym.agents.base import run_episode
from discoverygym.agents.heuristics.tensor_search import naive_decomposition
from discoverygym.agents.rl.tensor_factors import (
    FactorCodec,
    FactorPolicy,
    FactorPolicyConfig,
    TrainedFactorPolicy,
    canonical_signs,
    load_factor_policy,
    save_factor_policy,
    synthetic_demonstrations,
    train_factor_policy,
)
from discoverygym.agents.rl.tensor_guided import (
    GuidedSearchAgent,
    change_basis,
    guided_search,
    random_basis,
    rank_one_factors,
    search_in_bases,
    unfolding_rank_bounds,
)
from discoverygym.envs.tensor.env import TensorDecompositionEnv
from discoverygym.envs.tensor.known import strassen
from discoverygym.envs.tensor.tensors import matmul_tensor, reconstruct, verify_matmul_decomposition

SMALL = {"hidden": 32, "head_hidden": 32, "embed": 8, "batch_size": 64}


def term(u, v, w) -> np.ndarray:
    return u[:, None, None] * v[None, :, None] * w[None, None, :]


# ------------------------------------------------------------------ codec and demonstrations
def test_codec_round_trips_every_vector_and_masks_canonical_ones() -> None:
    codec = FactorCodec(4, (-1, 0, 1))
    assert len(codec.table) == 81
    assert np.array_equal(codec.encode(codec.table), np.arange(81))
    # canonical: nonzero with a positive first nonzero entry, (3**4 - 1) / 2 of them
    assert codec.canonical.sum() == 40 and codec.nonzero.sum() == 80
    assert all(row[row != 0][0] > 0 for row in codec.table[codec.canonical])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), size=st.sampled_from([(2, 2, 2), (2, 2, 3), (1, 2, 3)]))
def test_a_rank_one_demonstration_is_its_own_label(seed, size) -> None:
    """With one term per target the label must reconstruct the target exactly (in canonical
    signs): the labels and the targets come from the same terms."""
    n, m, p = size
    config = FactorPolicyConfig(n=n, m=m, p=p, max_rank=1, **SMALL)
    targets, labels, ranks = synthetic_demonstrations(config, np.random.default_rng(seed), 16)
    assert (ranks == 1).all()
    policy = FactorPolicy(config)
    u, v, w = policy.decode(labels)
    for k in range(16):
        assert np.array_equal(term(u[k], v[k], w[k]), targets[k])
        assert u[k][u[k] != 0][0] > 0 and v[k][v[k] != 0][0] > 0  # canonical signs


def test_every_label_is_one_of_the_terms_that_sum_to_the_target() -> None:
    """For rank <= 2 the label's term subtracted from the target leaves a rank-one tensor (or
    zero): it is one of the two terms."""
    config = FactorPolicyConfig(max_rank=2, **SMALL)
    targets, labels, ranks = synthetic_demonstrations(config, np.random.default_rng(1), 200)
    assert set(ranks) == {1, 2}
    u, v, w = FactorPolicy(config).decode(labels)
    for k in range(200):
        rest = targets[k] - term(u[k], v[k], w[k])
        assert (ranks[k] == 1) == (not rest.any())
        assert not rest.any() or rank_one_factors(rest, (-1, 0, 1)) is not None


def test_canonical_signs_keep_the_term() -> None:
    rng = np.random.default_rng(0)
    u, v, w = (rng.integers(-1, 2, size=(50, 4)) for _ in range(3))
    u[:, 0] = v[:, 0] = -1  # never zero, negative first entries
    cu, cv, cw = canonical_signs(u, v, w)
    assert (cu[:, 0] == 1).all() and (cv[:, 0] == 1).all()
    for k in range(50):
        assert np.array_equal(term(cu[k], cv[k], cw[k]), term(u[k], v[k], w[k]))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"coefficients": (0, 1, 2)}, "symmetric"),
        ({"coefficients": (-2, -1, 0, 1, 2), "n": 3, "m": 3, "p": 3}, "factor vectors per head"),
        ({"sparsity": (0.5, 1.0)}, "sparsity"),
        ({"steps": 0}, "steps=0"),
        ({"max_rank": 0}, "max_rank=0"),
    ],
)
def test_bad_configs_are_refused_naming_the_value(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        FactorPolicyConfig(**kwargs)


# ------------------------------------------------------------------ the policy
def test_the_budget_reaches_the_trunk() -> None:
    """The same residual with another budget (terms left) gets other proposals' scores."""
    th.manual_seed(0)
    policy = FactorPolicy(FactorPolicyConfig(**SMALL)).eval()
    target = matmul_tensor(2, 2, 2)[None]
    assert not np.allclose(policy.top_terms(target, 7, (2, 2, 2))[2], policy.top_terms(target, 3, (2, 2, 2))[2])


def test_fast_top_terms_match_the_plain_heads() -> None:
    """`top_terms` (head layers split to reuse the trunk's part) gives the same
    log-probabilities as the three heads evaluated one by one."""
    th.manual_seed(0)
    policy = FactorPolicy(FactorPolicyConfig(**SMALL)).eval()
    targets, _, ranks = synthetic_demonstrations(policy.config, np.random.default_rng(0), 5)
    source, tokens, logp = policy.top_terms(targets, ranks, (4, 3, 2))
    assert len(tokens) == 5 * 4 * 3 * 2
    with th.no_grad():
        hidden = policy.trunk(policy.features(targets[source], ranks[source]))
        t = th.as_tensor(tokens)
        slow = sum(policy.head(hidden, k, t).gather(1, t[:, k : k + 1]).squeeze(1) for k in range(3))
    assert np.allclose(slow.numpy(), logp, atol=1e-4)
    u, v, _ = policy.decode(tokens)
    assert all(row[row != 0][0] > 0 for row in np.concatenate([u, v]))  # masked to canonical


def test_training_learns_rank_one_targets() -> None:
    """On one-term demonstrations the policy must learn to read the term off the target: after
    1000 small steps its most probable term is the target for a good share of fresh targets
    (45 of 100 when written; an untrained or label-shuffled policy: about 0)."""
    small = SMALL | {"hidden": 128, "head_hidden": 128, "embed": 16}
    config = FactorPolicyConfig(max_rank=1, steps=1000, learning_rate=3e-3, seed=0, **small)
    targets, _, _ = synthetic_demonstrations(config, np.random.default_rng(99), 100)

    def hits(policy: FactorPolicy) -> int:
        _, tokens, _ = policy.top_terms(targets, 1, (1, 1, 1))
        u, v, w = policy.decode(tokens)
        return sum(np.array_equal(term(u[k], v[k], w[k]), targets[k]) for k in range(100))

    th.manual_seed(0)
    assert hits(FactorPolicy(config).eval()) <= 5
    trained = train_factor_policy(config, log_every=100)
    assert trained.history[-1][1] < trained.history[0][1] - 2.0
    assert hits(trained.policy) >= 25
    assert trained.compute["steps"] == 1000 and trained.compute["cpu_seconds"] > 0


def test_save_and_load_round_trip(tmp_path) -> None:
    config = FactorPolicyConfig(**SMALL)
    policy = FactorPolicy(config).eval()
    path = save_factor_policy(TrainedFactorPolicy(policy, [(1, 2.0)], {"steps": 1.0}), tmp_path / "p.pt", reproduce="x")
    loaded, payload = load_factor_policy(path)
    assert loaded.config == config and payload["history"] == [[1, 2.0]] and payload["reproduce"] == "x"
    targets, _, ranks = synthetic_demonstrations(config, np.random.default_rng(0), 3)
    a, b = policy.top_terms(targets, ranks, (3, 2, 2)), loaded.top_terms(targets, ranks, (3, 2, 2))
    assert np.allclose(a[2], b[2], atol=0.05)  # float16 storage


@pytest.mark.parametrize("content", [b"not a torch file", None])
def test_load_refuses_other_files_naming_them(tmp_path, content) -> None:
    path = tmp_path / "bad.pt"
    if content is None:
        th.save({"format": "something else", "config": {}}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(ValueError, match="bad.pt: not a factor policy file"):
        load_factor_policy(path)
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_factor_policy(tmp_path / "missing.pt")


def test_config_from_dict_refuses_unknown_keys() -> None:
    with pytest.raises(ValueError, match="unknown factor policy config keys \\['widht'\\]"):
        FactorPolicyConfig.from_dict({"widht": 3})


# ------------------------------------------------------------------ exact helpers
@settings(max_examples=50, deadline=None)
@given(st.data())
def test_rank_one_factors_recover_any_rank_one_term(data) -> None:
    vec = st.lists(st.integers(-1, 1), min_size=4, max_size=4).filter(any)
    u, v, w = (np.array(data.draw(vec)) for _ in range(3))
    found = rank_one_factors(term(u, v, w), (-1, 0, 1))
    assert found is not None and np.array_equal(term(*found), term(u, v, w))


def test_rank_one_factors_refuse_what_is_not_one_allowed_term() -> None:
    assert rank_one_factors(matmul_tensor(2, 2, 2), (-1, 0, 1)) is None
    e = np.eye(4, dtype=np.int64)
    assert rank_one_factors(term(e[0], e[1], e[2]) + term(e[1], e[1], e[2]) * 0 + term(e[3], e[0], e[0]), (-1, 0, 1)) is None
    assert rank_one_factors(term(2 * e[0], e[1], e[2]), (-1, 0, 1)) is None  # 2 is not allowed
    assert rank_one_factors(term(2 * e[0], e[1], e[2]), (-2, -1, 0, 1, 2)) is not None
    assert rank_one_factors(np.zeros((4, 4, 4), dtype=np.int64), (-1, 0, 1)) is None


def test_unfolding_bound_is_a_lower_bound_along_strassen() -> None:
    u, v, w = strassen()
    residual = matmul_tensor(2, 2, 2)
    assert unfolding_rank_bounds(residual[None])[0] == 4
    for r in range(7):
        residual = residual - term(u[:, r], v[:, r], w[:, r])
        assert unfolding_rank_bounds(residual[None])[0] <= 6 - r


# ------------------------------------------------------------------ the search
def decoys_then_strassen(scripted):
    """Two naive terms at log-probability 0, Strassen's seven at -1."""
    return scripted(scripted.naive_terms()[:2] + scripted.strassen_terms(), [0.0] * 2 + [-1.0] * 7)


def test_search_finds_strassen_when_the_policy_ranks_its_terms_below_decoys(
    scripted_factor_policy,
) -> None:
    """Decoys (two naive terms) score higher, so a greedy search plays them first; the beam
    (wide enough for every mix of decoys and Strassen terms, 126 states at most) must still
    find the rank-7 scheme, and it must verify. With width 8 the decoys crowd it out."""
    policy = decoys_then_strassen(scripted_factor_policy)
    result = guided_search(policy, matmul_tensor(2, 2, 2), max_rank=7, width=256)
    assert result.rank == 7
    assert verify_matmul_decomposition(2, 2, 2, *result.decomposition) == 7
    assert result.beam_sizes and max(result.beam_sizes) <= 256
    assert guided_search(policy, matmul_tensor(2, 2, 2), max_rank=7, width=8).rank is None


def test_search_returns_nothing_when_no_scheme_fits_and_the_shortest_otherwise(
    scripted_factor_policy,
) -> None:
    scripted = scripted_factor_policy
    naive = scripted(scripted.naive_terms(), [0.0] * 8)
    assert guided_search(naive, matmul_tensor(2, 2, 2), max_rank=7, width=64).rank is None
    assert guided_search(naive, matmul_tensor(2, 2, 2), max_rank=8, width=64).rank == 8
    mixed = scripted(scripted.naive_terms() + scripted.strassen_terms(), [0.0] * 15)
    assert guided_search(mixed, matmul_tensor(2, 2, 2), max_rank=8, width=4096).rank == 7


def test_search_refuses_bad_arguments(scripted_factor_policy) -> None:
    policy = decoys_then_strassen(scripted_factor_policy)
    with pytest.raises(ValueError, match="shape"):
        guided_search(policy, matmul_tensor(2, 2, 3), max_rank=11)
    with pytest.raises(ValueError, match="zero tensor"):
        guided_search(policy, np.zeros((4, 4, 4), dtype=np.int64), max_rank=7)
    with pytest.raises(ValueError, match="width=0"):
        guided_search(policy, matmul_tensor(2, 2, 2), max_rank=7, width=0)


def test_agent_replays_the_scheme_through_the_env_and_falls_back_to_naive(
    scripted_factor_policy,
) -> None:
    env = TensorDecompositionEnv(2, 2, 2)
    good = GuidedSearchAgent(decoys_then_strassen(scripted_factor_policy), width=256)
    result = run_episode(env, good, seed=0)
    assert result.steps == 7 and result.total_reward == -7.0
    assert verify_matmul_decomposition(2, 2, 2, *result.final_info["decomposition"]) == 7
    scripted = scripted_factor_policy
    weak = GuidedSearchAgent(scripted(scripted.naive_terms(), [0.0] * 8), width=64)
    result = run_episode(env, weak, seed=0)
    assert weak.result.rank is None and result.steps == 8
    assert np.array_equal(reconstruct(*naive_decomposition(2, 3, 4)), matmul_tensor(2, 3, 4))


# ------------------------------------------------------------------ change of basis
@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), size=st.integers(1, 9), density=st.sampled_from([0.0, 0.25, 1.0]))
def test_random_bases_are_unimodular_with_small_integer_entries(seed, size, density) -> None:
    basis, inverse = random_basis(np.random.default_rng(seed), size, density=density)
    assert basis.shape == inverse.shape == (size, size)
    assert np.abs(basis).max() <= 1
    assert np.array_equal(basis @ inverse, np.eye(size, dtype=np.int64))
    assert np.array_equal(inverse @ basis, np.eye(size, dtype=np.int64))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_a_scheme_maps_between_bases_with_its_rank(seed) -> None:
    """T' = T x1 A x2 B x3 C has the terms (A u, B v, C w); mapping them back with the
    inverses gives T's scheme again."""
    rng = np.random.default_rng(seed)
    pairs = [random_basis(rng, 4) for _ in range(3)]
    target = matmul_tensor(2, 2, 2)
    moved = change_basis(target, [p[0] for p in pairs])
    schemes = [strassen(), naive_decomposition(2, 2, 2)]
    for scheme in schemes:
        there = [p[0] @ f for p, f in zip(pairs, scheme, strict=True)]
        assert np.array_equal(reconstruct(*there), moved)
        back = [p[1] @ f for p, f in zip(pairs, there, strict=True)]
        assert all(np.array_equal(b, f) for b, f in zip(back, scheme, strict=True))
    assert np.array_equal(change_basis(moved, [p[1] for p in pairs]), target)


def test_bad_bases_are_refused_naming_the_value(scripted_factor_policy) -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="size=0"):
        random_basis(rng, 0)
    with pytest.raises(ValueError, match="density=1.5"):
        random_basis(rng, 4, density=1.5)
    policy = decoys_then_strassen(scripted_factor_policy)
    with pytest.raises(ValueError, match="bases=0"):
        search_in_bases(policy, matmul_tensor(2, 2, 2), bases=0, max_rank=7)


def first_basis_drawn(seed: int, density: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """The bases `search_in_bases(seed=seed)` tries second (the first random ones)."""
    rng = np.random.default_rng(seed)
    return [random_basis(rng, 4, density=density) for _ in range(3)]


def test_search_in_bases_finds_a_scheme_only_the_random_basis_shows_and_maps_it_back(
    scripted_factor_policy,
) -> None:
    """The scripted policy proposes Strassen's terms as they read in the first random basis
    (and the naive terms as they read there), so the standard basis finds nothing of rank 7
    and the random one does; the scheme returned must be Strassen's, in the standard basis."""
    scripted = scripted_factor_policy
    for seed in range(100):  # a seed whose moved Strassen terms stay in {-1, 0, 1}
        pairs = first_basis_drawn(seed, 0.1)
        moved = [p[0] @ f for p, f in zip(pairs, strassen(), strict=True)]
        if max(np.abs(f).max() for f in moved) <= 1:
            break
    terms = list(zip(*(f.T for f in moved), strict=True))
    from discoverygym.agents.rl.tensor_factors import canonical_signs

    terms = list(zip(*canonical_signs(*(np.stack(x) for x in zip(*terms, strict=True))), strict=True))
    policy = scripted(terms, [0.0] * 7)
    target = matmul_tensor(2, 2, 2)
    assert guided_search(policy, target, max_rank=7, width=256).rank is None
    found = search_in_bases(policy, target, bases=3, seed=seed, max_rank=7, width=256)
    assert found.rank == 7 and found.basis == 1 and found.bases == 2
    assert verify_matmul_decomposition(2, 2, 2, *found.decomposition) == 7
    assert all(np.isin(f, (-1, 0, 1)).all() for f in found.decomposition)
    # with one basis only (the standard one) nothing is found, and the work is still counted
    alone = search_in_bases(policy, target, bases=1, seed=seed, max_rank=7, width=256)
    assert alone.rank is None and alone.basis is None and alone.bases == 1 and alone.states > 0


def test_search_in_bases_drops_schemes_whose_coefficients_leave_the_set(
    scripted_factor_policy,
) -> None:
    """The target x (x) e0 (x) e0 with a 2 in x has no term with entries in {-1, 0, 1} in the
    standard basis. In the random basis it reads (A x) (x) (B e0) (x) (C e0) with A x in
    {-1, 0, 1}, so the finish rule factors it there; mapped back, the term has the 2 again:
    counted as out of range, dropped, and nothing is returned."""
    import itertools

    moved_out = (
        (seed, inverse @ np.asarray(y))
        for seed in range(100)
        for (_, inverse), _, _ in [first_basis_drawn(seed, 0.1)]
        for y in itertools.product((-1, 0, 1), repeat=4)
        if np.abs(inverse @ np.asarray(y)).max() > 1
    )
    seed, x = next(moved_out)  # the first seed whose basis is not a signed permutation
    e0 = np.eye(4, dtype=np.int64)[0]
    target = term(x, e0, e0)
    policy = scripted_factor_policy([(e0, e0, e0)], [0.0])
    found = search_in_bases(policy, target, bases=2, seed=seed, max_rank=1, width=16)
    assert found.rank is None and found.decomposition is None
    assert found.out_of_range == 1 and found.bases == 2
