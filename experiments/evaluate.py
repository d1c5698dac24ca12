"""`evaluate(agent, game, dataset) -> records`: the one scoring path of every agent family.

`compare` and `discoverygym evaluate` both call it. An agent is a hand-written heuristic's
name, the limit, a shipped agent's name (``ppo_jobshop``, ``ppo_jobshop@128`` for the best of
128 sampled rollouts, ``evolved:<stem>``), a model zip (RL) or an evolved program's ``.py``
(which runs in the sandbox unless it is shipped with a matching SHA-256). Every family is
played by the game's suite, and every solution it produces (a packing, a schedule, a scheme, a
cap set) is verified by the game's independent checker before it becomes a `Record`.
"""

from __future__ import annotations

from pathlib import Path

from discoverygym.agents.records import Record
from discoverygym.experiments.suites import Suite

__all__ = ["evaluate", "check_program"]


def evaluate(agent: str, game: str | None, dataset: str, *, samples: int = 0,
             suite: Suite | None = None) -> list[Record]:
    """Records of `agent` on `dataset` of `game` (`game` may be None for a model zip, which
    knows its game); `samples=K` adds the best of K sampled rollouts of a model zip; `suite`:
    the game's suite when the caller holds it already (default: `get_suite(game)`).

    KeyError / ValueError / FileNotFoundError name the bad value and what was expected.
    """
    from discoverygym.experiments.suites import GAMES, get_suite

    if samples < 0:
        raise ValueError(f"--samples must be a positive number of rollouts, got {samples}")
    if suite is not None:
        game = suite.game
    elif game is not None and game not in GAMES:
        raise KeyError(f"unknown game {game!r} (--game); known games: {', '.join(GAMES)}")
    if agent.endswith(".zip"):
        from discoverygym.agents.rl.evaluate import evaluate_model, model_game

        trained = model_game(agent)
        if game is not None and game != trained:
            raise ValueError(f"{agent} was trained on {trained}, not --game {game}; "
                             f"drop --game or pass a {game} model")
        records = evaluate_model(agent, dataset)
        if samples:
            records += evaluate_model(agent, dataset, samples=samples)
        return records
    if samples:
        raise ValueError(f"--samples needs a model zip as --agent, not {agent!r}")
    if not game:
        raise KeyError("--game is required unless --agent is a model zip")
    if agent.endswith(".py"):
        check_program(Path(agent))
    return (suite or get_suite(game)).evaluate(agent, dataset)


def check_program(path: Path) -> None:
    """Raise ValueError naming `path` and the line when the program is missing or does not parse."""
    if not path.is_file():
        raise FileNotFoundError(f"no program at {path} (--agent)")
    try:
        compile(path.read_text(), str(path), "exec")
    except SyntaxError as error:
        where = f" at line {error.lineno}" if error.lineno else ""
        raise ValueError(
            f"{path} is not a valid Python program: {error.msg}{where} "
            "(--agent expects an evolved program's .py)"
        ) from None
    except (UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"{path} is not a Python source file: {error}") from None
