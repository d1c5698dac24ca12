"""The job-shop game's one definition (see `discoverygym.envs.game`)."""

from discoverygym.envs.game import Game
from discoverygym.envs.jobshop.instances import TAILLARD_SIZES

GAME = Game(
    name="jobshop",
    env_id="discoverygym/JobShop-v0",
    entry_point="discoverygym.envs.jobshop.env:JobShopEnv",
    vector_entry_point="discoverygym.envs.jobshop.vector:JobShopVectorEnv",
    description="Job-shop scheduling by dispatching (Taillard, Fisher & Thompson, Lawrence, ...).",
    metric="gap_pct",
    default_datasets=("ft06", "ft10", "la-10x10", "taillard-15x15"),
    full_datasets=("ft", "la", *TAILLARD_SIZES),
    resolve="discoverygym.envs.jobshop.instances:load_dataset",
    verify="discoverygym.envs.jobshop.checker:verified_gap_pct",
)
