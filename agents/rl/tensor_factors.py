"""An autoregressive factor policy for the tensor game, trained on synthetic demonstrations.

AlphaTensor's network proposes the next rank-one term u (x) v (x) w one factor at a time: a
distribution over u given the residual, over v given the residual and u, and over w given all
three. Unlike SB3's factorised ``MultiDiscrete`` policy (one categorical per entry), this can
say "any one of these R terms", which a residual of rank R calls for.

Each factor is one token: the vector's index among all ``q**d`` vectors with entries from the
coefficient set (q values, d entries). Since u (x) v (x) w = (-u) (x) (-v) (x) w, terms are
kept in a canonical sign: the first nonzero entries of u and v are positive, and the sign goes
to w. The heads are masked to canonical, nonzero factors.

Training (AlphaTensor's synthetic demonstrations, Fawzi et al. 2022): draw R ~ U{1..max_rank}
random terms whose entries are 0 with a probability drawn per term from ``sparsity`` and a
uniformly drawn nonzero coefficient otherwise; the input is their sum, the label one of the
terms chosen uniformly. The cross-entropy with a uniformly chosen term fits the policy to the
uniform mixture over the terms: each is a correct next move. No decomposition of a matrix
multiplication tensor is ever shown.

Input: the residual's entries clipped to [-clip, clip], one-hot, flattened, and the budget: the
number of terms left to decompose it (one-hot, 1..max_rank). In training the budget is the
demonstration's number of terms; in the search it is max_rank minus the moves made (the env's
``steps_left``; AlphaTensor's network sees the move count too). It was added so that the policy
could tell a sparse target with a small budget from the sum of its elementary terms (the
likeliest reading under the synthetic prior, and the naive scheme); measured on <2,2,2> it
did not change that (docs/results/rl_attempts). An MLP trunk; per head a small MLP over the
trunk's features and the embeddings of the factors chosen so far.

`guided_search` (`discoverygym.agents.rl.tensor_guided`) searches with it.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch as th
from torch import nn

from discoverygym.envs.tensor.instances import factor_sizes
from discoverygym.envs.tensor.tensors import check_size

FORMAT = "discoverygym-factor-policy/1"
MAX_HEAD = 3**9
"""The most factor vectors one head may score (3**9: <3,3,3> with coefficients {-1, 0, 1})."""


@dataclass(frozen=True)
class FactorPolicyConfig:
    """What `train_factor_policy` builds and trains; saved with the weights."""

    n: int = 2
    m: int = 2
    p: int = 2
    coefficients: tuple[int, ...] = (-1, 0, 1)
    max_rank: int | None = None
    """Synthetic demonstrations have 1..max_rank terms (default n*m*p, the naive rank)."""
    sparsity: tuple[float, float] = (0.3, 0.85)
    """Each term's probability that an entry is 0 is drawn uniformly from this range."""
    clip: int = 2
    hidden: int = 768
    head_hidden: int = 512
    embed: int = 64
    steps: int = 6000
    batch_size: int = 512
    learning_rate: float = 1e-3
    seed: int = 0

    def __post_init__(self) -> None:
        check_size(self.n, self.m, self.p)
        coefficients = tuple(sorted(int(c) for c in self.coefficients))
        object.__setattr__(self, "coefficients", coefficients)
        if len(set(coefficients)) != len(coefficients) or 0 not in coefficients or any(
            -c not in coefficients for c in coefficients
        ):
            raise ValueError(
                f"coefficients={coefficients}: the factor policy needs a set of distinct integers "
                "with 0 and symmetric about it, e.g. (-1, 0, 1)"
            )
        for size in factor_sizes(self.n, self.m, self.p):
            if len(coefficients) ** size > MAX_HEAD:
                raise ValueError(
                    f"<{self.n},{self.m},{self.p}> with {len(coefficients)} coefficients has "
                    f"{len(coefficients)}**{size} factor vectors per head, above {MAX_HEAD}"
                )
        if self.max_rank is not None and not 1 <= self.max_rank <= 64:
            raise ValueError(f"max_rank={self.max_rank!r} must be in [1, 64] (or None)")
        low, high = self.sparsity
        if not 0.0 <= low <= high < 1.0:
            raise ValueError(f"sparsity={self.sparsity!r} must be a range within [0, 1)")
        for name in ("clip", "hidden", "head_hidden", "embed", "steps", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} must be an integer >= 1")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate={self.learning_rate!r} must be > 0")

    @property
    def sizes(self) -> tuple[int, int, int]:
        return factor_sizes(self.n, self.m, self.p)

    @property
    def ranks(self) -> int:
        return self.max_rank or self.n * self.m * self.p

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FactorPolicyConfig:
        """A config from a saved dict; unknown keys are refused, naming them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown factor policy config keys {unknown}; known: {sorted(known)}")
        data = dict(data)
        for key in ("coefficients", "sparsity"):
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)


class FactorCodec:
    """Factor vectors <-> token indices for one vector length and coefficient set."""

    def __init__(self, size: int, coefficients: Sequence[int]) -> None:
        self.size = size
        self.values = np.asarray(coefficients, dtype=np.int64)
        q = len(self.values)
        self.powers = q ** np.arange(size - 1, -1, -1, dtype=np.int64)
        digits = (np.arange(q**size)[:, None] // self.powers) % q
        self.table = self.values[digits]  # (q**size, size): the vector of every token
        first = self.table[np.arange(len(self.table)), (self.table != 0).argmax(axis=1)]
        self.nonzero = self.table.any(axis=1)
        self.canonical = self.nonzero & (first > 0)
        for array in (self.values, self.powers, self.table, self.nonzero, self.canonical):
            array.setflags(write=False)  # shared between users through `factor_codecs`

    def encode(self, vectors: np.ndarray) -> np.ndarray:
        """Token indices of vectors (..., size) with entries from the coefficient set."""
        positions = np.searchsorted(self.values, vectors)
        return (positions * self.powers).sum(axis=-1)

    def decode(self, tokens: np.ndarray) -> np.ndarray:
        return self.table[tokens]


@functools.lru_cache(maxsize=8)
def factor_codecs(config: FactorPolicyConfig) -> tuple[FactorCodec, FactorCodec, FactorCodec]:
    """The codecs of u, v and w for `config`, built once (the demonstrations need them every
    batch, the policy and the search's tests too)."""
    a, b, c = (FactorCodec(size, config.coefficients) for size in config.sizes)
    return a, b, c


def canonical_signs(u: np.ndarray, v: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, ...]:
    """Rows of terms (u, v, w) with the first nonzero entries of u and v made positive."""
    su = np.sign(u[np.arange(len(u)), (u != 0).argmax(axis=1)])[:, None]
    sv = np.sign(v[np.arange(len(v)), (v != 0).argmax(axis=1)])[:, None]
    return u * su, v * sv, w * su * sv


def _random_factors(
    rng: np.random.Generator, count: int, size: int, zero_prob: np.ndarray, nonzero: np.ndarray
) -> np.ndarray:
    """`count` nonzero vectors of `size` entries: 0 with probability zero_prob[row], else a
    uniformly drawn value of `nonzero`."""
    out = np.zeros((count, size), dtype=np.int64)
    todo = np.arange(count)
    while len(todo):
        draw = nonzero[rng.integers(len(nonzero), size=(len(todo), size))]
        draw *= rng.random((len(todo), size)) >= zero_prob[todo, None]
        out[todo] = draw
        todo = todo[~draw.any(axis=1)]
    return out


def synthetic_demonstrations(
    config: FactorPolicyConfig, rng: np.random.Generator, batch: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`batch` synthetic targets (batch, *shape), per target one of its terms as tokens
    (batch, 3) in canonical signs, and its number of terms R ~ U{1..max_rank} (batch,)."""
    a, b, c = config.sizes
    codecs = factor_codecs(config)
    nonzero = np.asarray([x for x in config.coefficients if x != 0], dtype=np.int64)
    ranks = rng.integers(1, config.ranks + 1, size=batch)
    chosen = rng.integers(0, 1 << 30, size=batch) % ranks
    targets = np.zeros((batch, a, b, c), dtype=np.int64)
    labels = np.zeros((batch, 3), dtype=np.int64)
    low, high = config.sparsity
    for k in range(config.ranks):
        live = np.flatnonzero(ranks > k)
        zero_prob = rng.uniform(low, high, size=len(live))
        u, v, w = (_random_factors(rng, len(live), size, zero_prob, nonzero) for size in config.sizes)
        u, v, w = canonical_signs(u, v, w)
        targets[live] += u[:, :, None, None] * v[:, None, :, None] * w[:, None, None, :]
        pick = chosen[live] == k
        for mode, factor in enumerate((u, v, w)):
            labels[live[pick], mode] = codecs[mode].encode(factor[pick])
    return targets, labels, ranks


class FactorPolicy(nn.Module):
    """The autoregressive policy: trunk over the residual, then heads for u, v | u, w | u, v."""

    def __init__(self, config: FactorPolicyConfig) -> None:
        super().__init__()
        self.config = config
        self.codecs = factor_codecs(config)
        entries = int(np.prod(config.sizes))
        width = 2 * config.clip + 1
        hidden = config.hidden
        self.trunk = nn.Sequential(
            nn.Linear(entries * width + config.ranks, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.LayerNorm(hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.LayerNorm(hidden),
            nn.ReLU(),
        )
        self.embeddings = nn.ModuleList(
            nn.Embedding(len(codec.table), config.embed) for codec in self.codecs[:2]
        )
        self.heads = nn.ModuleList(
            nn.Sequential(
                nn.Linear(hidden + k * config.embed, config.head_hidden),
                nn.ReLU(),
                nn.Linear(config.head_hidden, len(codec.table)),
            )
            for k, codec in enumerate(self.codecs)
        )
        allowed = [self.codecs[0].canonical, self.codecs[1].canonical, self.codecs[2].nonzero]
        for k, mask in enumerate(allowed):
            self.register_buffer(f"mask{k}", th.as_tensor(~mask), persistent=False)

    def features(self, residuals: np.ndarray, budgets: np.ndarray) -> th.Tensor:
        """One-hot of the clipped entries and of the budgets (terms left, clipped to
        1..max_rank): (batch, entries * (2 * clip + 1) + max_rank)."""
        clip, ranks = self.config.clip, self.config.ranks
        residuals = np.asarray(residuals, dtype=np.int64)
        index = np.clip(residuals, -clip, clip) + clip
        flat = th.as_tensor(index.reshape(len(index), -1))
        budget = th.as_tensor(np.clip(np.broadcast_to(budgets, (len(index),)), 1, ranks) - 1)
        return th.cat(
            [
                nn.functional.one_hot(flat, 2 * clip + 1).float().flatten(1),
                nn.functional.one_hot(budget.long(), ranks).float(),
            ],
            dim=1,
        )

    def head(self, hidden: th.Tensor, mode: int, previous: th.Tensor | None) -> th.Tensor:
        """Log-probabilities of factor `mode` given the trunk's features and the factors before
        it (`previous`: (batch, >= mode) tokens)."""
        parts = [hidden] + [self.embeddings[j](previous[:, j]) for j in range(mode)]
        return self._log_probs(self.heads[mode](th.cat(parts, dim=1)), mode)

    def _log_probs(self, logits: th.Tensor, mode: int) -> th.Tensor:
        """Log-softmax over the factors head `mode` may choose (the others get -inf)."""
        logits = logits.masked_fill(getattr(self, f"mask{mode}"), float("-inf"))
        return th.log_softmax(logits, dim=1)

    def _trunk_part(self, hidden: th.Tensor, mode: int) -> th.Tensor:
        """The trunk features' part of head `mode`'s first layer (with its bias), per state."""
        first = self.heads[mode][0]
        return nn.functional.linear(hidden, first.weight[:, : self.config.hidden], first.bias)

    def loss(self, residuals: np.ndarray, labels: np.ndarray, budgets: np.ndarray) -> th.Tensor:
        """Summed cross-entropy of the three factors of the labelled terms (teacher forcing)."""
        hidden = self.trunk(self.features(residuals, budgets))
        tokens = th.as_tensor(labels)
        return -sum(
            self.head(hidden, mode, tokens).gather(1, tokens[:, mode : mode + 1]).mean()
            for mode in range(3)
        )

    def _head_fast(
        self, projected: th.Tensor, rows: th.Tensor, mode: int, previous: th.Tensor
    ) -> th.Tensor:
        """`head` for many rows that share trunk features: `projected` is the trunk's part of
        the head's first layer per state (computed once), `rows` maps each row to its state."""
        first, rest = self.heads[mode][0], self.heads[mode][1:]
        hidden = self.config.hidden
        embedded = th.cat([self.embeddings[j](previous[:, j]) for j in range(mode)], dim=1)
        pre = projected[rows] + nn.functional.linear(embedded, first.weight[:, hidden:])
        return self._log_probs(rest(pre), mode)

    @th.no_grad()
    def top_terms(
        self, residuals: np.ndarray, budgets: np.ndarray | int, top: tuple[int, int, int]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Given residuals and their budgets (terms left), the k_u * k_v * k_w terms of
        highest probability reached by taking the top k_u
        u's, then the top k_v v's for each, then the top k_w w's for each pair.

        Returns (source row, tokens (rows, 3), log-probabilities), one row per term (terms of
        probability 0, masked, are left out)."""
        ku, kv, kw = (min(k, len(codec.table)) for k, codec in zip(top, self.codecs, strict=True))
        hidden = self.trunk(self.features(residuals, np.asarray(budgets)))
        batch = len(hidden)
        lu = self.head(hidden, 0, None).topk(ku, dim=1)
        states = th.arange(batch).repeat_interleave(ku)
        tokens = th.zeros((batch * ku, 2), dtype=th.long)
        tokens[:, 0] = lu.indices.reshape(-1)
        lv = self._head_fast(self._trunk_part(hidden, 1), states, 1, tokens).topk(kv, dim=1)
        tokens = tokens.repeat_interleave(kv, dim=0)
        tokens[:, 1] = lv.indices.reshape(-1)
        lw = self._head_fast(
            self._trunk_part(hidden, 2), states.repeat_interleave(kv), 2, tokens
        ).topk(kw, dim=1)
        out = th.cat(
            [tokens.repeat_interleave(kw, dim=0), lw.indices.reshape(-1, 1)], dim=1
        ).numpy()
        logp = (
            lu.values.reshape(-1).repeat_interleave(kv * kw)
            + lv.values.reshape(-1).repeat_interleave(kw)
            + lw.values.reshape(-1)
        ).numpy()
        source = np.arange(batch).repeat(ku * kv * kw)
        keep = np.isfinite(logp)
        return source[keep], out[keep], logp[keep]

    def decode(self, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Factor vectors (rows, size) of token rows (rows, 3)."""
        return tuple(self.codecs[k].decode(tokens[:, k]) for k in range(3))  # type: ignore[return-value]


@dataclass
class TrainedFactorPolicy:
    """A trained policy with its training history (step, loss) and compute."""

    policy: FactorPolicy
    history: list[tuple[int, float]] = field(default_factory=list)
    compute: dict[str, float] = field(default_factory=dict)


def train_factor_policy(
    config: FactorPolicyConfig,
    *,
    log_every: int = 100,
    on_step: Callable[[int, float], None] | None = None,
) -> TrainedFactorPolicy:
    """Train a `FactorPolicy` on `config.steps` batches of fresh synthetic demonstrations
    (AdamW; the learning rate warms up over the first 5 % of steps, then
    follows a cosine to 0). `on_step(step, loss)` is called every `log_every` steps
    (a progress bar, a tracker); a KeyboardInterrupt stops training and keeps the policy."""
    th.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    policy = FactorPolicy(config)
    optimiser = th.optim.AdamW(policy.parameters(), lr=config.learning_rate, weight_decay=1e-4)
    warmup = max(1, config.steps // 20)
    schedule = th.optim.lr_scheduler.LambdaLR(
        optimiser,
        lambda step: (step + 1) / warmup
        if step < warmup
        else 0.5 * (1 + np.cos(np.pi * (step - warmup) / max(1, config.steps - warmup))),
    )
    history: list[tuple[int, float]] = []
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    running, count, step = 0.0, 0, 0
    try:
        for step in range(1, config.steps + 1):
            residuals, labels, budgets = synthetic_demonstrations(config, rng, config.batch_size)
            loss = policy.loss(residuals, labels, budgets)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            running, count = running + loss.item(), count + 1
            if step % log_every == 0 or step == config.steps:
                history.append((step, running / count))
                if on_step is not None:
                    on_step(step, running / count)
                running, count = 0.0, 0
    except KeyboardInterrupt:
        step -= 1
    policy.eval()
    compute = {
        "steps": float(step),
        "demonstrations": float(step * config.batch_size),
        "cpu_seconds": time.process_time() - start_cpu,
        "wall_seconds": time.perf_counter() - start_wall,
    }
    return TrainedFactorPolicy(policy, history, compute)


def save_factor_policy(trained: TrainedFactorPolicy, path: Path, **extra: Any) -> Path:
    """Write the weights (float16), config, history and compute to `path` (a ``.pt`` file)."""
    state = {k: v.half() if v.is_floating_point() else v for k, v in trained.policy.state_dict().items()}
    payload = {
        "format": FORMAT,
        "config": asdict(trained.policy.config),
        "state_dict": state,
        "history": [list(h) for h in trained.history],
        "compute": dict(trained.compute),
        **extra,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    th.save(payload, tmp)
    tmp.replace(path)
    return path


def load_factor_policy(path: Path) -> tuple[FactorPolicy, dict[str, Any]]:
    """The policy saved at `path` and the rest of its payload (history, compute, ...).

    Loaded with ``weights_only=True`` (no pickled code runs); a file of another format is
    refused, naming it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no factor policy at {path}")
    try:
        payload = th.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - torch raises many types for a bad file
        raise ValueError(f"{path}: not a factor policy file ({type(error).__name__}: {error})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path}: not a factor policy file (format {FORMAT!r} expected)")
    config = FactorPolicyConfig.from_dict(payload["config"])
    policy = FactorPolicy(config)
    state = {k: v.float() if v.is_floating_point() else v for k, v in payload["state_dict"].items()}
    policy.load_state_dict(state)
    policy.eval()
    return policy, {k: v for k, v in payload.items() if k not in ("state_dict", "format")}


__all__ = [
    "FactorCodec",
    "FactorPolicy",
    "FactorPolicyConfig",
    "TrainedFactorPolicy",
    "canonical_signs",
    "factor_codecs",
    "load_factor_policy",
    "save_factor_policy",
    "synthetic_demonstrations",
    "train_factor_policy",
]
