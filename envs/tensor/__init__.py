"""AlphaTensor's TensorGame: decompose the matrix multiplication tensor into rank-one terms.

Modules: `tensors` (the tensor, exact reconstruction checks, rank bounds), `known` (shipped
decompositions, best-known ranks), `export` (decomposition -> runnable matmul function),
`instances` (targets, coefficient sets, action encoding), `env` (the Gymnasium env), `render`.
"""

from discoverygym.envs.tensor.instances import DEFAULT_COEFFICIENTS, decode_action, encode_action
from discoverygym.envs.tensor.known import best_known_rank, known_decomposition
from discoverygym.envs.tensor.tensors import (
    DecompositionError,
    matmul_tensor,
    rank_upper_bound,
    verify_decomposition,
    verify_matmul_decomposition,
)

__all__ = [
    "DEFAULT_COEFFICIENTS",
    "DecompositionError",
    "best_known_rank",
    "decode_action",
    "encode_action",
    "known_decomposition",
    "matmul_tensor",
    "rank_upper_bound",
    "verify_decomposition",
    "verify_matmul_decomposition",
]
