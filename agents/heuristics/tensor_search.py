"""Flip-graph random walk (Kauers & Moosbauer 2022) for matrix multiplication schemes.

A scheme is a list of rank-one terms (a, b, c) with T = sum a (x) b (x) c. Moves:

* flip: two terms sharing a factor up to sign, say a_j = s*a_i, become
  a_i (x) (b_i + lam*b_j) (x) c_i  and  a_i (x) b_j (x) (s*c_j - lam*c_i)   (lam = +-1),
  which leaves the sum unchanged (likewise with the roles of a, b, c rotated);
* reduction: a term whose factor became zero is dropped, and two terms sharing two factors
  merge into one, so the rank falls by one;
* plus transition (to leave a plateau): a term (a, b, c) and another term's a' give
  (a - a') (x) b (x) c + a' (x) b (x) c, rank + 1.

The walk starts from the naive scheme (n*m*p terms) and works over GF(2) (factors as bit
masks, addition is XOR) or over the integers with every coefficient bounded by `max_coeff`
in absolute value (factors as tuples). `flip_graph_search` runs walks until a target rank or
a time budget. For standard arithmetic it walks over GF(2) and Hensel-lifts every new
lowest-rank scheme to {-1, 0, 1} coefficients (`tensor_lift.lift_mod2`), as Kauers and
Moosbauer do; the direct integer walk (`lift=False`) converges much more slowly. Every scheme
returned is checked with the independent `verify_matmul_decomposition`.

Pure Python on purpose: a candidate touches two terms, so dict/bit-mask updates (~2-5 us)
beat numpy calls on tiny vectors; `experiments/bench/tensor.py` compares with a numpy walk.

Evolvable program interface: the `propose` argument, a function
`(state: WalkState, rng: random.Random) -> Flip | None` that picks the next flip (None: no
flip this time); the search calls it once per candidate. `uniform_flip` (the default)
samples a uniformly random term, mode and partner, as Kauers & Moosbauer do. An evolved
version may read everything in `WalkState`. `score_proposal(propose, ...)` is the fitness
an evolution loop maximises.

One call is one attempt of the budget, so a routine that loops until it finds a flip must not
loop forever: on a scheme with no shared factor (Strassen's <2,2,2> is one) it never would
return. With `draw_limit=N` the walk hands the routine a `DrawLimitedRandom` (the same random
stream) that stops a call after N draws; the attempt then counts as None. A routine that loops
without drawing, or draws around the counter, is stopped only by the sandbox's wall-clock limit:
the limit makes honest rules finish, the sandbox is the boundary.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from discoverygym.agents.heuristics.tensor_lift import lift_mod2
from discoverygym.envs.tensor.tensors import (
    Field,
    check_field,
    check_size,
    matmul_tensor,
    verify_matmul_decomposition,
)

Vector = object  # int bit mask (mod2) or tuple[int, ...] (standard)

DRAW_LIMIT = 1000
"""Random draws one call of an evolved proposal routine may make (`draw_limit`): generous for a
rule that samples a few candidates and scores them, and a bound on one that redraws forever."""


class ProposalOverdrawn(BaseException):
    """Raised inside a proposal call that drew more than its `draw_limit` random numbers.

    A BaseException, so that a routine's own ``except Exception`` does not swallow it."""


_RANDOM, _GETRANDBITS = random.Random.random, random.Random.getrandbits


class DrawLimitedRandom(random.Random):
    """`random.Random` with the same stream that raises `ProposalOverdrawn` once `left` draws
    are spent (the walk sets `left` for each proposal call, `UNLIMITED` otherwise). Every
    method (randrange, choice, sample, shuffle, uniform, ...) draws through `random` or
    `getrandbits`, so both are counted."""

    UNLIMITED = 1 << 62
    left = UNLIMITED

    def random(self, _draw=_RANDOM) -> float:
        self.left -= 1
        if self.left < 0:
            raise ProposalOverdrawn
        return _draw(self)

    def getrandbits(self, k: int, /, _draw=_GETRANDBITS) -> int:
        self.left -= 1
        if self.left < 0:
            raise ProposalOverdrawn
        return _draw(self, k)


class Flip(NamedTuple):
    """Flip term `j` against term `i` over the shared factor in `mode` (0=a, 1=b, 2=c), with
    `lam` = +1 or -1 (ignored mod 2)."""

    i: int
    j: int
    mode: int
    lam: int


@dataclass
class WalkState:
    """What a proposal routine may read (do not mutate): the live term ids, each term's three
    factors, and per mode the groups of term ids whose factor is equal up to sign."""

    terms: dict[int, list]  # id -> [a, b, c]
    ids: list[int]
    groups: tuple[dict, dict, dict]  # per mode: key -> set of ids
    keys: dict[int, list]  # id -> [key_a, key_b, key_c]
    rank: int = 0
    flips_since_improvement: int = 0
    field: str = "mod2"


ProposeFn = Callable[[WalkState, random.Random], Flip | None]


def uniform_flip(state: WalkState, rng: random.Random) -> Flip | None:
    """Default proposal: a random term, a random mode, a random partner sharing that factor.

    Returns None when the sampled term has no partner in that mode (the search counts the
    candidate and tries again).
    """
    i = state.ids[rng.randrange(len(state.ids))]
    mode = rng.randrange(3)
    group = state.groups[mode][state.keys[i][mode]]
    if len(group) < 2:
        return None
    j = rng.choice(tuple(group))
    if j == i:
        return None
    return Flip(i, j, mode, 1 if rng.random() < 0.5 else -1)


# ----------------------------------------------------------------------------- arithmetic
class _Mod2:
    @staticmethod
    def key(x: int) -> int:
        return x

    @staticmethod
    def sign(x: int, y: int) -> int:
        return 1

    @staticmethod
    def combine(x: int, y: int, coef: int) -> int:  # x + coef*y
        return x ^ y

    @staticmethod
    def scale(x: int, s: int) -> int:
        return x

    @staticmethod
    def ok(x: int) -> bool:
        return True

    @staticmethod
    def from_array(column: np.ndarray) -> int:
        return int(sum(1 << k for k, value in enumerate(column) if int(value) % 2))

    @staticmethod
    def to_array(x: int, size: int) -> np.ndarray:
        return np.array([(x >> k) & 1 for k in range(size)], dtype=np.int64)


class _Integers:
    def __init__(self, max_coeff: int) -> None:
        self.max_coeff = max_coeff

    @staticmethod
    def key(x: tuple) -> tuple:
        for value in x:
            if value:
                return x if value > 0 else tuple(-e for e in x)
        return x

    @staticmethod
    def sign(x: tuple, y: tuple) -> int:
        return 1 if x == y else -1

    @staticmethod
    def combine(x: tuple, y: tuple, coef: int) -> tuple:
        if coef == 1:
            return tuple([a + b for a, b in zip(x, y)])
        return tuple([a + coef * b for a, b in zip(x, y)])

    @staticmethod
    def scale(x: tuple, s: int) -> tuple:
        return x if s == 1 else tuple([-e for e in x])

    def ok(self, x: tuple) -> bool:
        return max(x) <= self.max_coeff and -min(x) <= self.max_coeff

    @staticmethod
    def from_array(column: np.ndarray) -> tuple:
        return tuple(int(e) for e in column)

    @staticmethod
    def to_array(x: tuple, size: int) -> np.ndarray:
        return np.array(x, dtype=np.int64)


# ----------------------------------------------------------------------------- the walk
class FlipGraphWalk:
    """One random walk on the flip graph of <n,m,p> in `field`.

    `step()` performs one candidate flip (possibly rejected); `rank` is the current number of
    terms; `decomposition()` returns (U, V, W) as int64 arrays.
    """

    def __init__(
        self,
        n: int,
        m: int,
        p: int,
        field: Field = "mod2",
        *,
        max_coeff: int = 1,
        seed: int | None = None,
        propose: ProposeFn = uniform_flip,
        plateau: int = 20_000,
        start: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
        draw_limit: int | None = None,
    ) -> None:
        self.size = check_size(n, m, p)
        self.field = check_field(field)
        n, m, p = self.size
        self.dims = (n * m, m * p, p * n)
        if draw_limit is not None and draw_limit < 1:
            raise ValueError(f"draw_limit must be >= 1 random draw per proposal, got {draw_limit}")
        self.draw_limit = draw_limit
        self.rng = random.Random(seed) if draw_limit is None else DrawLimitedRandom(seed)
        self.propose = propose
        self.plateau = plateau
        self.ar = _Mod2() if field == "mod2" else _Integers(max_coeff)
        self.candidates = 0
        self.flips = 0
        if start is None:
            start = naive_decomposition(n, m, p)
        self._load(*start)

    # -- state
    def _load(self, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> None:
        self.state = WalkState(terms={}, ids=[], groups=({}, {}, {}), keys={}, field=self.field)
        self._pos: dict[int, int] = {}
        self._next = 0
        for r in range(u.shape[1]):
            self._add([self.ar.from_array(f[:, r]) for f in (u, v, w)])
        self.state.rank = len(self.state.ids)

    def _add(self, term: list) -> int:
        s = self.state
        t = self._next
        self._next += 1
        s.terms[t] = term
        keys = [self.ar.key(x) for x in term]
        s.keys[t] = keys
        for mode in range(3):
            s.groups[mode].setdefault(keys[mode], set()).add(t)
        self._pos[t] = len(s.ids)
        s.ids.append(t)
        return t

    def _remove(self, t: int) -> None:
        s = self.state
        for mode in range(3):
            group = s.groups[mode][s.keys[t][mode]]
            group.discard(t)
            if not group:
                del s.groups[mode][s.keys[t][mode]]
        del s.terms[t], s.keys[t]
        pos = self._pos.pop(t)
        last = s.ids.pop()
        if last != t:
            s.ids[pos] = last
            self._pos[last] = pos

    def _set(self, t: int, mode: int, value: object) -> None:
        s = self.state
        old = s.keys[t][mode]
        group = s.groups[mode][old]
        group.discard(t)
        if not group:
            del s.groups[mode][old]
        key = self.ar.key(value)
        s.terms[t][mode] = value
        s.keys[t][mode] = key
        s.groups[mode].setdefault(key, set()).add(t)

    @property
    def rank(self) -> int:
        return len(self.state.ids)

    # -- moves
    def step(self) -> bool:
        """One candidate: propose a flip, apply it if its coefficients fit, then reduce.
        Returns True when the rank fell."""
        self.candidates += 1
        s = self.state
        s.flips_since_improvement += 1
        if self.draw_limit is None:
            flip = self.propose(s, self.rng)
        else:
            self.rng.left = self.draw_limit
            try:
                flip = self.propose(s, self.rng)
            except ProposalOverdrawn:
                flip = None
            finally:
                self.rng.left = DrawLimitedRandom.UNLIMITED
        if flip is None:
            return False
        i, j, mode, lam = flip
        ar = self.ar
        ti, tj = s.terms[i], s.terms[j]
        y, z = (mode + 1) % 3, (mode + 2) % 3
        sgn = ar.sign(ti[mode], tj[mode])
        new_y = ar.combine(ti[y], tj[y], lam)  # b_i + lam*b_j
        new_z = ar.combine(ar.scale(tj[z], sgn), ti[z], -lam)  # s*c_j - lam*c_i
        if not (ar.ok(new_y) and ar.ok(new_z)):
            return False
        self.flips += 1
        if sgn != 1:
            self._set(j, mode, ti[mode])
        self._set(i, y, new_y)
        self._set(j, z, new_z)
        before = self.rank
        for t in (i, j):
            if t in s.terms:
                self._reduce(t)
        if self.rank < before:
            s.rank = self.rank
            s.flips_since_improvement = 0
            return True
        return False

    def _reduce(self, t: int) -> None:
        """Drop `t` if a factor is zero, or merge it with a term sharing two factors."""
        s, ar = self.state, self.ar
        term = s.terms[t]
        if not (_nonzero(term[0]) and _nonzero(term[1]) and _nonzero(term[2])):
            self._remove(t)
            return
        keys = s.keys[t]
        for mode in range(3):
            y, z = (mode + 1) % 3, (mode + 2) % 3
            common = s.groups[mode][keys[mode]] & s.groups[y][keys[y]]
            common.discard(t)
            for k in common:
                other = s.terms[k]
                coef = ar.sign(term[mode], other[mode]) * ar.sign(term[y], other[y])
                merged = ar.combine(term[z], other[z], coef)
                if not ar.ok(merged):
                    continue
                self._remove(k)
                if not _nonzero(merged):
                    self._remove(t)
                    return
                self._set(t, z, merged)
                self._reduce(t)
                return

    def plus_transition(self) -> None:
        """Rank + 1: split a random term (a, b, c) with another term's a' into
        (a - a') (x) b (x) c + a' (x) b (x) c (modes rotated at random)."""
        s, ar = self.state, self.ar
        for _ in range(100):
            i, j = self.rng.sample(s.ids, 2)
            mode = self.rng.randrange(3)
            ti, tj = s.terms[i], s.terms[j]
            if s.keys[i][mode] == s.keys[j][mode]:
                continue
            diff = ar.combine(ti[mode], tj[mode], -1)
            if not ar.ok(diff):
                continue
            new = list(ti)
            new[mode] = tj[mode]
            self._set(i, mode, diff)
            self._add(new)
            s.rank = self.rank
            return

    def decomposition(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s = self.state
        cols = [
            [self.ar.to_array(s.terms[t][mode], self.dims[mode]) for t in s.ids]
            for mode in range(3)
        ]
        return tuple(
            np.stack(c, axis=1) if c else np.zeros((d, 0), np.int64)
            for c, d in zip(cols, self.dims)
        )


def _nonzero(x: object) -> bool:
    return bool(x) if isinstance(x, int) else any(x)


def naive_decomposition(n: int, m: int, p: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The n*m*p elementary products A[i,j]*B[j,k] -> C[i,k], as (U, V, W)."""
    n, m, p = check_size(n, m, p)
    rank = n * m * p
    u = np.zeros((n * m, rank), np.int64)
    v = np.zeros((m * p, rank), np.int64)
    w = np.zeros((p * n, rank), np.int64)
    r = 0
    for i in range(n):
        for j in range(m):
            for k in range(p):
                u[i * m + j, r] = v[j * p + k, r] = w[k * n + i, r] = 1
                r += 1
    return u, v, w


@dataclass
class SearchResult:
    """The best scheme found, when each rank was first reached, and the work done."""

    decomposition: tuple[np.ndarray, np.ndarray, np.ndarray]
    rank: int
    seconds: float
    candidates: int
    flips: int
    walks: int
    time_to_rank: dict[int, float] = field(default_factory=dict)


def flip_graph_search(
    n: int,
    m: int,
    p: int,
    field: Field = "mod2",
    *,
    time_budget: float | None = 10.0,
    target_rank: int | None = None,
    seed: int | None = 0,
    propose: ProposeFn = uniform_flip,
    attempt_budget: int | None = None,
    plateau: int = 50_000,
    restart: int = 2_000_000,
    lift: bool = True,
    max_coeff: int = 1,
    lift_every: int = 20_000,
    draw_limit: int | None = None,
) -> SearchResult:
    """Random walks on the flip graph of <n,m,p> until `target_rank`, `time_budget` seconds or
    `attempt_budget` candidate flips in all (exactly; None: no such limit).

    With `time_budget=None` and an `attempt_budget`, the search is deterministic: the same
    seed and proposal give the same scheme and the same `candidates` on any machine.

    A walk that has not lowered its rank for `plateau` candidates makes a plus transition
    (rank + 1, only from its lowest rank so far); after `restart` candidates without a new
    overall best it restarts from the naive scheme.

    "standard" with `lift=True` (default) walks over GF(2) and Hensel-lifts each scheme of a
    new lowest rank to {-1,0,1} coefficients (`lift_mod2`), retrying every `lift_every`
    candidates while the walk stays below the best lifted rank; `lift=False` walks over the
    integers directly with |coefficients| <= `max_coeff` (slower to converge). Returns the
    lowest-rank scheme found, verified exactly (over GF(2) for "mod2", over Z for "standard").
    `draw_limit`: random draws one `propose` call may make (see the module docstring; None: no
    limit, for trusted routines).
    """
    check_field(field)
    if time_budget is None and attempt_budget is None and target_rank is None:
        raise ValueError("give a time_budget, an attempt_budget or a target_rank to stop at")
    if attempt_budget is not None and attempt_budget < 1:
        raise ValueError(f"attempt_budget must be >= 1 candidate flip, got {attempt_budget}")
    start = time.perf_counter()
    rng = random.Random(seed)
    best = naive_decomposition(n, m, p)
    best_rank = n * m * p
    lifting = field == "standard" and lift
    walk_field: Field = "mod2" if lifting else field
    target = matmul_tensor(n, m, p) if lifting else None
    lift_rng = random.Random(rng.randrange(2**63))
    times: dict[int, float] = {best_rank: 0.0}
    candidates = flips = walks = 0

    def record(decomposition: tuple[np.ndarray, np.ndarray, np.ndarray], rank: int) -> None:
        nonlocal best, best_rank
        best, best_rank = decomposition, rank
        times[rank] = time.perf_counter() - start

    while True:
        walks += 1
        walk = FlipGraphWalk(
            n, m, p, walk_field, max_coeff=max_coeff, seed=rng.randrange(2**63), propose=propose,
            draw_limit=draw_limit,
        )
        walk_best = walk.rank
        since_best = since_lift = 0
        done = False
        while not done:
            improved = False
            chunk = 1000
            if attempt_budget is not None:  # stop at exactly the budget
                chunk = min(chunk, attempt_budget - candidates - walk.candidates)
            for _ in range(chunk):
                if walk.step():
                    walk_best = min(walk_best, walk.rank)
                    improved = improved or walk.rank < best_rank
            since_best += chunk
            since_lift += chunk
            if walk.rank < best_rank and (improved or since_lift >= lift_every):
                since_lift = 0
                if lifting:
                    lifted = lift_mod2(target, *walk.decomposition(), rng=lift_rng)
                    if lifted is not None:
                        record(lifted, walk.rank)
                        since_best = 0
                else:
                    record(walk.decomposition(), walk.rank)
                    since_best = 0
            if target_rank is not None and best_rank <= target_rank:
                done = True
            elif time_budget is not None and time.perf_counter() - start >= time_budget:
                done = True
            elif attempt_budget is not None and candidates + walk.candidates >= attempt_budget:
                done = True
            elif since_best >= restart:
                break
            elif walk.state.flips_since_improvement >= plateau and walk.rank <= walk_best:
                walk.plus_transition()
                walk.state.flips_since_improvement = 0
        candidates += walk.candidates
        flips += walk.flips
        if done:
            break
    verify_matmul_decomposition(n, m, p, *best, field=field)
    return SearchResult(
        decomposition=best,
        rank=best_rank,
        seconds=time.perf_counter() - start,
        candidates=candidates,
        flips=flips,
        walks=walks,
        time_to_rank=times,
    )


def proposal_fitness(rank: int, used: float, budget: float) -> float:
    """Minus (rank + used / budget): a lower rank always wins, at equal rank the smaller share
    of the budget (attempts or seconds) used to reach it; `used` is clipped to the budget."""
    return -(rank + min(max(used, 0.0), budget) / budget)


def score_proposal(
    propose: ProposeFn = uniform_flip,
    n: int = 3,
    m: int = 3,
    p: int = 3,
    field: Field = "mod2",
    *,
    time_budget: float = 5.0,
    seeds: tuple[int, ...] = (0, 1, 2),
    target_rank: int | None = None,
    attempts: int | None = None,
) -> float:
    """Fitness of a proposal routine for program evolution (higher is better).

    Minus the mean over `seeds` of (rank reached + budget used / budget): a lower rank always
    wins, and at equal rank the faster search (each run stops at `target_rank`, default the
    best-known rank). With `attempts` (candidate flips per walk) the budget is counted in
    attempts and the fitness is deterministic; otherwise in seconds (`time_budget`). Every
    scheme is verified inside `flip_graph_search`.
    """
    if target_rank is None:
        from discoverygym.envs.tensor.known import best_known_rank

        target_rank = best_known_rank(n, m, p, field)
    total = 0.0
    for seed in seeds:
        result = flip_graph_search(
            n, m, p, field, time_budget=None if attempts else time_budget,
            attempt_budget=attempts, target_rank=target_rank, seed=seed, propose=propose,
        )
        if attempts:
            total -= proposal_fitness(result.rank, result.candidates, attempts)
        else:
            total -= proposal_fitness(result.rank, result.seconds, time_budget)
    return -total / len(seeds)
