"""The bin packing game's one definition (see `discoverygym.envs.game`)."""

from discoverygym.envs.game import Game

GAME = Game(
    name="binpacking",
    env_id="discoverygym/OnlineBinPacking-v0",
    entry_point="discoverygym.envs.binpacking.env:OnlineBinPackingEnv",
    vector_entry_point="discoverygym.envs.binpacking.vector:OnlineBinPackingVectorEnv",
    description="Online 1-D bin packing as FunSearch plays it (OR-Library, Weibull sets).",
    metric="excess_pct",
    default_datasets=("or1", "or2", "or3", "or4", "weibull5k"),
    full_datasets=("or1", "or2", "or3", "or4", "weibull5k", "t60", "weibull-5k:seed=0",
                   "weibull-10k:seed=0", "weibull-100k:seed=0", "uniform-120:seed=0",
                   "uniform-250:seed=0"),
    resolve="discoverygym.envs.binpacking.instances:load_dataset",
    verify="discoverygym.envs.binpacking.checker:check_packing",
)
