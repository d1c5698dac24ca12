"""RL agents: stable-baselines3 / sb3-contrib training, structure-aware policies, W&B tracking.

Modules (import them directly; this package imports nothing heavy):

- `config`: training configs (YAML or dict; shipped ones in ``experiments/configs``).
- `train`: ``train(env_id, algo, config, total_steps, seed, run_dir, n_envs, vec_env, wandb)``
  -> the model zip, with ``model.config.yaml`` and ``model.meta.json`` (versions, compute) beside it.
- `tracking`: W&B runs (offline unless logged in), the SB3 logger output that forwards to
  ``run.log``, the model artifact.
- `imitation`: behaviour cloning on demonstrations before RL (config key ``pretrain``;
  tensor game: canonical-order synthetic and naive demonstrations, AlphaTensor's recipe).
- `callbacks`: greedy validation during training, logged and keeping the best model.
- `policies`: per-candidate scorers (bin packing, job shop) as SB3 policies, and
  `EnsembleScorer` (several trained scorers as one policy: the mean of their logits).
- `export`: ``ship_model`` (a run's checkpoint into ``experiments/models`` with its notes) and
  ``ship_ensemble`` (several runs of one recipe as one model).
- `curve`: a model's validation curve (an ensemble's: its members' curves).
- `envs`: env construction, reward shaping and view wrappers, curricula, and their batched
  forms (``vec_env: native``: the game's batched env with the wrapper as its arguments).
- `self_labeling`: training on the best of K sampled solutions (config key ``self_labeling``).
- `games`: per-game datasets and metrics (the suites' metrics) for evaluation.
- `evaluate`: `RLAgent` (the `Agent` protocol), `evaluate_model(zip, dataset, samples=0) ->
  list[Record]` (greedy, or the best of K sampled rollouts per instance as ``<name>@K``),
  `play_best_of`, `sampled_summary(zip, dataset, repeats)` (the sampled policy's metrics),
  `shipped_models(game)`.
- `throughput`: env steps per second during training, for 1 and N envs.

The ``discoverygym train``, ``evaluate`` and ``ship`` commands are in
`discoverygym.experiments.rl_commands` (agents never import experiments).
"""
