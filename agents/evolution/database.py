"""FunSearch's program database: islands of clusters keyed by score signature.

Follows `funsearch/implementation/programs_database.py` (Romera-Paredes et al., 2024):
- programs live on `num_islands` islands that evolve independently;
- inside an island, programs with the same signature (per-input scores) form a cluster;
- a prompt samples `functions_per_prompt` clusters by a Boltzmann distribution over cluster
  scores with temperature `T = T0 * (1 - (n mod P) / P)` (n = programs registered on the island),
  then one program per cluster, shorter ones favoured (softmax of minus normalised length);
- the versions are sorted by ascending score, renamed `priority_v0..v{k-1}`, and the prompt
  ends with the header of `priority_v{k}` for the LLM to complete;
- every `reset_period` seconds the weaker half of the islands is wiped and reseeded with the
  best program of a random surviving island.
One addition for throughput (`reject_behavioural_duplicates`, on by default): a program with
the same score signature as one already on its island is not stored. It would join its twin's
cluster, which keeps its score and so its chance of being drawn, and only compete with it for
the cluster's place in a prompt; kept out, the island's prompts stay on the programs it
already had (the seed's formulations among them).
The whole state is a JSON-able dict (`to_dict` / `from_dict`) for atomic checkpoints.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np

from discoverygym.agents.evolution import code


@dataclass(frozen=True)
class DatabaseConfig:
    """FunSearch's defaults; `reset_every_samples` (0: off) adds a sample-count trigger."""

    functions_per_prompt: int = 2
    num_islands: int = 10
    reset_period: float = 4 * 60 * 60
    cluster_sampling_temperature_init: float = 0.1
    cluster_sampling_temperature_period: int = 30_000
    program_temperature: float = 1.0
    reset_every_samples: int = 0
    reject_behavioural_duplicates: bool = True

    def __post_init__(self) -> None:
        if self.num_islands < 1 or self.functions_per_prompt < 1:
            raise ValueError(f"num_islands and functions_per_prompt must be >= 1: {self}")
        if self.cluster_sampling_temperature_init <= 0 or self.cluster_sampling_temperature_period < 1:
            raise ValueError(f"temperature and period must be positive: {self}")


@dataclass
class Program:
    """One evaluated function: its source, aggregate score and per-input scores."""

    source: str
    score: float
    scores: dict[str, float]
    sample: int = 0  # index of the sample that produced it (0: seed)

    @property
    def length(self) -> int:
        return len(self.source)

    def signature(self) -> tuple:
        return tuple(sorted((key, round(value, 9)) for key, value in self.scores.items()))


@dataclass
class Prompt:
    """A prompt, the island it came from and the version number the LLM writes."""

    text: str
    header: str
    island: int
    version: int
    parents: list[int] = field(default_factory=list)


def softmax(logits: np.ndarray, temperature: float) -> np.ndarray:
    """Numerically stable softmax of `logits / temperature` (finite logits only)."""
    logits = np.asarray(logits, dtype=np.float64)
    if not np.all(np.isfinite(logits)):
        raise ValueError(f"softmax needs finite logits, got {logits}")
    z = logits / max(temperature, 1e-12)
    z = z - z.max()
    weights = np.exp(z)
    return weights / weights.sum()


def _renders(source: str) -> bool:
    """Whether a stored program parses again. Every stored program parsed once; CPython 3.11 can
    still fail a later parse of a long expression ("AST constructor recursion depth mismatch"),
    and one such program must not end a run: the prompt leaves it out."""
    try:
        code.function_node(source)
    except code.ProgramError:
        return False
    return True


class Island:
    """A sub-population: clusters of programs by signature."""

    def __init__(self, config: DatabaseConfig):
        self.config = config
        self.clusters: dict[tuple, list[Program]] = {}
        self.num_programs = 0

    def register(self, program: Program) -> None:
        self.clusters.setdefault(program.signature(), []).append(program)
        self.num_programs += 1

    def temperature(self) -> float:
        period = self.config.cluster_sampling_temperature_period
        return self.config.cluster_sampling_temperature_init * (1 - (self.num_programs % period) / period)

    def sample(self, rng: np.random.Generator) -> list[Program]:
        """`functions_per_prompt` programs from distinct clusters, by ascending score."""
        signatures = list(self.clusters)
        scores = np.array([self.clusters[s][0].score for s in signatures])
        probabilities = softmax(scores, self.temperature())
        count = min(len(signatures), self.config.functions_per_prompt)
        probabilities = probabilities + 1e-12  # sampling without replacement needs no zeros
        chosen = rng.choice(len(signatures), size=count, replace=False,
                            p=probabilities / probabilities.sum())
        programs = [self._sample_in_cluster(self.clusters[signatures[i]], rng) for i in chosen]
        return sorted(programs, key=lambda p: p.score)

    def _sample_in_cluster(self, cluster: list[Program], rng: np.random.Generator) -> Program:
        lengths = np.array([p.length for p in cluster], dtype=np.float64)
        normalised = (lengths - lengths.min()) / (lengths.max() + 1e-6)
        probabilities = softmax(-normalised, self.config.program_temperature)
        return cluster[int(rng.choice(len(cluster), p=probabilities))]

    def to_dict(self) -> dict:
        programs = [asdict(p) for cluster in self.clusters.values() for p in cluster]
        return {"num_programs": self.num_programs, "programs": programs}

    @classmethod
    def from_dict(cls, config: DatabaseConfig, data: dict) -> Island:
        island = cls(config)
        for item in data["programs"]:
            island.clusters.setdefault(Program(**item).signature(), []).append(Program(**item))
        island.num_programs = data["num_programs"]
        return island


class ProgramDatabase:
    """Islands, best program per island, island resets and prompt construction."""

    def __init__(self, config: DatabaseConfig, preamble: str, function_name: str = "priority",
                 seed: int = 0, docstring: str | None = None):
        self.config = config
        self.docstring = docstring  # the skeleton's docstring, shown on priority_v0 (FunSearch)
        self.preamble = preamble
        self.function_name = function_name
        self.rng = np.random.default_rng(seed)
        self.islands = [Island(config) for _ in range(config.num_islands)]
        self.best: list[Program | None] = [None] * config.num_islands
        self.seen: set[str] = set()  # normalised-source hashes of every program ever registered
        self.last_reset = time.time()
        self.samples_at_last_reset = 0
        self.resets = 0

    # --- registration ---------------------------------------------------------------------
    def is_duplicate(self, source: str) -> bool:
        """True when the normalised source was already registered or marked seen."""
        return code.source_hash(source, self.function_name) in self.seen

    def mark_seen(self, source: str) -> None:
        self.seen.add(code.source_hash(source, self.function_name))

    def register(self, program: Program, island: int | None) -> bool:
        """Add `program` to `island` (None: every island, as for the seed).

        Returns False when it was kept out as a behavioural duplicate (module docstring).
        """
        self.mark_seen(program.source)
        if (island is not None and self.config.reject_behavioural_duplicates
                and program.signature() in self.islands[island].clusters):
            return False
        targets = range(len(self.islands)) if island is None else [island]
        for index in targets:
            self.islands[index].register(program)
            if self.best[index] is None or program.score > self.best[index].score:
                self.best[index] = program
        return True

    def best_program(self) -> Program | None:
        candidates = [p for p in self.best if p is not None]
        return max(candidates, key=lambda p: p.score) if candidates else None

    # --- resets ---------------------------------------------------------------------------
    def maybe_reset(self, samples: int, now: float | None = None) -> bool:
        """Reset the weaker half if the period (seconds, or samples when set) has passed."""
        now = time.time() if now is None else now
        by_time = now - self.last_reset >= self.config.reset_period
        every = self.config.reset_every_samples
        by_samples = every > 0 and samples - self.samples_at_last_reset >= every
        if not (by_time or by_samples):
            return False
        self.reset_islands()
        self.last_reset, self.samples_at_last_reset = now, samples
        return True

    def reset_islands(self) -> list[int]:
        """Wipe the weaker half of the islands; reseed each from a random kept island's best."""
        best_scores = np.array([p.score if p is not None else -np.inf for p in self.best])
        noisy = np.where(np.isfinite(best_scores), best_scores, -1e300)
        order = np.argsort(noisy + self.rng.normal(size=len(noisy)) * 1e-6)
        half = len(self.islands) // 2
        reset_ids, keep_ids = order[:half], order[half:]
        for index in reset_ids:
            self.islands[index] = Island(self.config)
            self.best[index] = None
            founder = self.best[int(self.rng.choice(keep_ids))]
            if founder is not None:
                self.register(founder, int(index))
        self.resets += 1
        return [int(i) for i in reset_ids]

    # --- prompts --------------------------------------------------------------------------
    def prompt(self, island: int | None = None) -> Prompt:
        """Build a prompt from a random (or given) island."""
        if island is None:
            island = int(self.rng.integers(len(self.islands)))
        programs = self.islands[island].sample(self.rng)
        if not programs:
            raise RuntimeError("the database is empty: register the seed program first")
        name = self.function_name
        programs = [p for p in programs if _renders(p.source)]  # see _renders
        if not programs:
            raise code.ProgramError(f"no program of island {island} could be rendered")
        versions = []
        for index, program in enumerate(programs):
            doc = f"Improved version of `{name}_v{index - 1}`." if index >= 1 else self.docstring
            renamed = code.rename_function(program.source, f"{name}_v{index}", docstring=doc)
            versions.append(renamed)
        version = len(programs)
        head = code.header(programs[-1].source, f"{name}_v{version}",
                           f"Improved version of `{name}_v{version - 1}`.")
        text = self.preamble.rstrip() + "\n\n\n" + "\n\n\n".join(versions) + "\n\n\n" + head
        return Prompt(text=text, header=head, island=island, version=version,
                      parents=[p.sample for p in programs])

    # --- persistence ----------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "config": asdict(self.config), "preamble": self.preamble,
            "function_name": self.function_name, "docstring": self.docstring,
            "rng": self.rng.bit_generator.state,
            "islands": [island.to_dict() for island in self.islands],
            "best": [asdict(p) if p is not None else None for p in self.best],
            "seen": sorted(self.seen), "last_reset": self.last_reset,
            "samples_at_last_reset": self.samples_at_last_reset, "resets": self.resets,
        }

    @classmethod
    def from_dict(cls, data: dict) -> ProgramDatabase:
        config = DatabaseConfig(**data["config"])
        database = cls(config, data["preamble"], data["function_name"],
                       docstring=data.get("docstring"))
        database.rng.bit_generator.state = data["rng"]
        database.islands = [Island.from_dict(config, item) for item in data["islands"]]
        database.best = [Program(**p) if p is not None else None for p in data["best"]]
        database.seen = set(data["seen"])
        database.last_reset = data["last_reset"]
        database.samples_at_last_reset = data["samples_at_last_reset"]
        database.resets = data["resets"]
        return database
