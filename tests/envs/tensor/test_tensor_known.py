"""Every shipped decomposition reconstructs; best-known ranks; export to runnable code."""

from __future__ import annotations

import numpy as np
import pytest

from discoverygym.envs.tensor.export import export_matmul
from discoverygym.envs.tensor.known import (
    best_known_rank,
    known_decomposition,
    parse_size,
    permute_decomposition,
    shipped,
    strassen,
)
from discoverygym.envs.tensor.tensors import DecompositionError, verify_matmul_decomposition

SOURCES = {"alphatensor": "standard", "alphaevolve": "standard", "alphatensor_mod2": "mod2"}
COUNTS = {"alphatensor": 93, "alphaevolve": 15, "alphatensor_mod2": 20}


def _size(key: str) -> tuple[int, int, int]:
    n, m, p = (int(x) for x in key.split(","))
    return n, m, p


def test_shipped_counts() -> None:
    for source, count in COUNTS.items():
        assert len(shipped(source)) == count


@pytest.mark.parametrize(("source", "key"), [(s, k) for s in SOURCES for k in shipped(s)])
def test_every_shipped_decomposition_reconstructs(source: str, key: str) -> None:
    u, v, w = shipped(source)[key]
    rank = verify_matmul_decomposition(*_size(key), u, v, w, field=SOURCES[source])
    assert rank == u.shape[1] <= int(np.prod(_size(key)))


def test_alphaevolve_has_complex_and_half_entries() -> None:
    """AlphaEvolve's <4,4,4> rank 48 is complex with entries in 0.5*Z[i]; <2,4,5> rank 32 uses 0.5."""
    u, v, w = shipped("alphaevolve")["4,4,4"]
    assert np.iscomplexobj(u) and u.shape[1] == 48
    assert np.any(np.real(np.concatenate([u, v, w])) % 1 == 0.5)
    u, v, w = shipped("alphaevolve")["2,4,5"]
    assert u.shape[1] == 32 and np.any(np.concatenate([u, v, w]) % 1 == 0.5)
    # 0.5 entries make it invalid modulo 2, and a perturbed complex scheme is rejected
    u, v, w = shipped("alphaevolve")["4,4,4"]
    u = u.copy()
    u[0, 0] += 1j
    with pytest.raises(DecompositionError, match="first wrong entry"):
        verify_matmul_decomposition(4, 4, 4, u, v, w)


def test_best_known_ranks_published_values() -> None:
    """Table values from the literature (Strassen, Hopcroft-Kerr, Laderman, AlphaTensor, AlphaEvolve)."""
    published = {
        (2, 2, 2): (7, 7),
        (2, 2, 3): (11, 11),
        (2, 3, 3): (15, 15),
        (3, 3, 3): (23, 23),
        (4, 4, 4): (48, 47),
        (4, 5, 5): (76, 73),
        (5, 5, 5): (93, 93),
    }
    for size, (standard, mod2) in published.items():
        assert best_known_rank(*size) == standard
        assert best_known_rank(*size, field="mod2") == mod2
    assert (
        best_known_rank(3, 2, 2) == best_known_rank(2, 2, 3) == 11
    )  # rank is permutation invariant


@pytest.mark.parametrize("field", ["standard", "mod2"])
def test_known_decompositions_meet_the_table_for_small_sizes(field: str) -> None:
    for size in [(2, 2, 2), (2, 2, 3), (2, 3, 3), (3, 3, 3), (2, 2, 4), (3, 3, 4)]:
        u, v, w = known_decomposition(*size, field=field)
        assert verify_matmul_decomposition(*size, u, v, w, field=field) == best_known_rank(
            *size, field=field
        )
    u, v, w = known_decomposition(4, 4, 4, field=field)
    assert u.shape[1] == {"standard": 48, "mod2": 47}[field]


def test_known_decomposition_within_a_coefficient_set() -> None:
    u, v, w = known_decomposition(4, 4, 4, coefficients=(-2, -1, 0, 1, 2))
    assert (
        u.dtype == np.int64 and u.shape[1] == 49
    )  # AlphaTensor's integer scheme, not the complex 48
    assert verify_matmul_decomposition(4, 4, 4, u, v, w) == 49


def test_unknown_sizes_and_names() -> None:
    with pytest.raises(KeyError, match="shipped sizes: .*2,2,2"):
        known_decomposition(1, 7, 13)
    with pytest.raises(KeyError, match="no best-known rank"):
        best_known_rank(1, 7, 13)
    with pytest.raises(KeyError, match="alphatensor"):
        shipped("alphatenser")
    with pytest.raises(ValueError, match="'2x2'"):
        parse_size("2x2")
    assert parse_size("2x3x4") == (2, 3, 4)


def test_strassen() -> None:
    assert verify_matmul_decomposition(2, 2, 2, *strassen()) == 7


def _integer(dec) -> bool:
    return all(np.isrealobj(x) and np.all(x == np.round(x)) for x in dec)


@pytest.mark.parametrize("source", list(SOURCES))
def test_export_every_small_shipped_decomposition(source: str) -> None:
    """Exported functions equal A @ B on random integer matrices (checked inside export_matmul,
    and once more here), with exactly `rank` multiplications for integer schemes."""
    rng = np.random.default_rng(0)
    exported = 0
    for key, dec in shipped(source).items():
        size = _size(key)
        if max(size) > 5 and source == "alphatensor":  # 73 large recombined ones: slow to exec
            continue
        algo = export_matmul(*size, *dec, field=SOURCES[source])
        a, b = rng.integers(-9, 10, size[:2]), rng.integers(-9, 10, size[1:])
        got, want = np.array(algo.function(a.tolist(), b.tolist())), a @ b
        if SOURCES[source] == "mod2":
            assert np.all((got - want) % 2 == 0)
        else:
            assert np.allclose(got, want, atol=1e-9)
        if _integer(dec):
            assert algo.source.count("*") == algo.rank == dec[0].shape[1]
        exported += 1
    assert exported == (20 if source == "alphatensor" else COUNTS[source])


def test_export_rejects_a_wrong_scheme() -> None:
    u, v, w = strassen()
    v = v.copy()
    v[0, 0] = 0
    with pytest.raises(DecompositionError, match=r"first wrong entry T\["):
        export_matmul(2, 2, 2, u, v, w)


def test_export_strassen_source() -> None:
    algo = export_matmul(2, 2, 2, *strassen(), name="strassen")
    assert algo.source.startswith("def strassen(A, B):")
    assert "m0 = (a0_0 + a1_1) * (b0_0 + b1_1)" in algo.source
    assert algo.function([[1, 2], [3, 4]], [[5, 6], [7, 8]]) == [[19, 22], [43, 50]]


def test_permuted_sizes_use_the_symmetries() -> None:
    """Files hold n <= m <= p only; every order of a size comes from cyclic shifts and
    transposition, with the same rank, verified against its own tensor."""
    import itertools

    for base in [(2, 3, 4), (2, 2, 5), (3, 4, 5)]:
        for field in ("standard", "mod2"):
            rank = known_decomposition(*base, field=field)[0].shape[1]
            for size in set(itertools.permutations(base)):
                u, v, w = known_decomposition(*size, field=field)
                assert verify_matmul_decomposition(*size, u, v, w, field=field) == rank
    with pytest.raises(ValueError, match="not a permutation"):
        permute_decomposition(*strassen(), (2, 2, 2), (2, 2, 3))


def test_export_docstring_example_runs() -> None:
    """The Strassen example at the top of export.py is the first thing users read."""
    import doctest

    from discoverygym.envs.tensor import export

    result = doctest.testmod(export)
    assert result.attempted >= 4 and result.failed == 0
