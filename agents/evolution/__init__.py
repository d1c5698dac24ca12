"""LLM-evolved heuristics: a FunSearch-style search with an embedded LLM and a real sandbox.

Public entry points:
- `evaluate_program(source, game, split="validation")` -> `EvalResult(.ok, .score, .scores, .error,
  .sandbox)`: the candidate runs in an OS sandbox (`isolation`) and returns only its decisions,
  which this process verifies with the game's checker and scores (`scorers`).
- `run_evolution(game, llm, run_dir, samples=, minutes=, resume=)` -> `EvolutionResult`
- `load_agent(path)` / `load_function(path)`: an exported evolved program as an agent (a user's
  file is served from the sandbox; only shipped programs with their recorded SHA-256 run here).
- `proposals.SandboxedFlipGraphAgent`: an evolved tensor proposal rule, whose search runs in
  the sandbox with a budget of attempts; this process verifies and replays the scheme.
"""

from discoverygym.agents.evolution.database import DatabaseConfig, ProgramDatabase
from discoverygym.agents.evolution.export import load_agent, load_function
from discoverygym.agents.evolution.games import GAMES, GameSpec, get_game
from discoverygym.agents.evolution.llm import (
    LlamaCppBackend,
    LLMBackend,
    OpenAIBackend,
    SamplingConfig,
    ScriptedBackend,
    make_backend,
)
from discoverygym.agents.evolution.sandbox import EvalResult, SandboxLimits, evaluate_program
from discoverygym.agents.evolution.search import EvolutionConfig, EvolutionResult, run_evolution

__all__ = [
    "GAMES", "DatabaseConfig", "EvalResult", "EvolutionConfig", "EvolutionResult", "GameSpec",
    "LLMBackend", "LlamaCppBackend", "OpenAIBackend", "ProgramDatabase", "SamplingConfig",
    "SandboxLimits", "ScriptedBackend", "evaluate_program", "get_game", "load_agent",
    "load_function", "make_backend", "run_evolution",
]
