"""Structure-aware SB3 policies: one shared network scores every candidate action.

A flat MLP over a padded observation is the weak baseline (SB3's ``MlpPolicy`` /
``MultiInputPolicy``). The policies here mirror the heuristics they compete with:

- ``binpacking``: each candidate (a remaining-capacity level in ``histogram`` mode, an open bin
  in ``bins`` mode, one of the k tightest fitting levels in the ``binpacking_topk`` view of
  `envs`, and always the "open a new bin" action) is scored by the same network from its own
  features and the item; the logits are the scores, masked by the env's mask. The trained
  policy is a learned priority function and runs with any number of bins or capacity levels.
  Option ``best_fit_prior``: add best fit's logits, so the network learns a correction to it;
  ``sum_of_squares_prior`` does the same with Sum-of-Squares (the best rule on Weibull sets).
- ``jobshop``: each job is scored by one shared network from its features (the row already
  holds its next machine's ready time and remaining work), features relative to the other legal
  jobs, and a pooled (mean and max) context over jobs and machines, so one policy runs on any
  number of jobs and machines (train 10x10, test 15x15 / 20x20). Option ``mwkr_prior``: add
  the non-delay MWKR rule's logits (the best rule on Taillard), learning a correction to it;
  ``evolved_prior`` the same with the LLM-evolved rule. Option ``attention``: self-attention
  layers among the jobs before the pooling (`AttentionBlock`).
- tensor game: SB3's factorised ``MultiDiscrete`` distribution over a ``MlpPolicy`` (default).
- ``ensemble``: `EnsembleScorer`, several trained scorers of one game played as one policy
  (the mean of their logits; built by `export.ship_ensemble`, not trained).

Architecture (`SetScorer`, a Deep Sets scorer): ``e_i = phi(x_i)``; ``c = rho([mean_i e_i,
max_i e_i, g])`` over existing candidates with global features ``g``; ``logit_i =
psi([e_i, c])``; value ``= Linear(c)``. Game modules only turn an observation into
``(candidates [B, N, F], exists [B, N], globals [B, G])`` with candidates in action order.

Sizes: SB3 needs one observation shape per model, so training uses one padded size (the job
shop env pads to the largest instance of its dataset; bin packing's histogram has C+1 levels).
The networks here never depend on that size, and `discoverygym.agents.rl.evaluate` calls them
directly instead of SB3's ``predict`` (which checks shapes), so a model trained on 10x10 job
shops plays 15x15 and 20x20 ones, and one trained with C=100 plays OR-Library's C=150: the
logits' length follows the observation. Features are normalised per instance (times by the
job shop env's time scale, capacities by C), so their ranges do not grow with the size.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

Features = tuple[th.Tensor, th.Tensor, th.Tensor]


class PassThrough(BaseFeaturesExtractor):
    """Hands the (preprocessed) observation, tensor or dict, to the scorer unchanged."""

    def __init__(self, observation_space: gym.Space) -> None:
        super().__init__(observation_space, features_dim=1)

    def forward(self, observations: Any) -> Any:
        return observations


def mlp(sizes: list[int], activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """Linear layers with `activation` between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class AttentionBlock(nn.Module):
    """A pre-norm transformer encoder layer (self-attention, then a 2x-wide ReLU MLP, both
    residual) with an additive attention bias [B, heads or 1, N, N] and no dropout.

    Written out instead of ``nn.TransformerEncoderLayer``: that layer's inference fast path
    (eval mode without gradients, where SB3 collects rollouts) reads a per-head float mask
    differently from its training path, so PPO's ratios would compare two different policies.
    """

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.ff = mlp([dim, 2 * dim, dim])

    def forward(self, x: th.Tensor, bias: th.Tensor) -> th.Tensor:
        b, n, dim = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, n, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        mixed = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        x = x + self.out(mixed.transpose(1, 2).reshape(b, n, dim))
        return x + self.ff(self.norm2(x))


class Scorer(nn.Module):
    """What a structured policy's ``mlp_extractor`` is: ``both(obs)`` gives the logits, one per
    candidate in action order (the policy's ``action_net`` is the identity, so their length
    follows the observation), and the value latent of width ``latent_dim_vf``."""

    latent_dim_pi = 1  # unused: action_net is the identity
    latent_dim_vf: int

    def both(self, obs: Any) -> tuple[th.Tensor, th.Tensor]:
        raise NotImplementedError

    def reset_head(self) -> None:
        """Make the initial policy near uniform (or near its prior)."""

    def forward(self, obs: Any) -> tuple[th.Tensor, th.Tensor]:
        return self.both(obs)

    def forward_actor(self, obs: Any) -> th.Tensor:
        return self.both(obs)[0]

    def forward_critic(self, obs: Any) -> th.Tensor:
        return self.both(obs)[1]


class SetScorer(Scorer):
    """Scores every candidate with shared weights; plays the role of SB3's ``mlp_extractor``.

    ``forward_actor`` returns the logits (one per candidate, in action order), and the
    policy's ``action_net`` is the identity; ``forward_critic`` returns the pooled context.

    ``attention`` > 0 inserts that many self-attention layers (`AttentionBlock`, ``heads``
    heads) between ``phi`` and the pooling, so each candidate's embedding sees the others (the
    Self-Labeling SPN's and L2D's point: a job's priority depends on the jobs it competes
    with). Missing candidates are masked out as keys. ``pairs`` (obs -> [B, N, N] in {0, 1})
    marks related pairs, e.g. jobs waiting for the same machine; each layer learns one additive
    attention bias per head for them.
    """

    def __init__(
        self,
        featurize: Callable[[Any], Features],
        candidate_dim: int,
        global_dim: int,
        hidden: int = 64,
        prior: Callable[[Any], th.Tensor] | None = None,
        attention: int = 0,
        heads: int = 4,
        pairs: Callable[[Any], th.Tensor] | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(attention, int) or isinstance(attention, bool) or attention < 0:
            raise ValueError(f"attention must be a number of layers (an integer >= 0), got {attention!r}")
        if attention and hidden % heads:
            raise ValueError(f"attention needs hidden ({hidden}) a multiple of heads ({heads})")
        self.featurize = featurize
        self.prior = prior
        self.pairs = pairs
        self.heads = heads
        self.phi = mlp([candidate_dim, hidden, hidden])
        self.mix = nn.ModuleList(AttentionBlock(hidden, heads) for _ in range(attention))
        self.pair_bias = nn.Parameter(th.zeros(attention, heads)) if attention and pairs else None
        self.rho = mlp([2 * hidden + global_dim, hidden, hidden])
        self.psi = mlp([2 * hidden, hidden, 1])
        self.latent_dim_vf = hidden

    def reset_head(self) -> None:
        """Small final scoring layer, so the initial policy is near uniform (or near the prior)."""
        last = self.psi[-1]
        nn.init.orthogonal_(last.weight, gain=0.01)
        nn.init.zeros_(last.bias)

    def _context(self, emb: th.Tensor, exists: th.Tensor, glob: th.Tensor) -> th.Tensor:
        weight = exists.unsqueeze(-1).to(emb.dtype)
        count = weight.sum(dim=1).clamp_min(1.0)
        mean = (emb * weight).sum(dim=1) / count
        maxed = emb.masked_fill(weight == 0, -1e4).amax(dim=1)
        maxed = th.where(count > 0, maxed, th.zeros_like(maxed))
        return nn.functional.relu(self.rho(th.cat([mean, maxed, glob], dim=-1)))

    def _attend(self, emb: th.Tensor, exists: th.Tensor, obs: Any) -> th.Tensor:
        """The attention layers over the candidates (keys: the existing ones; a row with none
        attends to all, so that softmax stays finite)."""
        keys = exists | ~exists.any(dim=1, keepdim=True)
        mask = th.zeros_like(keys, dtype=emb.dtype).masked_fill(~keys, -1e4)[:, None, None, :]
        related = None if self.pair_bias is None else self.pairs(obs).to(emb.dtype)[:, None]
        for i, block in enumerate(self.mix):
            bias = mask if related is None else mask + related * self.pair_bias[i][None, :, None, None]
            emb = block(emb, bias)
        return emb

    def both(self, obs: Any) -> tuple[th.Tensor, th.Tensor]:
        cand, exists, glob = self.featurize(obs)
        emb = nn.functional.relu(self.phi(cand))
        if len(self.mix):
            emb = self._attend(emb, exists, obs)
        ctx = self._context(emb, exists, glob)
        pair = th.cat([emb, ctx.unsqueeze(1).expand(-1, emb.shape[1], -1)], dim=-1)
        logits = self.psi(pair).squeeze(-1)
        if self.prior is not None:
            logits = logits + self.prior(obs)
        return logits, ctx


class EnsembleScorer(Scorer):
    """Several trained scorers played as one policy (`export.ship_ensemble`).

    The logits are the mean of the members' logits: the normalised geometric mean of the
    members' distributions (a logarithmic opinion pool), whose distribution over the legal
    actions is that of the mean of the members' log-probabilities under any mask (each member's
    normaliser is a constant per row), so greedy play takes the action the members rank best
    together. The value latent is the members' latents side by side; the policy's value head
    then averages the members' values (`ship_ensemble` sets its weights).
    """

    def __init__(self, members: list[Scorer]) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member scorer")
        self.members = nn.ModuleList(members)
        self.latent_dim_vf = sum(member.latent_dim_vf for member in members)

    def reset_head(self) -> None:
        for member in self.members:
            member.reset_head()

    def both(self, obs: Any) -> tuple[th.Tensor, th.Tensor]:
        parts = [member.both(obs) for member in self.members]
        logits = th.stack([logits for logits, _ in parts]).mean(dim=0)
        return logits, th.cat([latent for _, latent in parts], dim=-1)


def scorer_of(policy: Any) -> Scorer | None:
    """The `Scorer` of a structured policy (its ``mlp_extractor``), or None for any other SB3
    policy: what tells a size-agnostic per-candidate policy from a fixed-shape one."""
    extractor = getattr(policy, "mlp_extractor", None)
    return extractor if isinstance(extractor, Scorer) else None


def _build_structured(policy: Any, lr_schedule: Any) -> None:
    """Replace SB3's MLP extractor and action head by a game's `Scorer`."""
    builder = SCORERS[policy.scorer_name]
    policy.mlp_extractor = builder(
        policy.observation_space, policy.action_space, **policy.scorer_kwargs
    )
    policy.action_net = nn.Identity()
    policy.value_net = nn.Linear(policy.mlp_extractor.latent_dim_vf, 1)
    if policy.ortho_init:
        policy.mlp_extractor.apply(lambda m: policy.init_weights(m, gain=np.sqrt(2)))
        policy.value_net.apply(lambda m: policy.init_weights(m, gain=1.0))
    policy.mlp_extractor.reset_head()
    policy.optimizer = policy.optimizer_class(
        policy.parameters(), lr=lr_schedule(1), **policy.optimizer_kwargs
    )


class _StructuredMixin:
    """Shared by the masked and unmasked structured policies (``scorer`` names the game)."""

    def __init__(
        self, *args: Any, scorer: str, scorer_kwargs: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        if scorer not in SCORERS:
            raise ValueError(f"unknown scorer {scorer!r}; known: {', '.join(SCORERS)}")
        self.scorer_name = scorer
        self.scorer_kwargs = dict(scorer_kwargs or {})
        kwargs.setdefault("features_extractor_class", PassThrough)
        super().__init__(*args, **kwargs)

    def _build(self, lr_schedule: Any) -> None:
        _build_structured(self, lr_schedule)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(scorer=self.scorer_name, scorer_kwargs=self.scorer_kwargs)
        return data


class StructuredMaskablePolicy(_StructuredMixin, MaskableActorCriticPolicy):
    """`Scorer` policy for MaskablePPO."""


class StructuredPolicy(_StructuredMixin, ActorCriticPolicy):
    """`Scorer` policy for PPO and A2C (illegal actions left to the env's fallback)."""


# --- games ------------------------------------------------------------------------------------

SCORERS: dict[str, Callable[..., Scorer]] = {}
#: Scorers that are assembled from trained models, never trained (`ensemble`).
ASSEMBLED: frozenset[str] = frozenset({"ensemble"})


def scorer(name: str) -> Callable[[Callable[..., Scorer]], Callable[..., Scorer]]:
    def register(builder: Callable[..., Scorer]) -> Callable[..., Scorer]:
        SCORERS[name] = builder
        return builder

    return register


# --- choosing a policy for a config ------------------------------------------------------------


def resolve_policy(
    config: dict[str, Any], observation_space: gym.Space, action_space: gym.Space
) -> tuple[Any, dict[str, Any]]:
    """(policy class or SB3 name, policy_kwargs) for a resolved config.

    ``policy`` may be a scorer name (``binpacking``, ``jobshop``), an SB3 policy string
    (``MlpPolicy``, ``MultiInputPolicy``), or None for SB3's default for the observation.
    """
    name = config.get("policy")
    kwargs = dict(config.get("policy_kwargs") or {})
    algo = config["algo"]
    if name in ASSEMBLED:
        raise ValueError(
            f"policy {name!r} is assembled from trained models, not trained: train the members, "
            "then `discoverygym ship --run A --run B ... --name N`"
        )
    if name in SCORERS:
        if algo == "dqn":
            raise ValueError(
                f"policy {name!r} is an actor-critic policy; dqn takes MlpPolicy or MultiInputPolicy"
            )
        cls = StructuredMaskablePolicy if algo == "maskable_ppo" else StructuredPolicy
        scorer_kwargs = kwargs.pop("scorer_kwargs", {})
        return cls, {"scorer": name, "scorer_kwargs": scorer_kwargs, **kwargs}
    if name is None:
        name = "MultiInputPolicy" if isinstance(observation_space, gym.spaces.Dict) else "MlpPolicy"
    known = ["MlpPolicy", "MultiInputPolicy", *(s for s in SCORERS if s not in ASSEMBLED)]
    if name not in known:
        raise ValueError(f"unknown policy {name!r}; known: {', '.join(known)}")
    return name, kwargs


# --- job shop ---------------------------------------------------------------------------------
# Job rows (JobShopEnv.JOB_FEATURES): 0 next_duration, 1 next_machine, 2 remaining_work,
# 3 remaining_ops, 4 ready_time, 5 earliest_start, 6 machine_ready, 7 machine_remaining_work.
JOBSHOP_CANDIDATE_DIM = 8 + 5
JOBSHOP_GLOBAL_DIM = 2 * 4 + 1


def jobshop_features(obs: dict[str, th.Tensor]) -> Features:
    """Per-job rows plus features relative to the other legal jobs; machine pooling as globals.

    Relative features (earliest start minus the smallest earliest start among legal jobs, the
    job's remaining work over the largest, ...) do not depend on the instance size. The
    "next_machine" column (an index divided by M - 1) is dropped: it is not comparable
    across sizes and the job rows already carry that machine's ready time and remaining work.
    """
    jobs, machines = obs["jobs"].float(), obs["machines"].float()
    legal = obs["action_mask"].float() > 0.5
    exists = jobs.abs().sum(-1) > 0
    big = th.full_like(jobs[..., 5], 1e4)
    est = jobs[..., 5]
    min_est = th.where(legal, est, big).amin(dim=1, keepdim=True)
    min_est = th.where(legal.any(dim=1, keepdim=True), min_est, th.zeros_like(min_est))
    max_rem = (jobs[..., 2] * legal).amax(dim=1, keepdim=True).clamp_min(1e-6)
    max_dur = (jobs[..., 0] * legal).amax(dim=1, keepdim=True).clamp_min(1e-6)
    end = est + jobs[..., 0]
    min_end = th.where(legal, end, big).amin(dim=1, keepdim=True)
    min_end = th.where(legal.any(dim=1, keepdim=True), min_end, th.zeros_like(min_end))
    cand = th.cat(
        [
            jobs[..., [0, 2, 3, 4, 5, 6, 7]],
            legal.float().unsqueeze(-1),
            (est - min_est).unsqueeze(-1),
            (est - min_end).unsqueeze(-1),
            (jobs[..., 2] / max_rem).unsqueeze(-1),
            (jobs[..., 0] / max_dur).unsqueeze(-1),
            (est + jobs[..., 2]).unsqueeze(-1),
        ],
        dim=-1,
    )
    m_exists = (machines.abs().sum(-1, keepdim=True) > 0).float()
    m_count = m_exists.sum(1).clamp_min(1.0)
    glob = th.cat(
        [
            (machines * m_exists).sum(1) / m_count,
            machines.amax(dim=1),
            (
                legal.float().sum(1, keepdim=True)
                / exists.float().sum(1, keepdim=True).clamp_min(1.0)
            ),
        ],
        dim=-1,
    )
    return cand, exists, glob


def same_next_machine(obs: dict[str, th.Tensor]) -> th.Tensor:
    """[B, J, J]: 1 where jobs i and j are both unfinished and their next operations need the
    same machine (equal "next_machine" columns: the index is not comparable across instance
    sizes, but equality is)."""
    jobs = obs["jobs"].float()
    machine, open_ = jobs[..., 1], jobs[..., 3] > 0
    same = (machine[:, :, None] - machine[:, None, :]).abs() < 1e-6
    return (same & open_[:, :, None] & open_[:, None, :]).float()


def _non_delay(obs: dict[str, th.Tensor]) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
    """(job features, legal jobs, earliest): the jobs whose earliest start is the smallest among
    the legal ones (illegal jobs included; a non-delay rule ranks the legal ones among them)."""
    jobs = obs["jobs"].float()
    legal = obs["action_mask"].float() > 0.5
    est = jobs[..., 5]
    min_est = th.where(legal, est, th.full_like(est, 1e4)).amin(dim=1, keepdim=True)
    return jobs, legal, est <= min_est + 1e-6


def make_mwkr_prior(scale: float) -> Callable[[dict[str, th.Tensor]], th.Tensor]:
    """Logits of the non-delay MWKR rule: ``scale * remaining_work / max`` among the legal jobs
    with the smallest earliest start, ``-10 * scale`` lower for the others (its argmax is the
    rule's choice, lowest index on ties, as `agents.heuristics.jobshop`)."""

    def prior(obs: dict[str, th.Tensor]) -> th.Tensor:
        jobs, legal, earliest = _non_delay(obs)
        max_rem = (jobs[..., 2] * legal).amax(dim=1, keepdim=True).clamp_min(1e-6)
        return scale * (jobs[..., 2] / max_rem - 10.0 * (~earliest).float())

    return prior


def make_evolved_prior(scale: float, rule: str = "evolved") -> Callable[[dict[str, th.Tensor]], th.Tensor]:
    """Logits of an LLM-evolved non-delay rule (`jobshop_rollout.LINEAR_RULES[rule]`; by default
    ``evolved``, `evolved_jobshop_qwen05b_cont` as weights): among the legal jobs with the
    smallest earliest start, ``scale * (s - max s) / (max s - min s)`` in [-scale, 0] for the
    rule's score ``s``; ``-10 * scale`` for the others. Its argmax is the rule's choice."""
    from discoverygym.agents.heuristics.jobshop_rollout import rule_weights

    weights = th.as_tensor(rule_weights(rule), dtype=th.float32)

    def prior(obs: dict[str, th.Tensor]) -> th.Tensor:
        jobs, legal, earliest = _non_delay(obs)
        candidate = legal & earliest
        score = jobs @ weights
        top = th.where(candidate, score, th.full_like(score, -1e9)).amax(dim=1, keepdim=True)
        low = th.where(candidate, score, th.full_like(score, 1e9)).amin(dim=1, keepdim=True)
        spread = (top - low).clamp_min(1e-6)
        return scale * th.where(candidate, (score - top) / spread, th.full_like(score, -10.0))

    return prior


@scorer("jobshop")
def jobshop_scorer(
    observation_space: gym.Space,
    action_space: gym.Space,
    hidden: int = 64,
    mwkr_prior: float = 0.0,
    evolved_prior: float = 0.0,
    attention: int = 0,
    evolved_rule: str = "evolved",
) -> SetScorer:
    """Shared per-job scorer with pooled job and machine context (any number of jobs/machines).

    ``mwkr_prior`` > 0 adds the non-delay MWKR rule's logits (`make_mwkr_prior`): a residual
    policy that starts as the best dispatching rule; 0 learns from scratch. ``evolved_prior``
    does the same with the LLM-evolved rule (`make_evolved_prior`; ``evolved_rule`` names it in
    `jobshop_rollout.LINEAR_RULES`: ``evolved`` or ``evolved2``); both may be set (summed).
    ``attention`` > 0: that many self-attention layers among the jobs, with a learned bias for
    pairs of unfinished jobs whose next operations need the same machine (`same_next_machine`).
    """
    if not isinstance(observation_space, gym.spaces.Dict) or "jobs" not in observation_space.spaces:
        raise ValueError(
            f"the jobshop policy needs JobShopEnv's Dict observation, got {observation_space}"
        )
    prior = _sum_priors(
        make_mwkr_prior(mwkr_prior) if mwkr_prior > 0 else None,
        make_evolved_prior(evolved_prior, evolved_rule) if evolved_prior > 0 else None,
    )
    return SetScorer(
        jobshop_features, JOBSHOP_CANDIDATE_DIM, JOBSHOP_GLOBAL_DIM, hidden=hidden, prior=prior,
        attention=attention, pairs=same_next_machine,
    )


# --- bin packing ------------------------------------------------------------------------------
BINPACKING_CANDIDATE_DIM = 7
BINPACKING_GLOBAL_DIM = 4


def _binpacking_globals(
    item: th.Tensor, left: th.Tensor, open_bins: th.Tensor, free: th.Tensor
) -> th.Tensor:
    return th.cat(
        [item, th.log1p(left) / 10.0, th.log1p(open_bins) / 10.0, free / open_bins.clamp_min(1.0)],
        dim=-1,
    )


def binpacking_histogram_features(obs: dict[str, th.Tensor]) -> Features:
    """Candidates = remaining-capacity levels 0..C (level C = "open a new bin"), in action order.

    Per level r: r/C, (r - item)/C (the gap left after placing the item), item/C,
    log(1 + bins at r), log(1 + bins at r - item) (where the bin would land), "new bin" flag,
    "fits" flag. C is read from the histogram's length, so any capacity works.
    """
    hist = obs["histogram"].float()
    capacity = hist.shape[1] - 1
    item = obs["item"].float()  # [B, 1] grid units
    levels = th.arange(capacity + 1, device=hist.device, dtype=hist.dtype).unsqueeze(0)
    gap = levels - item
    fits = gap >= 0
    landing = th.gather(hist, 1, gap.clamp_min(0).long()) * fits
    is_new = th.zeros_like(hist)
    is_new[:, capacity] = 1.0
    cand = th.stack(
        [
            levels.expand_as(hist) / capacity,
            gap / capacity,
            (item / capacity).expand_as(hist),
            th.log1p(hist),
            th.log1p(landing),
            is_new,
            fits.float(),
        ],
        dim=-1,
    )
    exists = (hist > 0) | (is_new > 0)
    open_bins = hist.sum(1, keepdim=True)
    free = (hist * levels).sum(1, keepdim=True) / capacity
    return (
        cand,
        exists,
        _binpacking_globals(item / capacity, obs["items_left"].float(), open_bins, free),
    )


def make_binpacking_bins_features(capacity: float) -> Callable[[dict[str, th.Tensor]], Features]:
    """Candidates = the open bins in index order, then "open a new bin" (level C)."""

    def features(obs: dict[str, th.Tensor]) -> Features:
        bins, valid = obs["bins"].float(), obs["valid"].float() > 0.5
        item = obs["item"].float()
        batch = bins.shape[0]
        levels = th.cat(
            [bins, th.full((batch, 1), capacity, dtype=bins.dtype, device=bins.device)], dim=1
        )
        is_new = th.zeros_like(levels)
        is_new[:, -1] = 1.0
        exists = th.cat([valid, th.ones((batch, 1), dtype=th.bool, device=bins.device)], dim=1)
        gap = levels - item
        fits = (gap >= 0) & exists
        index = levels.round().long().clamp(0, int(capacity))
        counts = th.zeros((batch, int(capacity) + 1), dtype=bins.dtype, device=bins.device)
        counts.scatter_add_(1, index[:, :-1], valid.float())
        same = th.gather(counts, 1, index) * exists
        landing = (
            th.gather(counts, 1, gap.clamp_min(0).round().long().clamp(0, int(capacity))) * fits
        )
        cand = th.stack(
            [
                levels / capacity,
                gap / capacity,
                (item / capacity).expand_as(levels),
                th.log1p(same),
                th.log1p(landing),
                is_new,
                fits.float(),
            ],
            dim=-1,
        )
        open_bins = valid.float().sum(1, keepdim=True)
        free = (bins * valid).sum(1, keepdim=True) / capacity
        return (
            cand,
            exists,
            _binpacking_globals(item / capacity, obs["items_left"].float(), open_bins, free),
        )

    return features


def make_best_fit_prior(
    scale: float, capacity: float | None
) -> Callable[[dict[str, th.Tensor]], th.Tensor]:
    """Logits ``-scale * (level - item) / C``: alone, its argmax is best fit (lowest level on ties)."""

    def prior(obs: dict[str, th.Tensor]) -> th.Tensor:
        item = obs["item"].float()
        if "histogram" in obs:
            hist = obs["histogram"].float()
            cap = hist.shape[1] - 1
            levels = th.arange(cap + 1, device=hist.device, dtype=hist.dtype).unsqueeze(0)
        else:
            bins = obs["bins"].float()
            cap = float(capacity)
            levels = th.cat(
                [bins, th.full((bins.shape[0], 1), cap, dtype=bins.dtype, device=bins.device)],
                dim=1,
            )
        return -scale * (levels - item).clamp_min(0.0) / cap

    return prior


def sum_of_squares_logits(
    at_level: th.Tensor, landing: th.Tensor, gap: th.Tensor, is_new: th.Tensor, capacity: float
) -> th.Tensor:
    """Minus Sum-of-Squares' cost of each candidate, with its tie-break folded in.

    With N(g) the open bins with gap g (0 < g < C), putting the item into a bin at level r
    changes ``sum_g N(g)^2`` by ``1 - 2 N(r)`` (one bin leaves r; nothing for a new bin) plus
    ``2 N(r - item) + 1`` if the bin is not then full (it lands at gap r - item). Sum-of-Squares
    plays the smallest change, ties to the smallest gap, an existing bin before a new one
    (`discoverygym.agents.heuristics.binpacking.SumOfSquares`). The changes are integers, so
    adding ``0.5 * gap / C`` (below 0.5, and largest for the new bin) orders ties the same way.
    """
    leave = th.where(is_new > 0.5, th.zeros_like(at_level), 1.0 - 2.0 * at_level)
    land = th.where(gap > 0, 2.0 * landing + 1.0, th.zeros_like(landing))
    return -(leave + land + 0.5 * gap.clamp_min(0.0) / capacity)


def make_sum_of_squares_prior(scale: float) -> Callable[[dict[str, th.Tensor]], th.Tensor]:
    """Logits ``scale * sum_of_squares_logits``: alone, their argmax is Sum-of-Squares (on the
    histogram, or restricted to the candidates of the top-k view)."""

    def prior(obs: dict[str, th.Tensor]) -> th.Tensor:
        if "candidates" in obs:  # counts are stored as log(1 + N); gaps as gap / C
            cand = obs["candidates"].float()
            capacity = 1.0
            at_level, landing = th.expm1(cand[..., 2]).round(), th.expm1(cand[..., 3]).round()
            gap, is_new = cand[..., 1], cand[..., 4]
        else:
            hist = obs["histogram"].float()
            capacity = float(hist.shape[1] - 1)
            levels = th.arange(hist.shape[1], device=hist.device, dtype=hist.dtype).unsqueeze(0)
            gap = levels - obs["item"].float()
            at_level = hist
            landing = th.gather(hist, 1, gap.clamp(0, capacity).long())
            is_new = (levels == capacity).to(hist.dtype).expand_as(hist)
        return scale * sum_of_squares_logits(at_level, landing, gap, is_new, capacity)

    return prior


def _sum_priors(
    *priors: Callable[[dict[str, th.Tensor]], th.Tensor] | None,
) -> Callable[[dict[str, th.Tensor]], th.Tensor] | None:
    chosen = [p for p in priors if p is not None]
    if len(chosen) < 2:
        return chosen[0] if chosen else None
    return lambda obs: sum(p(obs) for p in chosen)


def binpacking_topk_features(obs: dict[str, th.Tensor]) -> Features:
    """The `BinPackingTopK` view already holds per-candidate features (gap at column 1)."""
    return obs["candidates"].float(), obs["valid"].float() > 0.5, obs["globals"].float()


def make_topk_prior(scale: float) -> Callable[[dict[str, th.Tensor]], th.Tensor]:
    """Best-fit prior on the top-k view: ``-scale * gap / C``."""
    return lambda obs: -scale * obs["candidates"][..., 1].float().clamp_min(0.0)


@scorer("binpacking")
def binpacking_scorer(
    observation_space: gym.Space,
    action_space: gym.Space,
    hidden: int = 64,
    best_fit_prior: float = 0.0,
    sum_of_squares_prior: float = 0.0,
) -> SetScorer:
    """Shared per-candidate scorer for either observation mode.

    ``best_fit_prior`` > 0 adds ``-best_fit_prior * gap / C`` to the logits (a residual policy:
    the network learns a correction to best fit; 0 means none, the policy learns from scratch).
    ``sum_of_squares_prior`` > 0 adds that many times `sum_of_squares_logits` instead (or as
    well): the network learns a correction to Sum-of-Squares, the best rule on the Weibull sets
    (histogram and top-k views; the bins view has no counts per level).
    """
    for key, value in (("best_fit_prior", best_fit_prior),
                       ("sum_of_squares_prior", sum_of_squares_prior)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"{key}={value!r}: expected a number >= 0 (0: no prior)")
    if not isinstance(observation_space, gym.spaces.Dict):
        raise ValueError(
            f"the binpacking policy needs OnlineBinPackingEnv's Dict observation, got {observation_space}"
        )
    spaces_ = observation_space.spaces
    # one Sum-of-Squares prior reads either view; best fit's prior differs between them
    sum_of_squares = (
        make_sum_of_squares_prior(sum_of_squares_prior) if sum_of_squares_prior > 0 else None
    )
    if "candidates" in spaces_:  # the BinPackingTopK view
        return SetScorer(
            binpacking_topk_features,
            spaces_["candidates"].shape[1],
            spaces_["globals"].shape[0],
            hidden=hidden,
            prior=_sum_priors(
                make_topk_prior(best_fit_prior) if best_fit_prior > 0 else None, sum_of_squares
            ),
        )
    if "histogram" in spaces_:
        features, capacity = binpacking_histogram_features, None
    elif "bins" in spaces_:
        capacity = float(spaces_["bins"].high.max())
        features = make_binpacking_bins_features(capacity)
    else:
        raise ValueError(f"unknown bin packing observation keys {sorted(spaces_)}")
    if sum_of_squares_prior > 0 and "histogram" not in spaces_:
        raise ValueError("sum_of_squares_prior needs the histogram observation or the "
                         "binpacking_topk view (the bins view has no counts per level)")
    prior = _sum_priors(
        make_best_fit_prior(best_fit_prior, capacity) if best_fit_prior > 0 else None,
        sum_of_squares,
    )
    return SetScorer(
        features, BINPACKING_CANDIDATE_DIM, BINPACKING_GLOBAL_DIM, hidden=hidden, prior=prior
    )


# --- ensembles -------------------------------------------------------------------------------


@scorer("ensemble")
def ensemble_scorer(
    observation_space: gym.Space, action_space: gym.Space, members: list[dict[str, Any]]
) -> EnsembleScorer:
    """`EnsembleScorer` of ``members``, each ``{"scorer": name, "scorer_kwargs": {...}}`` as a
    structured policy stores its own (what `export.ship_ensemble` writes into the model)."""
    if not isinstance(members, list) or not members:
        raise ValueError(f"ensemble members must be a non-empty list, got {members!r}")
    built = []
    for i, member in enumerate(members):
        name = member.get("scorer") if isinstance(member, dict) else None
        if name not in SCORERS:
            raise ValueError(
                f"ensemble member {i}: unknown scorer {name!r}; known: {', '.join(SCORERS)}"
            )
        kwargs = member.get("scorer_kwargs") or {}
        if not isinstance(kwargs, dict):
            raise ValueError(f"ensemble member {i}: scorer_kwargs must be a mapping, got {kwargs!r}")
        built.append(SCORERS[name](observation_space, action_space, **kwargs))
    return EnsembleScorer(built)
