"""Evolution of Heuristics (EoH; Liu et al., ICML 2024) as a chat-mode search method.

Follows the reference implementations (FeiLiu36/EoH, LLM4AD's `method/eoh`), on this project's
sandbox, sample log, checkpoints and reporting (it subclasses `search.Evolution`, so a run of
either method writes the same `samples.jsonl` records and exports its best program the same way):

- every individual is a program, its score and its *idea* (one sentence, the "thought");
- each LLM call gets the task in words, one or two parents (code, score, idea) and one operator,
  and answers an idea in braces plus the code:
  `i1` writes a first algorithm from the task alone; `e1` explores an idea different from the
  parents'; `e2` finds the parents' common backbone and builds a new idea on it; `m1` changes
  one parent's logic; `m2` changes its parameters; `m3` simplifies it against overfitting;
- initialisation: the seed (with the game's one-sentence idea), as in EoH's seeded runs and
  FunSearch's start; optionally `i1` samples too, until the population holds
  `population_size` programs or `init_samples` were drawn (EoH without a seed: 2N);
- then the operators in turn; parents by rank (probability of rank r, from 0, proportional to
  1 / (r + N)); offspring wait in the next generation, and when `population_size` of them
  arrived the union is cut to the `population_size` best (survival);
- an offspring with the same score signature as a member or a waiting offspring is a
  behavioural duplicate and is not kept (EoH dedupes by objective value);
- before evaluation, `replies.parse_reply` takes the idea and the code out of the reply and
  `contract.check_contract` checks and repairs the function; failures are counted by kind;
- a reply with no code (small models often stop after the idea) gets `follow_ups` more turns
  of the same conversation asking for the code (EoH itself re-asks the whole prompt).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from discoverygym.agents.evolution import code
from discoverygym.agents.evolution.contract import ContractError, check_contract
from discoverygym.agents.evolution.database import Program
from discoverygym.agents.evolution.executor import Executor
from discoverygym.agents.evolution.games import GameSpec
from discoverygym.agents.evolution.llm import LLMBackend
from discoverygym.agents.evolution.replies import ReplyError, parse_reply
from discoverygym.agents.evolution.samplelog import read_log
from discoverygym.agents.evolution.search import Evolution, EvolutionConfig, Stats


@dataclass(frozen=True)
class Operator:
    """An EoH operator: how many parents it shows and what it asks for."""

    name: str
    parents: int
    instruction: str


OPERATORS: dict[str, Operator] = {op.name: op for op in (
    Operator("i1", 0, "Please design a new algorithm for this task."),
    Operator("e1", 2, "Please create a new algorithm whose form is completely different from "
                      "the algorithms above."),
    Operator("e2", 2, "Please create a new algorithm that is different from the algorithms "
                      "above but motivated by them: first find the idea they share, then build "
                      "a new algorithm on that idea."),
    Operator("m1", 1, "Please create a new algorithm that is a modified version of the "
                      "algorithm above, with a different form."),
    Operator("m2", 1, "Please find the main parameters of the algorithm above and create a new "
                      "algorithm with different parameter settings."),
    Operator("m3", 1, "Please find the main components of the algorithm above, decide which "
                      "of them may be overfit to the training instances, and simplify them so "
                      "that the algorithm generalises better."),
)}

FOLLOW_UP = ("Now implement your algorithm as the complete Python function `{signature}` in "
             "one ```python code block.")
SYSTEM = ("You design heuristics and write correct, vectorised Python with numpy (available as "
          "np). Answer with one sentence describing your algorithm inside braces {like this}, "
          "then the complete function in one ```python code block, and nothing else.")


@dataclass(frozen=True)
class EoHConfig:
    """EoH's knobs: population size N, the operators in turn, parents per crossover."""

    population_size: int = 10
    operators: tuple[str, ...] = ("e1", "e2", "m1", "m2")
    # i1 samples at the start: 0 starts from the game's seed (EoH's seeded runs; the same start
    # as FunSearch's), None draws up to 2 * population_size (EoH's unseeded initialisation).
    init_samples: int | None = 0
    # A reply with an idea but no code gets this many follow-up calls asking for the code (the
    # conversation continues, so the prompt is not evaluated again). EoH re-asks up to 3 times.
    follow_ups: int = 1

    def __post_init__(self) -> None:
        if self.population_size < 2:
            raise ValueError(f"EoH needs population_size >= 2, got {self.population_size}")
        unknown = [op for op in self.operators if op not in OPERATORS or op == "i1"]
        if unknown or not self.operators:
            raise ValueError(f"unknown EoH operators {unknown or '(none given)'}; known: "
                             f"{', '.join(op for op in OPERATORS if op != 'i1')}")


@dataclass
class Request:
    """One EoH prompt: the operator, its parents and the chat messages."""

    operator: str
    parents: list[Program]
    messages: list[dict[str, str]]


def template(seed: str, name: str) -> str:
    """The function to write: the seed's signature and the first line of its docstring (a small
    model copies whatever docstring it is shown into every reply; the task says the rest)."""
    doc = (code.docstring(seed) or "").strip().split("\n")[0]
    return code.header(seed, name, doc).rstrip() + "\n"


def describe_parent(index: int, program: Program, idea: str | None, metric: str) -> str:
    try:
        source = code.normalise(program.source, code.function_node(program.source).name)
    except code.ProgramError:  # CPython 3.11 may fail to re-parse a stored long expression
        source = program.source.strip()
    return (f"No. {index} algorithm (score {program.score:.4f}; {metric}; higher is better):\n"
            f"Idea: {idea or '(not stated)'}\n```python\n{source}\n```\n")


def build_messages(task: str, function_template: str, operator: Operator,
                   parents: list[tuple[Program, str | None]], metric: str) -> list[dict[str, str]]:
    """The chat messages of one EoH call (system + user), as in EoH's prompts."""
    parts = [task.strip(), ""]
    if parents:
        count = "one existing algorithm" if len(parents) == 1 else f"{len(parents)} existing algorithms"
        parts.append(f"I have {count} with its code as follows:" if len(parents) == 1
                     else f"I have {count} with their codes as follows:")
        parts += [describe_parent(i + 1, p, idea, metric) for i, (p, idea) in enumerate(parents)]
    parts.append(operator.instruction)
    parts.append("1. First, describe your new algorithm and its main steps in one sentence, "
                 "inside braces {}.\n2. Next, implement it as this Python function (same name "
                 f"and arguments):\n```python\n{function_template}```\n"
                 "Reply in exactly this format:\n{One sentence describing the algorithm.}\n"
                 f"```python\n{function_template.splitlines()[0]}\n    ...\n```\n"
                 "Do not give additional explanations.")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n".join(parts)}]


class Population:
    """EoH's population with FunSearch's database interface (`register`, `is_duplicate`,
    `mark_seen`, `best_program`, `maybe_reset`, `to_dict`), so the search loop drives either."""

    kind = "eoh"

    def __init__(self, config: EoHConfig, function_name: str, seed: int = 0):
        self.config = config
        self.function_name = function_name
        self.rng = np.random.default_rng(seed)
        self.members: list[Program] = []
        self.offspring: list[Program] = []
        self.generation = 0
        self.seen: set[str] = set()
        self.ideas: dict[str, str] = {}  # source hash -> idea
        self.init_drawn = 0
        self.cursor = 0  # next operator in config.operators

    # --- FunSearch's database interface ---------------------------------------------------
    def is_duplicate(self, source: str) -> bool:
        return code.source_hash(source, self.function_name) in self.seen

    def mark_seen(self, source: str) -> None:
        self.seen.add(code.source_hash(source, self.function_name))

    def register(self, program: Program, island: int | None = None) -> bool:
        """Add an evaluated program to the next generation; False for a behavioural duplicate."""
        self.mark_seen(program.source)
        signature = program.signature()
        if any(p.signature() == signature for p in self.members + self.offspring):
            return False
        self.offspring.append(program)
        if len(self.offspring) >= self.config.population_size:
            self.survival()
        return True

    def best_program(self) -> Program | None:
        everyone = self.members + self.offspring
        return max(everyone, key=lambda p: p.score) if everyone else None

    def maybe_reset(self, samples: int, now: float | None = None) -> bool:
        return False  # EoH has no islands to reset

    # --- EoH ------------------------------------------------------------------------------
    def survival(self) -> None:
        """Keep the `population_size` best of members and offspring."""
        everyone = sorted(self.members + self.offspring, key=lambda p: p.score, reverse=True)
        self.members = everyone[: self.config.population_size]
        self.offspring = []
        self.generation += 1

    def idea(self, program: Program) -> str | None:
        return self.ideas.get(code.source_hash(program.source, self.function_name))

    def note_idea(self, source: str, idea: str | None) -> None:
        if idea:
            self.ideas[code.source_hash(source, self.function_name)] = idea

    def initialising(self) -> bool:
        limit = self.config.init_samples if self.config.init_samples is not None \
            else 2 * self.config.population_size
        size = len(self.members) + len(self.offspring)
        return self.generation == 0 and size < self.config.population_size and self.init_drawn < limit

    def select(self, count: int) -> list[Program]:
        """`count` distinct parents by rank (p ~ 1 / (rank + N)), best first in the pool."""
        pool = sorted(self.members or self.offspring, key=lambda p: p.score, reverse=True)
        if len(pool) < count:
            return []
        weights = np.array([1.0 / (rank + len(pool)) for rank in range(len(pool))])
        chosen = self.rng.choice(len(pool), size=count, replace=False, p=weights / weights.sum())
        return [pool[int(i)] for i in sorted(chosen)]

    def next_operator(self) -> tuple[Operator, list[Program]]:
        """The next operator and its parents (i1 while initialising; a one-parent operator
        when a crossover finds fewer than two distinct programs)."""
        if self.initialising():
            self.init_drawn += 1
            return OPERATORS["i1"], []
        operator = OPERATORS[self.config.operators[self.cursor % len(self.config.operators)]]
        self.cursor += 1
        parents = self.select(operator.parents)
        if not parents:
            operator = OPERATORS["m1"]
            parents = self.select(1)
        return operator, parents

    # --- persistence ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "config": {**asdict(self.config),
                                              "operators": list(self.config.operators)},
                "function_name": self.function_name, "rng": self.rng.bit_generator.state,
                "members": [asdict(p) for p in self.members],
                "offspring": [asdict(p) for p in self.offspring],
                "generation": self.generation, "seen": sorted(self.seen), "ideas": self.ideas,
                "init_drawn": self.init_drawn, "cursor": self.cursor}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Population:
        if data.get("kind") != cls.kind:
            raise ValueError(f"the checkpoint holds a {data.get('kind', 'funsearch')!r} database, "
                             f"not EoH's; resume it with --method {data.get('kind', 'funsearch')}")
        config = EoHConfig(**{**data["config"], "operators": tuple(data["config"]["operators"])})
        population = cls(config, data["function_name"])
        population.rng.bit_generator.state = data["rng"]
        population.members = [Program(**p) for p in data["members"]]
        population.offspring = [Program(**p) for p in data["offspring"]]
        population.generation = data["generation"]
        population.seen = set(data["seen"])
        population.ideas = dict(data["ideas"])
        population.init_drawn = data["init_drawn"]
        population.cursor = data["cursor"]
        return population


class EoHEvolution(Evolution):
    """The search loop of `search.Evolution` with EoH's population, prompts and replies."""

    def __init__(self, spec: GameSpec, llm: LLMBackend, run_dir: Path, config: EvolutionConfig,
                 executor: Executor | None = None, resume: bool = False):
        if not callable(getattr(llm, "chat", None)):  # a usage error: the CLI maps ValueError
            raise ValueError(  # noqa: TRY004
                f"--method eoh needs a chat model; {llm.name} has no chat(): use an embedded "
                "instruct model (qwen2.5-coder-0.5b, qwen2.5-coder-1.5b) or "
                "openai-chat:<model>@<url>")
        self.eoh = config.eoh or EoHConfig()
        self.template = template(spec.seed, spec.function_name)
        # The seed's equivalent variants play alike: the population would keep only one.
        config = replace(config, seed_variants=False)
        super().__init__(spec, llm, run_dir, config, executor, resume=resume)
        seed_idea = spec.seed_idea or "The seed heuristic given with the task."
        for variant in spec.seeds():
            self.database.note_idea(code.normalise(variant, spec.function_name), seed_idea)

    def _new_database(self) -> Population:
        return Population(self.eoh, self.spec.function_name, seed=self.config.seed)

    def _database_from_dict(self, data: dict[str, Any]) -> Population:
        population = Population.from_dict(data)
        # Ideas of samples logged after the checkpoint (their programs are replayed next).
        for record in read_log(self.run_dir):
            if record.get("source") and record.get("thought"):
                population.note_idea(record["source"], record["thought"])
        return population

    def request(self) -> Request:
        """The next operator, its parents and the messages to send."""
        operator, parents = self.database.next_operator()
        shown = [(p, self.database.idea(p)) for p in parents]
        messages = build_messages(self.spec.describe(), self.template, operator, shown,
                                  self.spec.metric)
        return Request(operator.name, parents, messages)

    def _sample_batch(self, queue: deque, may_sample: Callable[[], bool],
                      progress: Callable[[Stats], None] | None) -> None:
        """One EoH call with `samples_per_prompt` replies: log the unusable, queue the rest."""
        request = self.request()
        answer = self._call_llm(lambda: self.llm.chat(request.messages, self.config.samples_per_prompt))
        if answer is None:
            return
        replies, llm_seconds, used = answer
        prompt = request.messages[-1]["content"]
        for reply in replies:
            if not may_sample():
                break
            record = self._new_record(prompt, 0, [p.sample for p in request.parents], reply,
                                      llm_seconds, used, len(replies))
            record.update(method="eoh", operator=request.operator)
            reply = self._follow_up(request, reply, record)
            try:
                parsed = parse_reply(reply, self.spec.function_name)
                contract = check_contract(parsed.code, self.spec.seed, self.spec.function_name)
            except (ReplyError, ContractError) as error:
                record.update(error=f"{error.kind}: {error}", failure=error.kind)
                self._finish_sample(record, None)
                continue
            record.update(thought=parsed.idea, repairs=list(contract.repairs))
            self.database.note_idea(contract.source, parsed.idea)
            self._queue_candidate(record, contract.source, queue)
        if progress is not None:
            progress(self.stats)

    def _follow_up(self, request: Request, reply: str, record: dict[str, Any]) -> str:
        """`reply`, continued by up to `follow_ups` turns asking for the code while it has none
        (the record keeps the turns; their time and tokens are counted as the run's LLM use)."""
        signature = self.template.splitlines()[0].removeprefix("def ").rstrip(":")
        turns = []
        for _ in range(self.eoh.follow_ups):
            try:
                parse_reply(reply, self.spec.function_name)
            except ReplyError as error:
                if error.kind != "no_code":
                    break
            else:
                break
            messages = [*request.messages, {"role": "assistant", "content": reply},
                        {"role": "user", "content": FOLLOW_UP.format(signature=signature)}]
            answer = self._call_llm(lambda m=messages: self.llm.chat(m, 1))
            if answer is None:
                break
            (more,), seconds, used = answer
            turns.append(more)
            record["llm_seconds"] = round(record["llm_seconds"] + seconds, 3)
            if used is not None and record.get("tokens") is not None:
                record["tokens"] = {k: record["tokens"].get(k, 0) + v for k, v in used.items()}
            reply = f"{reply}\n\n{more}"
        if turns:
            record["follow_ups"] = turns
        return reply
