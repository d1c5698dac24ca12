"""The tensor decomposition game's one definition (see `discoverygym.envs.game`)."""

from discoverygym.envs.game import Game
from discoverygym.envs.tensor.datasets import DEFAULT_DATASETS, FULL_DATASETS

GAME = Game(
    name="tensor",
    env_id="discoverygym/TensorDecomposition-v0",
    entry_point="discoverygym.envs.tensor.env:TensorDecompositionEnv",
    vector_entry_point="discoverygym.envs.tensor.vector:TensorDecompositionVectorEnv",
    description="AlphaTensor's TensorGame: decompose the matrix multiplication tensor.",
    metric="rank",
    default_datasets=tuple(DEFAULT_DATASETS),
    full_datasets=tuple(FULL_DATASETS),
    resolve="discoverygym.envs.tensor.datasets:parse_dataset",
    verify="discoverygym.envs.tensor.tensors:verify_matmul_decomposition",
)
