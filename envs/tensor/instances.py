"""Targets for the tensor game: the matmul tensor, synthetic tensors from random factors, or a
user tensor; plus the coefficient set and the action encoding shared by env and agents."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from discoverygym.envs.tensor.tensors import Field, matmul_tensor

DEFAULT_COEFFICIENTS: tuple[int, ...] = (-2, -1, 0, 1, 2)
MOD2_COEFFICIENTS: tuple[int, ...] = (0, 1)


def check_coefficients(coefficients: Sequence[int] | None, field: Field) -> tuple[int, ...]:
    """The sorted coefficient tuple (default (-2..2), or (0, 1) for "mod2"); errors name the
    offending value."""
    if coefficients is None:
        return MOD2_COEFFICIENTS if field == "mod2" else DEFAULT_COEFFICIENTS
    values = []
    for value in coefficients:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(
                f"coefficient {value!r} is not an integer (coefficients={tuple(coefficients)!r})"
            )
        values.append(int(value))
    if len(values) < 2:
        raise ValueError(f"coefficients={tuple(values)!r} needs at least two values")
    if len(set(values)) != len(values):
        dup = next(v for v in values if values.count(v) > 1)
        raise ValueError(f"coefficient {dup} appears twice in coefficients={tuple(values)!r}")
    if field == "mod2" and len({v % 2 for v in values}) < 2:
        raise ValueError(
            f"coefficients={tuple(values)!r} are all {values[0] % 2} modulo 2; mod2 play needs 0 and 1"
        )
    return tuple(sorted(values))


def factor_sizes(n: int, m: int, p: int) -> tuple[int, int, int]:
    """Lengths of u, v, w: n*m, m*p, p*n."""
    return n * m, m * p, p * n


def encode_action(
    u: Sequence[int],
    v: Sequence[int],
    w: Sequence[int],
    coefficients: Sequence[int] = DEFAULT_COEFFICIENTS,
) -> np.ndarray:
    """The MultiDiscrete action for factors (u, v, w): indices into sorted(coefficients) of the
    concatenated entries. A value outside the set raises naming it and its position."""
    coefficients = tuple(sorted(coefficients))
    index = {c: k for k, c in enumerate(coefficients)}
    out = []
    for name, factor in (("u", u), ("v", v), ("w", w)):
        for pos, value in enumerate(np.asarray(factor).ravel().tolist()):
            if value not in index or (isinstance(value, float) and not float(value).is_integer()):
                raise ValueError(
                    f"{name}[{pos}] = {value!r} is not in the coefficient set {coefficients}"
                )
            out.append(index[value])
    return np.asarray(out, dtype=np.int64)


def decode_action(
    action: Sequence[int],
    n: int,
    m: int,
    p: int,
    coefficients: Sequence[int] = DEFAULT_COEFFICIENTS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(u, v, w) as int64 coefficient vectors from a MultiDiscrete action of <n,m,p>."""
    coefficients = np.asarray(sorted(coefficients), dtype=np.int64)
    a, b, c = factor_sizes(n, m, p)
    action = np.asarray(action)
    if action.shape != (a + b + c,):
        raise ValueError(
            f"action has shape {action.shape}; expected ({a + b + c},) for <{n},{m},{p}>"
        )
    if not np.issubdtype(action.dtype, np.integer):
        if not np.all(np.mod(action, 1) == 0):
            bad = int(np.flatnonzero(np.mod(action, 1) != 0)[0])
            raise ValueError(f"action[{bad}] = {action[bad]!r} is not an integer index")
        action = action.astype(np.int64)
    bad = np.flatnonzero((action < 0) | (action >= len(coefficients)))
    if len(bad):
        k = int(bad[0])
        raise ValueError(
            f"action[{k}] = {action[k]} is not an index into the {len(coefficients)} coefficients"
        )
    values = coefficients[action]
    return values[:a], values[a : a + b], values[a + b :]


def random_factors(
    rng: np.random.Generator,
    n: int,
    m: int,
    p: int,
    rank: int,
    coefficients: Sequence[int],
    field: Field,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`rank` random factor triples with entries drawn uniformly from `coefficients`, no factor
    zero (in `field`); AlphaTensor's synthetic demonstrations."""
    coeffs = np.asarray(coefficients, dtype=np.int64)
    out = []
    for size in factor_sizes(n, m, p):
        f = coeffs[rng.integers(len(coeffs), size=(size, rank))]
        while True:
            zero = ~np.any((f % 2 if field == "mod2" else f) != 0, axis=0)
            if not zero.any():
                break
            f[:, zero] = coeffs[rng.integers(len(coeffs), size=(size, int(zero.sum())))]
        out.append(f % 2 if field == "mod2" else f)
    return out[0], out[1], out[2]


def matmul_target(n: int, m: int, p: int) -> np.ndarray:
    """The default target: the matmul tensor <n,m,p> as int64."""
    return matmul_tensor(n, m, p)
