"""The games. Importing this package registers every environment id with Gymnasium.

Gymnasium 1.x has no plugin auto-loading, so ids are registered here, on import. The module
prefix form works with no prior import::

    import gymnasium as gym
    env = gym.make("discoverygym.envs:discoverygym/OnlineBinPacking-v0")

Each game also has a native batched implementation (numpy over the batch), registered as the
vector entry point::

    envs = gym.make_vec("discoverygym/JobShop-v0", num_envs=512, vectorization_mode="vector_entry_point")
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym

__all__ = ["ENV_SPECS", "EnvSpecSummary", "register_envs"]


@dataclass(frozen=True)
class EnvSpecSummary:
    """What `discoverygym envs` prints for one registered id."""

    id: str
    entry_point: str
    description: str
    vector_entry_point: str | None = None


ENV_SPECS: tuple[EnvSpecSummary, ...] = (
    EnvSpecSummary(
        id="discoverygym/OnlineBinPacking-v0",
        entry_point="discoverygym.envs.binpacking.env:OnlineBinPackingEnv",
        vector_entry_point="discoverygym.envs.binpacking.vector:OnlineBinPackingVectorEnv",
        description="Online 1-D bin packing as FunSearch plays it (OR-Library, Weibull sets).",
    ),
    EnvSpecSummary(
        id="discoverygym/JobShop-v0",
        entry_point="discoverygym.envs.jobshop.env:JobShopEnv",
        vector_entry_point="discoverygym.envs.jobshop.vector:JobShopVectorEnv",
        description="Job-shop scheduling by dispatching (Taillard, Fisher & Thompson, Lawrence, ...).",
    ),
    EnvSpecSummary(
        id="discoverygym/TensorDecomposition-v0",
        entry_point="discoverygym.envs.tensor.env:TensorDecompositionEnv",
        vector_entry_point="discoverygym.envs.tensor.vector:TensorDecompositionVectorEnv",
        description="AlphaTensor's TensorGame: decompose the matrix multiplication tensor.",
    ),
    EnvSpecSummary(
        id="discoverygym/CapSet-v0",
        entry_point="discoverygym.envs.capset.env:CapSetEnv",
        vector_entry_point="discoverygym.envs.capset.vector:CapSetVectorEnv",
        description="FunSearch's cap set: add vectors of F_3^n with no three on a line.",
    ),
)


def register_envs() -> None:
    """Register every id in `ENV_SPECS` (idempotent)."""
    for spec in ENV_SPECS:
        if spec.id in gym.registry:
            continue
        gym.register(
            id=spec.id,
            entry_point=spec.entry_point,
            vector_entry_point=spec.vector_entry_point,
        )


register_envs()
