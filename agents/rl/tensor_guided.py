"""Policy-guided beam search for the tensor game, and the agent that plays what it finds.

The search plays the TensorGame from the target: a state is a residual and the terms played.
Each round, the `FactorPolicy` proposes the most probable next terms of every state in the
beam (`FactorPolicy.top_terms`); the children are scored by the summed log-probability of
their terms, states with the same residual are merged (the better score is kept), and the
`width` best survive. The first zero residual ends the search; rounds are played in order, so
it is the shortest scheme this beam finds.

Two exact rules help, and neither can cut a scheme of rank <= max_rank:

- prune: a residual's rank is at least the matrix rank of each of its three unfoldings, so a
  state with moves + that bound > max_rank cannot finish in time;
- finish: a residual whose unfoldings all have rank 1 (the bounds the pruning computed) is
  checked exactly to be a single term (`rank_one_factors`), then factored and played as the
  last move when its factors lie in the coefficient set.

Every scheme is checked with the independent `verify_decomposition` before it is returned,
and `GuidedSearchAgent` replays it through the env, which checks it once more.

`search_in_bases` plays the game in random bases, as AlphaTensor does (Fawzi et al. 2022,
Methods, "change of basis"): for unimodular A, B, C the target T' = T x1 A x2 B x3 C has a
term (A u) (x) (B v) (x) (C w) for every term of T, so a scheme found for T' maps back to one
of T with u = A^-1 u', and the same rank. A beam that reads the sparse target as its
elementary terms (the naive scheme) sees another tensor in each basis. A scheme whose mapped
back entries leave the coefficient set is not kept, and the search goes on to the next basis.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from discoverygym.agents.heuristics.tensor import SchemeAgent
from discoverygym.agents.heuristics.tensor_search import naive_decomposition
from discoverygym.agents.rl.tensor_factors import FactorPolicy, canonical_signs
from discoverygym.envs.tensor.tensors import Field, matmul_tensor, verify_decomposition


@dataclass
class GuidedResult:
    """The scheme found (None when none within `max_rank`), its rank and the work done."""

    decomposition: tuple[np.ndarray, np.ndarray, np.ndarray] | None
    rank: int | None
    seconds: float
    rounds: int
    states: int
    """States expanded (one policy evaluation each, batched per round)."""
    terms: int
    """Candidate terms scored."""
    beam_sizes: list[int] = field(default_factory=list)


def unfolding_rank_bounds(residuals: np.ndarray) -> np.ndarray:
    """Lower bounds on the tensor ranks of residuals (N, a, b, c): the largest matrix rank of
    each one's three unfoldings (exact for integer matrices this small)."""
    residuals = np.asarray(residuals, dtype=np.float64)
    count, a, b, c = residuals.shape
    unfoldings = (
        residuals.reshape(count, a, b * c),
        residuals.transpose(0, 2, 1, 3).reshape(count, b, a * c),
        residuals.transpose(0, 3, 1, 2).reshape(count, c, a * b),
    )
    return np.max([np.linalg.matrix_rank(u) for u in unfoldings], axis=0).astype(np.int64)


def rank_one_factors(
    residual: np.ndarray, coefficients: Sequence[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(u, v, w) with residual = u (x) v (x) w and entries in `coefficients`, or None when the
    residual is not such a term (the check is exact)."""
    nonzero = np.argwhere(residual)
    if len(nonzero) == 0:
        return None
    i, j, k = nonzero[0]
    pivot = int(residual[i, j, k])
    # a rank-one residual x (x) y (x) z gives u = x * y_j z_k, v = y * x_i z_k / pivot and
    # w = z * x_i y_j / pivot, with u (x) v (x) w = residual
    u = residual[:, j, k].copy()
    if np.any(residual[i, :, k] % pivot) or np.any(residual[i, j, :] % pivot):
        return None
    v = residual[i, :, k] // pivot
    w = residual[i, j, :] // pivot
    u, v, w = (x[0] for x in canonical_signs(u[None], v[None], w[None]))
    if not np.array_equal(u[:, None, None] * v[None, :, None] * w[None, None, :], residual):
        return None
    allowed = {int(c) for c in coefficients}
    if not all(int(x) in allowed for x in np.concatenate([u, v, w])):
        return None
    return u, v, w


def guided_search(
    policy: FactorPolicy,
    target: np.ndarray,
    *,
    max_rank: int,
    width: int = 256,
    top: tuple[int, int, int] = (8, 4, 2),
    time_budget: float | None = None,
    chunk: int = 1024,
) -> GuidedResult:
    """Beam search for a decomposition of `target` with at most `max_rank` terms (module doc).

    `top` = (k_u, k_v, k_w): the policy's proposals per state (`FactorPolicy.top_terms`, in
    batches of `chunk` states); `time_budget` (seconds) stops the search between rounds, with
    no scheme if none was found."""
    config = policy.config
    target = np.asarray(target, dtype=np.int64)
    if target.shape != tuple(config.sizes):
        raise ValueError(
            f"target of shape {target.shape}; the policy plays <{config.n},{config.m},{config.p}> "
            f"tensors of shape {tuple(config.sizes)}"
        )
    if not target.any():
        raise ValueError("the target is the zero tensor: nothing to decompose")
    if isinstance(max_rank, bool) or not isinstance(max_rank, int) or max_rank < 1:
        raise ValueError(f"max_rank={max_rank!r} must be an integer >= 1")
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ValueError(f"width={width!r} must be an integer >= 1")
    start = time.perf_counter()
    residuals = target[None]
    scores = np.zeros(1)
    bounds = unfolding_rank_bounds(residuals)
    history: list[tuple[np.ndarray, np.ndarray]] = []  # per round: (parent index, term tokens)
    states = terms = 0
    sizes: list[int] = []
    found: tuple[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None] | None = None
    while len(residuals) and len(history) < max_rank:
        if time_budget is not None and time.perf_counter() - start > time_budget:
            break
        depth = len(history)
        # finish: a rank-one residual (all unfoldings of rank 1) is its own last term, tried
        # in score order
        for index in np.flatnonzero(bounds == 1):
            last = rank_one_factors(residuals[index], config.coefficients)
            if last is not None:
                found = (index, [last])
                break
        if found is not None:
            break
        parts = [
            policy.top_terms(residuals[i : i + chunk], max_rank - depth, top)
            for i in range(0, len(residuals), chunk)
        ]
        source = np.concatenate([part[0] + i * chunk for i, part in enumerate(parts)])
        tokens = np.concatenate([part[1] for part in parts])
        logp = np.concatenate([part[2] for part in parts])
        states, terms = states + len(residuals), terms + len(tokens)
        u, v, w = policy.decode(tokens)
        children = residuals[source] - u[:, :, None, None] * v[:, None, :, None] * w[:, None, None, :]
        child_scores = scores[source] + logp
        order = np.argsort(-child_scores, kind="stable")
        children, child_scores, source, tokens = children[order], child_scores[order], source[order], tokens[order]
        history.append((source, tokens))
        zero = np.flatnonzero(~children.reshape(len(children), -1).any(axis=1))
        if len(zero):
            found = (int(zero[0]), None)
            break
        # merge states with the same residual (the first, best-scored one stays)
        keys = np.ascontiguousarray(children.reshape(len(children), -1)).view(
            np.dtype((np.void, children[0].nbytes))
        ).ravel()
        _, first = np.unique(keys, return_index=True)
        candidates = np.sort(first)
        # prune: moves + unfolding rank bound > max_rank cannot finish in time
        kept: list[np.ndarray] = []
        kept_bounds: list[np.ndarray] = []
        count = 0
        for i in range(0, len(candidates), 4 * width):
            block = candidates[i : i + 4 * width]
            block_bounds = unfolding_rank_bounds(children[block])
            fits = depth + 1 + block_bounds <= max_rank
            kept.append(block[fits][: width - count])
            kept_bounds.append(block_bounds[fits][: width - count])
            count += len(kept[-1])
            if count >= width:
                break
        keep = np.concatenate(kept) if kept else np.zeros(0, dtype=np.int64)
        bounds = np.concatenate(kept_bounds) if kept_bounds else np.zeros(0, dtype=np.int64)
        history[-1] = (source[keep], tokens[keep])
        residuals, scores = children[keep], child_scores[keep]
        sizes.append(len(keep))
    seconds = time.perf_counter() - start
    if found is None:
        return GuidedResult(None, None, seconds, len(history), states, terms, sizes)
    index, tail = found
    path: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    if tail is None:  # the zero residual is child `index` of the last round (not pruned yet)
        source, tokens = history[-1]
        history = history[:-1]
        tail = [tuple(f[0] for f in policy.decode(tokens[index : index + 1]))]  # type: ignore[misc]
        index = int(source[index])
    for source, tokens in reversed(history):
        path.append(tuple(f[0] for f in policy.decode(tokens[index : index + 1])))  # type: ignore[arg-type]
        index = int(source[index])
    terms_played = list(reversed(path)) + tail
    decomposition = tuple(np.stack([term[k] for term in terms_played], axis=1) for k in range(3))
    rank = verify_decomposition(target, *decomposition)
    return GuidedResult(decomposition, rank, seconds, len(history), states, terms, sizes)  # type: ignore[arg-type]


def random_basis(
    rng: np.random.Generator, size: int, *, density: float = 0.1, tries: int = 100
) -> tuple[np.ndarray, np.ndarray]:
    """A random unimodular matrix A (size, size) with entries in {-1, 0, 1}, and its inverse,
    also integral.

    A is a signed permutation times unit lower and upper triangular matrices whose off-diagonal
    entries are +-1 with probability `density` (else 0), drawn again until A's entries stay in
    {-1, 0, 1}. Dense draws of large sizes rarely do; after `tries` draws A is built instead
    from the signed permutation by density * size * (size - 1) random row additions
    (row i +-= row j), each kept only when the row stays in {-1, 0, 1}."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size={size!r} must be an integer >= 1")
    if not 0.0 <= density <= 1.0:
        raise ValueError(f"density={density!r} must be in [0, 1]")
    identity = np.eye(size, dtype=np.int64)

    def triangle(offset: int) -> np.ndarray:
        entries = rng.choice([-1, 1], size=(size, size)) * (rng.random((size, size)) < density)
        part = np.tril(entries, -1) if offset < 0 else np.triu(entries, 1)
        return part + identity

    def signed_permutation() -> np.ndarray:
        return identity[rng.permutation(size)] * rng.choice([-1, 1], size=size)

    basis = None
    for _ in range(tries):
        lower, upper = triangle(-1), triangle(1)
        candidate = signed_permutation() @ lower @ upper
        if np.abs(candidate).max() <= 1:
            basis = candidate
            break
    if basis is None:
        basis = signed_permutation()
        for _ in range(round(density * size * (size - 1))):
            i, j = rng.choice(size, size=2, replace=False)
            row = basis[i] + rng.choice([-1, 1]) * basis[j]
            if np.abs(row).max() <= 1:
                basis[i] = row
    inverse = np.rint(np.linalg.inv(basis)).astype(np.int64)
    if not np.array_equal(basis @ inverse, identity):  # cannot happen: det(A) = +-1
        raise AssertionError(f"random_basis: {basis.tolist()} has no integral inverse")
    return basis, inverse


def change_basis(tensor: np.ndarray, bases: Sequence[np.ndarray]) -> np.ndarray:
    """T x1 A x2 B x3 C: entry (i, j, k) is sum over a, b, c of A[i, a] B[j, b] C[k, c] T[a, b, c]."""
    a, b, c = bases
    return np.einsum("ia,jb,kc,abc->ijk", a, b, c, np.asarray(tensor, dtype=np.int64))


@dataclass
class BasesResult:
    """What `search_in_bases` found: the scheme in the standard basis (None when no basis gave
    one within max_rank and the coefficient set), the basis that gave it (0: the standard one),
    the bases searched, the schemes dropped for leaving the coefficient set, and the work."""

    decomposition: tuple[np.ndarray, np.ndarray, np.ndarray] | None
    rank: int | None
    basis: int | None
    bases: int
    out_of_range: int
    seconds: float
    rounds: int
    states: int
    terms: int


def search_in_bases(
    policy: FactorPolicy,
    target: np.ndarray,
    *,
    bases: int,
    seed: int = 0,
    density: float = 0.1,
    max_rank: int,
    width: int = 256,
    top: tuple[int, int, int] = (8, 4, 2),
    time_budget: float | None = None,
) -> BasesResult:
    """`guided_search` on the target in the standard basis, then in up to `bases - 1` random
    ones (`random_basis` with `density`, drawn from `seed`), until one gives a scheme of rank <= max_rank
    whose terms, mapped back, have entries in the policy's coefficient set (module doc).
    `time_budget` (seconds) bounds the whole search."""
    if isinstance(bases, bool) or not isinstance(bases, int) or bases < 1:
        raise ValueError(f"bases={bases!r} must be an integer >= 1")
    target = np.asarray(target, dtype=np.int64)
    allowed = np.asarray(policy.config.coefficients)
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    out = BasesResult(None, None, None, 0, 0, 0.0, 0, 0, 0)
    while out.bases < bases:
        left = None if time_budget is None else time_budget - (time.perf_counter() - start)
        if left is not None and left <= 0:
            break
        if out.bases == 0:
            pairs = [(np.eye(n, dtype=np.int64),) * 2 for n in target.shape]
        else:
            pairs = [random_basis(rng, n, density=density) for n in target.shape]
        found = guided_search(
            policy, change_basis(target, [p[0] for p in pairs]), max_rank=max_rank, width=width,
            top=top, time_budget=left,
        )
        out.bases += 1
        out.rounds += found.rounds
        out.states += found.states
        out.terms += found.terms
        if found.decomposition is None:
            continue
        mapped = tuple(p[1] @ f for p, f in zip(pairs, found.decomposition, strict=True))
        if not np.isin(np.concatenate(mapped, axis=None), allowed).all():
            out.out_of_range += 1
            continue
        out.decomposition, out.basis = mapped, out.bases - 1  # type: ignore[assignment]
        out.rank = verify_decomposition(target, *mapped)
        break
    out.seconds = time.perf_counter() - start
    return out


class GuidedSearchAgent(SchemeAgent):
    """Plays the scheme that `search_in_bases` finds for the matmul target with a trained
    `FactorPolicy` (family ``rl``): the search runs on the first `act` of the first episode,
    at most `max_rank` terms (default: the naive rank n*m*p minus one), in the standard basis
    and then `bases - 1` random ones; later episodes replay it. Without a scheme within
    `max_rank` it plays the naive scheme (rank n*m*p), and ``result.rank`` is None."""

    name = "guided"
    family = "rl"

    def __init__(
        self,
        policy: FactorPolicy,
        field: Field = "standard",
        coefficients: Sequence[int] | None = None,
        *,
        max_rank: int | None = None,
        width: int = 256,
        top: tuple[int, int, int] = (8, 4, 2),
        time_budget: float | None = None,
        bases: int = 1,
        seed: int = 0,
        density: float = 0.1,
    ) -> None:
        config = policy.config
        if field != "standard":
            raise ValueError(f"the guided search plays standard arithmetic, not field={field!r}")
        super().__init__(config.n, config.m, config.p, field, coefficients)
        self.policy = policy
        self.max_rank = max_rank or config.n * config.m * config.p - 1
        self.width, self.top, self.time_budget = width, top, time_budget
        self.bases, self.seed, self.density = bases, seed, density
        self.result: BasesResult | None = None

    def scheme(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        self.result = search_in_bases(
            self.policy,
            matmul_tensor(self.n, self.m, self.p),
            bases=self.bases,
            seed=self.seed,
            density=self.density,
            max_rank=self.max_rank,
            width=self.width,
            top=self.top,
            time_budget=self.time_budget,
        )
        if self.result.decomposition is None:
            return naive_decomposition(self.n, self.m, self.p)
        return self.result.decomposition


__all__ = [
    "BasesResult",
    "GuidedResult",
    "GuidedSearchAgent",
    "change_basis",
    "guided_search",
    "random_basis",
    "rank_one_factors",
    "search_in_bases",
    "unfolding_rank_bounds",
]
