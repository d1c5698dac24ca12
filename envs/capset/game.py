"""The cap set game's one definition (see `discoverygym.envs.game`)."""

from discoverygym.envs.capset.datasets import DEFAULT_DATASETS, FULL_DATASETS
from discoverygym.envs.game import Game

GAME = Game(
    name="capset",
    env_id="discoverygym/CapSet-v0",
    entry_point="discoverygym.envs.capset.env:CapSetEnv",
    vector_entry_point="discoverygym.envs.capset.vector:CapSetVectorEnv",
    description="FunSearch's cap set: vectors of F_3^n with no three on a line (n = 1..9).",
    metric="size",
    default_datasets=DEFAULT_DATASETS,
    full_datasets=FULL_DATASETS,
    resolve="discoverygym.envs.capset.datasets:parse_dataset",
    verify="discoverygym.envs.capset.score:score_cap_set",
)
