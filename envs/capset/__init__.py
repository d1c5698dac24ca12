"""FunSearch's cap set problem: build a large set of vectors in F_3^n with no three on a line.

Modules: `geometry` (the 3^n vectors in FunSearch's order, third points of lines), `checker`
(the independent check), `bounds` (largest known sizes), `score` (the game's metric,
verified), `datasets` (the names n1..n9), `known` (FunSearch's 512-vector set in F_3^8),
`construction` (FunSearch's greedy construction with a priority function), `env` (the
Gymnasium env ``discoverygym/CapSet-v0``), `vector` (its batched version), `render`.

>>> from discoverygym.envs.capset import greedy_cap_set, score_cap_set
>>> score_cap_set(8, greedy_cap_set(8)).size
256
"""

from discoverygym.envs.capset.bounds import BOUNDS, CapSetBound, best_known, bound, gap_pct
from discoverygym.envs.capset.checker import CapSetError, find_line, verify
from discoverygym.envs.capset.construction import (
    PriorityError,
    constant_priority,
    greedy_cap_set,
    greedy_from_priorities,
    priorities_of,
)
from discoverygym.envs.capset.env import CapSetEnv
from discoverygym.envs.capset.geometry import MAX_N, MIN_N, all_vectors, index_of
from discoverygym.envs.capset.known import VectorFormatError, known_cap_set, parse_vectors
from discoverygym.envs.capset.score import METRIC, CapSetScore, score_cap_set

__all__ = [
    "BOUNDS",
    "MAX_N",
    "METRIC",
    "MIN_N",
    "CapSetBound",
    "CapSetEnv",
    "CapSetError",
    "CapSetScore",
    "PriorityError",
    "VectorFormatError",
    "all_vectors",
    "best_known",
    "bound",
    "constant_priority",
    "find_line",
    "gap_pct",
    "greedy_cap_set",
    "greedy_from_priorities",
    "index_of",
    "known_cap_set",
    "parse_vectors",
    "priorities_of",
    "score_cap_set",
    "verify",
]
