"""Hand-written heuristics, one module per game (``discoverygym.agents.heuristics.<game>``).

This file only re-exports: each game appends its own import block below. Names that several
games define (such as ``PriorityAgent`` or ``make_agent``) are re-exported with the game as
prefix so the blocks never clash; import the game module for its unprefixed names.
"""

# bin packing
from discoverygym.agents.heuristics.binpacking import (  # noqa: F401
    BINPACKING_AGENTS,
    BestFit,
    FirstFit,
    HarmonicK,
    NextFit,
    SumOfSquares,
    WorstFit,
    best_fit_priority,
    first_fit_priority,
    worst_fit_priority,
)
from discoverygym.agents.heuristics.binpacking import PriorityAgent as BinPackingPriorityAgent  # noqa: F401
from discoverygym.agents.heuristics.binpacking import make_agent as make_binpacking_agent  # noqa: F401

# job shop
from discoverygym.agents.heuristics.jobshop import CpSatAgent, RandomJobAgent, non_delay, rule_schedule  # noqa: F401
from discoverygym.agents.heuristics.jobshop import RULES as JOBSHOP_RULES  # noqa: F401
from discoverygym.agents.heuristics.jobshop import PriorityAgent as JobShopPriorityAgent  # noqa: F401
from discoverygym.agents.heuristics.jobshop import rule_agent as make_jobshop_agent  # noqa: F401

# tensor decomposition
from discoverygym.agents.heuristics.tensor import (  # noqa: F401
    FlipGraphAgent,
    KnownSchemeAgent,
    NaiveTensorAgent,
    RandomTensorAgent,
)
from discoverygym.agents.heuristics.tensor_search import flip_graph_search, uniform_flip  # noqa: F401

# cap set
from discoverygym.agents.heuristics.capset import CAPSET_AGENTS, KnownCapSetAgent, RandomGreedy  # noqa: F401
from discoverygym.agents.heuristics.capset import PriorityAgent as CapSetPriorityAgent  # noqa: F401
from discoverygym.agents.heuristics.capset import make_agent as make_capset_agent  # noqa: F401
