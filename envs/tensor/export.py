r'''Turn a verified decomposition into a runnable matrix multiplication function.

Example: Strassen's algorithm, rank 7 for <2,2,2>::

    >>> from discoverygym.envs.tensor.export import export_matmul
    >>> from discoverygym.envs.tensor.known import strassen
    >>> algo = export_matmul(2, 2, 2, *strassen(), name="strassen")
    >>> algo.rank, algo.source.count("*")
    (7, 7)
    >>> print(algo.source)  # doctest: +ELLIPSIS
    def strassen(A, B):
        """C = A @ B for A 2x2, B 2x2, with 7 multiplications."""
    ...
        m0 = (a0_0 + a1_1) * (b0_0 + b1_1)
        m1 = (a1_0 + a1_1) * (b0_0)
        m2 = (a0_0) * (b0_1 - b1_1)
        m3 = (a1_1) * (-b0_0 + b1_0)
        m4 = (a0_0 + a0_1) * (b1_1)
        m5 = (-a0_0 + a1_0) * (b0_0 + b0_1)
        m6 = (a0_1 - a1_1) * (b1_0 + b1_1)
        c0_0 = m0 + m3 - m4 + m6
        c0_1 = m2 + m4
        c1_0 = m1 + m3
        c1_1 = m0 - m1 + m2 + m5
        return [[c0_0, c0_1], [c1_0, c1_1]]
    <BLANKLINE>
    >>> algo.function([[1, 2], [3, 4]], [[5, 6], [7, 8]])
    [[19, 22], [43, 50]]

Any scheme works the same way, e.g. ``export_matmul(3, 3, 3, *known_decomposition(3, 3, 3))``.

Entry r of the scheme computes m_r = (sum_a U[a,r] A_a) * (sum_b V[b,r] B_b) and
C[i][k] = sum_r W[k*n+i, r] m_r. Integer coefficients are written as repeated additions and
subtractions, so the source has exactly `rank` multiplications (`*`); other coefficients
(0.5, complex) appear as constant scalings `(c) * x`, which are not counted in `rank`.
The code uses only `+`, `-`, `*` and indexing, so entries may be numbers or square blocks
(`*` must then be the block product, e.g. numpy matrices wrapped accordingly).
'''

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from discoverygym.envs.tensor.tensors import Field, verify_matmul_decomposition


@dataclass(frozen=True)
class ExportedMatmul:
    """A generated function `function(A, B) -> C` (nested lists), its source and its rank."""

    n: int
    m: int
    p: int
    rank: int
    field: str
    source: str
    function: Callable


def _coef(value: complex | float | int) -> complex | float | int:
    value = complex(value)
    if value.imag == 0:
        real = value.real
        return int(real) if float(real).is_integer() else real
    return value


def _linear(coefs: np.ndarray, names: list[str]) -> str:
    parts: list[str] = []
    for c, name in zip(coefs.tolist(), names):
        c = _coef(c)
        if c == 0:
            continue
        if isinstance(c, int):
            sign = "+" if c > 0 else "-"
            parts += [f" {sign} {name}"] * abs(c)
        else:
            parts.append(f" + ({c!r}) * {name}")
    if not parts:
        return "0"
    text = "".join(parts).strip()
    return text[2:] if text.startswith("+ ") else "-" + text[2:] if text.startswith("- ") else text


def matmul_source(
    u: np.ndarray, v: np.ndarray, w: np.ndarray, n: int, m: int, p: int, name: str
) -> str:
    """Python source of `name(A, B)` computing the n x p product from the scheme (U, V, W)."""
    rank = u.shape[1]
    a_names = [f"a{i}_{j}" for i in range(n) for j in range(m)]
    b_names = [f"b{j}_{k}" for j in range(m) for k in range(p)]
    lines = [
        f"def {name}(A, B):",
        f'    """C = A @ B for A {n}x{m}, B {m}x{p}, with {rank} multiplications."""',
    ]
    lines += [f"    a{i}_{j} = A[{i}][{j}]" for i in range(n) for j in range(m)]
    lines += [f"    b{j}_{k} = B[{j}][{k}]" for j in range(m) for k in range(p)]
    for r in range(rank):
        lines.append(f"    m{r} = ({_linear(u[:, r], a_names)}) * ({_linear(v[:, r], b_names)})")
    m_names = [f"m{r}" for r in range(rank)]
    for i in range(n):
        for k in range(p):
            lines.append(f"    c{i}_{k} = {_linear(w[k * n + i], m_names)}")
    rows = ", ".join("[" + ", ".join(f"c{i}_{k}" for k in range(p)) + "]" for i in range(n))
    lines.append(f"    return [{rows}]")
    return "\n".join(lines) + "\n"


def export_matmul(
    n: int,
    m: int,
    p: int,
    u: np.ndarray,
    v: np.ndarray,
    w: np.ndarray,
    field: Field = "standard",
    name: str | None = None,
    check_trials: int = 5,
    seed: int = 0,
) -> ExportedMatmul:
    """Verify (U, V, W) against <n,m,p> (raises `DecompositionError` naming the first wrong
    entry), generate the function, and check it against `A @ B` on `check_trials` random
    integer matrix pairs (modulo 2 for "mod2")."""
    rank = verify_matmul_decomposition(n, m, p, u, v, w, field)
    name = name or f"matmul_{n}x{m}x{p}_rank{rank}"
    source = matmul_source(np.asarray(u), np.asarray(v), np.asarray(w), n, m, p, name)
    namespace: dict = {}
    exec(compile(source, f"<{name}>", "exec"), namespace)  # our own generated code
    algo = ExportedMatmul(n, m, p, rank, field, source, namespace[name])
    check_export(algo, trials=check_trials, seed=seed)
    return algo


def check_export(algo: ExportedMatmul, trials: int = 5, seed: int = 0) -> None:
    """Compare `algo.function(A, B)` with `A @ B` on random integer matrices in [-9, 9]
    (exactly, or modulo 2); raise AssertionError naming the first wrong entry of C."""
    rng = np.random.default_rng(seed)
    for _ in range(trials):
        a = rng.integers(-9, 10, size=(algo.n, algo.m))
        b = rng.integers(-9, 10, size=(algo.m, algo.p))
        got = np.array(algo.function(a.tolist(), b.tolist()))
        want = a @ b
        wrong = (got - want) % 2 != 0 if algo.field == "mod2" else got != want
        if np.any(wrong):
            i, k = (int(x) for x in np.argwhere(wrong)[0])
            raise AssertionError(
                f"{algo.n}x{algo.m}x{algo.p} export: C[{i}][{k}] = {got[i, k]} but A @ B has {want[i, k]}"
            )
