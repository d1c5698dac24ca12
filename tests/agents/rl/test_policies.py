"""Structure-aware policies: any number of candidates, masking, equivariance, the rules as priors."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from discoverygym.agents.base import run_episode
from discoverygym.agents.heuristics.binpacking import make_agent
from discoverygym.agents.heuristics.jobshop import rule_agent
from discoverygym.agents.rl.config import resolve_config
from discoverygym.agents.rl.envs import make_vec_env
from discoverygym.agents.rl.evaluate import RLAgent, greedy_actions
from discoverygym.agents.rl.policies import SCORERS, EnsembleScorer, StructuredMaskablePolicy, resolve_policy
from discoverygym.agents.rl.train import build_model
from discoverygym.envs.binpacking import load_dataset
from hypothesis import given, settings
from hypothesis import strategies as st

BP = "discoverygym/OnlineBinPacking-v0"
JS = "discoverygym/JobShop-v0"


def _model(
    env_id: str,
    env_kwargs: dict,
    policy: str,
    scorer_kwargs: dict | None = None,
    algo: str = "maskable_ppo",
    wrapper: dict | None = None,
):
    config = resolve_config(
        {
            "env_id": env_id,
            "algo": algo,
            "env_kwargs": env_kwargs,
            "policy": policy,
            "wrapper": wrapper,
            "policy_kwargs": {"scorer_kwargs": scorer_kwargs or {}},
            "algo_kwargs": {"n_steps": 32, "batch_size": 32},
        }
    )
    env = make_vec_env(config)
    return build_model(config, env), config


def test_binpacking_policy_scores_any_capacity_and_respects_masks() -> None:
    model, _ = _model(BP, {"dataset": "weibull-100:seed=1,count=2"}, "binpacking")  # C = 100
    assert isinstance(model.policy, StructuredMaskablePolicy)
    for dataset in ("or1", "weibull-100:seed=2,count=1"):  # C = 150, then 100
        env = gym.make(BP, dataset=dataset)
        obs, info = env.reset(seed=0)
        for _ in range(40):
            logits = model.policy.mlp_extractor.forward_actor(
                {k: th.as_tensor(v)[None] for k, v in obs.items()}
            )
            assert logits.shape == (1, env.action_space.n)
            action = greedy_actions(model, [obs], info["action_mask"][None].astype(bool))[0]
            assert info["action_mask"][action] == 1
            obs, _, terminated, _, info = env.step(action)
            assert not info["illegal_action"]
            if terminated:
                break


def test_binpacking_bins_mode_runs_with_other_bin_counts() -> None:
    model, _ = _model(
        BP,
        {"dataset": "weibull-100:seed=1,count=2", "observation": "bins", "max_bins": 80},
        "binpacking",
    )
    for max_bins in (50, 120):
        env = gym.make(
            BP, dataset="weibull-100:seed=3,count=1", observation="bins", max_bins=max_bins
        )
        obs, info = env.reset(seed=0)
        action = greedy_actions(model, [obs], info["action_mask"][None].astype(bool))[0]
        assert action == max_bins  # the first item can only open a new bin


@pytest.mark.parametrize(
    ("prior", "rule", "wrapper"),
    [
        ("best_fit_prior", "best_fit", None),
        # the top-k view's first candidate is the tightest fit
        ("best_fit_prior", "best_fit", {"name": "binpacking_topk", "k": 3}),
        ("sum_of_squares_prior", "sum_of_squares", None),
        # a top-k view wide enough to hold every level
        ("sum_of_squares_prior", "sum_of_squares", {"name": "binpacking_topk", "k": 100}),
    ],
)
def test_a_rule_prior_alone_is_the_rule(prior: str, rule: str, wrapper: dict | None) -> None:
    """With the learned correction zeroed, the greedy policy packs exactly as the rule of its
    prior, ties included, on the full histogram and on the top-k view."""
    model, config = _model(
        BP, {"dataset": "weibull-100:seed=1,count=2"}, "binpacking", {prior: 1.0}, wrapper=wrapper
    )
    last = model.policy.mlp_extractor.psi[-1]
    th.nn.init.zeros_(last.weight)
    th.nn.init.zeros_(last.bias)
    agent = RLAgent(model, config)
    dataset = "weibull-300:seed=5,count=3"
    env = gym.make(BP, dataset=dataset)
    other = {"best_fit": "sum_of_squares", "sum_of_squares": "best_fit"}[rule]
    for name in load_dataset(dataset).names:
        learned = run_episode(env, agent, options={"instance": name}).final_info["assignment"]
        played = run_episode(env, make_agent(rule), options={"instance": name})
        np.testing.assert_array_equal(learned, played.final_info["assignment"])
        contrast = run_episode(env, make_agent(other), options={"instance": name})
        assert not np.array_equal(learned, contrast.final_info["assignment"])  # it can fail


@pytest.mark.parametrize("value", [-1.0, "high", True])
def test_binpacking_priors_refuse_bad_weights(value: object) -> None:
    with pytest.raises(ValueError, match="sum_of_squares_prior"):
        _model(BP, {"dataset": "weibull-100:seed=1,count=2"}, "binpacking",
               {"sum_of_squares_prior": value})


def test_sum_of_squares_prior_needs_counts_per_level() -> None:
    with pytest.raises(ValueError, match="histogram observation"):
        _model(BP, {"dataset": "weibull-100:seed=1,count=2", "observation": "bins",
                    "max_bins": 80}, "binpacking", {"sum_of_squares_prior": 1.0})


def test_mwkr_prior_alone_is_the_non_delay_mwkr_rule() -> None:
    """With the learned correction zeroed, the job shop policy dispatches as non-delay MWKR."""
    model, config = _model(JS, {"dataset": "random-8x5"}, "jobshop", {"mwkr_prior": 1.0})
    last = model.policy.mlp_extractor.psi[-1]
    th.nn.init.zeros_(last.weight)
    th.nn.init.zeros_(last.bias)
    agent = RLAgent(model, config)
    for instance in ("ft06", "la01", "random-12x6:seed=3"):
        env = gym.make(JS, instance=instance)
        learned = run_episode(env, agent).final_info["starts"]
        rule = run_episode(env, rule_agent("mwkr")).final_info["starts"]
        np.testing.assert_array_equal(learned, rule)


@pytest.mark.parametrize("rule", ["evolved", "evolved2"])
def test_evolved_prior_alone_is_the_evolved_rule(rule: str) -> None:
    """With the learned correction zeroed, the job shop policy dispatches as the evolved rule
    (`jobshop_rollout.linear_rule` with its weights, the shipped program's choices), up to the
    float32 near-ties of the observation's features."""
    from discoverygym.agents.heuristics.jobshop_rollout import linear_rule, rule_weights

    model, config = _model(JS, {"dataset": "random-8x5"}, "jobshop",
                           {"evolved_prior": 1.0, "evolved_rule": rule})
    last = model.policy.mlp_extractor.psi[-1]
    th.nn.init.zeros_(last.weight)
    th.nn.init.zeros_(last.bias)
    agent = RLAgent(model, config)
    weights = rule_weights(rule)
    for instance in ("ft06", "la01", "random-12x6:seed=3"):
        env = gym.make(JS, instance=instance)
        obs, info = env.reset(seed=0)
        done = False
        while not done:
            action = agent.act(obs, info)
            rule_job = int(linear_rule(obs["jobs"][None].astype(np.float64), weights)[0])
            scores = obs["jobs"].astype(np.float64) @ weights  # float32 near-ties may go either way
            assert obs["action_mask"][action] and abs(scores[action] - scores[rule_job]) <= 1e-6
            assert obs["jobs"][action, 5] == obs["jobs"][rule_job, 5]  # both start earliest
            obs, _, done, _, info = env.step(action)


@pytest.fixture(scope="module", params=[0, 1], ids=["deep_sets", "attention"])
def jobshop_model(request):
    model = _model(JS, {"dataset": "random-6x4"}, "jobshop", {"attention": request.param})[0]
    scorer = model.policy.mlp_extractor
    if scorer.pair_bias is not None:  # exercise the same-machine bias (it starts at zero)
        with th.no_grad():
            scorer.pair_bias.copy_(th.linspace(-2.0, 2.0, scorer.pair_bias.numel()).view_as(scorer.pair_bias))
    return model


def _mid_episode(seed: int, steps: int) -> tuple[dict, np.random.Generator]:
    env = gym.make(JS, dataset="random-6x4")
    obs, info = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        legal = np.flatnonzero(info["action_mask"])
        obs, _, terminated, _, info = env.step(int(rng.choice(legal)))
        if terminated:
            obs, info = env.reset(seed=seed + 1)
    return obs, rng


@settings(max_examples=15)
@given(seed=st.integers(0, 10_000), steps=st.integers(0, 60))
def test_jobshop_policy_is_permutation_equivariant(jobshop_model, seed: int, steps: int) -> None:
    """Permuting the jobs permutes the logits: the score of a job does not depend on its index."""
    model = jobshop_model
    obs, rng = _mid_episode(seed, steps)
    perm = rng.permutation(obs["jobs"].shape[0])
    permuted = {
        "jobs": obs["jobs"][perm],
        "machines": obs["machines"],
        "action_mask": obs["action_mask"][perm],
    }
    scorer = model.policy.mlp_extractor
    with th.no_grad():
        a = scorer.forward_actor({k: th.as_tensor(v)[None] for k, v in obs.items()})[0]
        b = scorer.forward_actor({k: th.as_tensor(v)[None] for k, v in permuted.items()})[0]
        va = scorer.forward_critic({k: th.as_tensor(v)[None] for k, v in obs.items()})
        vb = scorer.forward_critic({k: th.as_tensor(v)[None] for k, v in permuted.items()})
    np.testing.assert_allclose(a[perm].numpy(), b.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(va.numpy(), vb.numpy(), rtol=1e-5, atol=1e-5)


@settings(max_examples=10)
@given(seed=st.integers(0, 10_000), steps=st.integers(0, 60), pad=st.integers(1, 5))
def test_jobshop_policy_ignores_padding_jobs(jobshop_model, seed: int, steps: int, pad: int) -> None:
    """Padding rows (a smaller instance in a larger env) change neither the real jobs' logits
    nor the value: the pooling and the attention keys skip them."""
    obs, _ = _mid_episode(seed, steps)
    padded = {
        "jobs": np.concatenate([obs["jobs"], np.zeros((pad, obs["jobs"].shape[1]), obs["jobs"].dtype)]),
        "machines": obs["machines"],
        "action_mask": np.concatenate([obs["action_mask"], np.zeros(pad, obs["action_mask"].dtype)]),
    }
    scorer = jobshop_model.policy.mlp_extractor
    with th.no_grad():
        a, va = scorer.both({k: th.as_tensor(v)[None] for k, v in obs.items()})
        b, vb = scorer.both({k: th.as_tensor(v)[None] for k, v in padded.items()})
    jobs = obs["jobs"].shape[0]
    np.testing.assert_allclose(a[0].numpy(), b[0, :jobs].numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(va.numpy(), vb.numpy(), rtol=1e-5, atol=1e-5)


def test_jobshop_policy_is_the_same_in_training_and_inference_mode(jobshop_model) -> None:
    """SB3 collects rollouts in eval mode without gradients and trains in train mode: both must
    compute the same logits and values, or PPO's ratios compare two different policies."""
    from discoverygym.envs.jobshop.vector import JobShopVectorEnv

    env = JobShopVectorEnv(num_envs=8, dataset="random-6x4")
    obs, _ = env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(9):
        obs, *_ = env.step((rng.random(obs["action_mask"].shape) * obs["action_mask"]).argmax(1))
    batch = {k: th.as_tensor(v) for k, v in obs.items()}
    scorer = jobshop_model.policy.mlp_extractor
    scorer.train()
    logits, values = scorer.both(batch)
    scorer.eval()
    with th.no_grad():
        logits_eval, values_eval = scorer.both(batch)
    np.testing.assert_allclose(logits.detach().numpy(), logits_eval.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(values.detach().numpy(), values_eval.numpy(), rtol=1e-5, atol=1e-5)


@settings(max_examples=15)
@given(seed=st.integers(0, 10_000), steps=st.integers(0, 60))
def test_an_ensemble_plays_its_members_mean_log_probability(seed: int, steps: int) -> None:
    """The ensemble's distribution over the legal jobs is that of the mean of its members'
    log-probabilities (each normalised over the legal jobs only), so its greedy job is the one
    they rank best together; its value latent is theirs side by side."""
    th.manual_seed(seed)
    space = gym.make(JS, dataset="random-6x4").observation_space
    members = [SCORERS["jobshop"](space, None, evolved_prior=3.0), SCORERS["jobshop"](space, None, attention=1)]
    ensemble = SCORERS["ensemble"](space, None, members=[
        {"scorer": "jobshop", "scorer_kwargs": {"evolved_prior": 3.0}},
        {"scorer": "jobshop", "scorer_kwargs": {"attention": 1}},
    ])
    assert isinstance(ensemble, EnsembleScorer) and ensemble.latent_dim_vf == 2 * members[0].latent_dim_vf
    for slot, member in zip(ensemble.members, members):
        slot.load_state_dict(member.state_dict())
    obs, _ = _mid_episode(seed, steps)
    batch = {k: th.as_tensor(v)[None] for k, v in obs.items()}
    legal = th.as_tensor(obs["action_mask"]).bool()
    with th.no_grad():
        logits, latent = ensemble.both(batch)
        parts = [member.both(batch) for member in members]
    mean_logp = sum(th.log_softmax(part[0].masked_fill(~legal, -th.inf), dim=0) for part, _ in parts) / 2
    expected = th.softmax(mean_logp[legal], dim=0)
    got = th.softmax(logits[0][legal], dim=0)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)
    assert int(logits[0].masked_fill(~legal, -th.inf).argmax()) == int(mean_logp.argmax())
    np.testing.assert_allclose(latent.numpy(), th.cat([v for _, v in parts], dim=-1).numpy(), rtol=1e-6)


def test_ensemble_scorer_refuses_bad_members() -> None:
    space = gym.make(JS, dataset="random-6x4").observation_space
    with pytest.raises(ValueError, match="non-empty list"):
        SCORERS["ensemble"](space, None, members=[])
    with pytest.raises(ValueError, match="ensemble member 1: unknown scorer 'nope'"):
        SCORERS["ensemble"](space, None, members=[{"scorer": "jobshop"}, {"scorer": "nope"}])
    with pytest.raises(ValueError, match="ensemble member 0: scorer_kwargs must be a mapping"):
        SCORERS["ensemble"](space, None, members=[{"scorer": "jobshop", "scorer_kwargs": [1]}])


def test_attention_needs_heads_dividing_the_width() -> None:
    from discoverygym.agents.rl.policies import SetScorer, jobshop_features

    with pytest.raises(ValueError, match="hidden \\(30\\) a multiple of heads \\(4\\)"):
        SetScorer(jobshop_features, 13, 9, hidden=30, attention=1)
    for bad in ("abc", -1, 1.5):
        with pytest.raises(ValueError, match=f"attention must be a number of layers .*got {bad!r}"):
            SetScorer(jobshop_features, 13, 9, attention=bad)


def test_jobshop_policy_trained_size_plays_larger_instances(jobshop_model) -> None:
    """A policy built on 6x4 instances dispatches a 15x15 Taillard instance to the end, legally."""
    agent = RLAgent(jobshop_model, {"env_id": JS})
    env = gym.make(JS, instance="ta01")
    result = run_episode(env, agent, seed=0)
    assert result.steps == 15 * 15
    assert result.final_info["makespan"] >= result.final_info["lower_bound"]


def test_resolve_policy_names() -> None:
    space = gym.make(BP).observation_space
    action = gym.make(BP).action_space
    assert resolve_policy({"algo": "ppo", "policy": None}, space, action)[0] == "MultiInputPolicy"
    cls, kwargs = resolve_policy(
        {"algo": "ppo", "policy": "binpacking", "policy_kwargs": {}}, space, action
    )
    assert cls.__name__ == "StructuredPolicy" and kwargs["scorer"] == "binpacking"
    with pytest.raises(ValueError, match="known: MlpPolicy, MultiInputPolicy"):
        resolve_policy({"algo": "ppo", "policy": "binpackin"}, space, action)
    with pytest.raises(ValueError, match="dqn"):
        resolve_policy({"algo": "dqn", "policy": "binpacking"}, space, action)
    assert set(SCORERS) >= {"binpacking", "jobshop", "ensemble"}
    with pytest.raises(ValueError, match="'ensemble' is assembled from trained models, not trained"):
        resolve_policy({"algo": "maskable_ppo", "policy": "ensemble"}, space, action)
    with pytest.raises(ValueError, match="known: MlpPolicy, MultiInputPolicy, jobshop, binpacking") as error:
        resolve_policy({"algo": "ppo", "policy": "nope"}, space, action)
    assert "ensemble" not in str(error.value)
