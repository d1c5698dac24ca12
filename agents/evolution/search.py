"""The search loop: prompt -> LLM -> trim -> dedupe -> sandboxed evaluation -> database.

`run_evolution(...)` runs FunSearch's loop until a sample or time budget is spent. Candidates
are scored on the game's training split (that score feeds the database); each new best on the
training split is also scored on the validation split, and so is each program within the
game's `validation_margin` of that best (for games whose train score is noisy); the best by
validation is written to `run_dir/best.py`. At the end the final best is scored on the test split too. State is
checkpointed atomically after every improvement and every `checkpoint_every_s` seconds;
`resume=True` continues from the checkpoint and replays samples logged after it.

On resume the log is repaired first (`samplelog.repair_log`: a torn last line is moved aside,
never appended to). The checkpoint is authoritative for what the log cannot rebuild (database,
best program, elapsed time, token counts); the log is authoritative for the sample counts:
`samples`, `valid` and `duplicates` are recounted from its records, records logged after the
checkpoint are registered again, records the checkpoint counted but the log lost are reported
(a `RuntimeWarning`) and no longer counted, and a checkpoint is written at once, so the log's
records and the checkpoint's counts agree from then on. The run folder is 0700 and its files
0600 (`runfiles`).
"""

from __future__ import annotations

import time
import warnings
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from discoverygym.agents.evolution import code
from discoverygym.agents.evolution.checkpoint import load_checkpoint, save_checkpoint
from discoverygym.agents.evolution.database import DatabaseConfig, Program, ProgramDatabase
from discoverygym.agents.evolution.executor import Executor, LocalExecutor
from discoverygym.agents.evolution.export import write_program
from discoverygym.agents.evolution.games import GameSpec, get_game
from discoverygym.agents.evolution.llm import LLMBackend, LLMError, SamplingConfig, make_backend
from discoverygym.agents.evolution.samplelog import (
    LogRepair,
    SampleLog,
    read_log,
    repair_log,
    truncate_error,
)
from discoverygym.agents.evolution.sandbox import EvalResult, SandboxLimits, evaluate_program, stop_all
from discoverygym.agents.interrupts import sigterm_as_interrupt
from discoverygym.agents.runfiles import private_dir

if TYPE_CHECKING:
    from discoverygym.agents.evolution.eoh import EoHConfig
    from discoverygym.agents.evolution.tune import TuneConfig


@dataclass
class EvolutionConfig:
    """Knobs of one run (database knobs in `database`)."""

    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    samples_per_prompt: int = 4
    seed: int = 0
    checkpoint_every_s: float = 60.0
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    train_datasets: tuple[str, ...] | None = None  # override the game's train split
    validation_datasets: tuple[str, ...] | None = None
    test_datasets: tuple[str, ...] | None = None
    evaluate_test: bool = True
    seed_variants: bool = True  # spread the game's equivalent seed formulations over the islands
    max_llm_failures: int = 3  # consecutive failed LLM calls (each retried by the backend) end the run
    method: str = "funsearch"  # "funsearch" (completion prompts) or "eoh" (chat, eoh.py)
    eoh: EoHConfig | None = None  # EoH's knobs (None: eoh.EoHConfig's defaults)
    tune: TuneConfig | None = None  # tune the constants of each new best on train (tune.py)
    # The program the islands started from instead of the game's seed (`export.start_from`):
    # {"file", "sha256"}; recorded in the checkpoint and in every exported best.
    start_from: dict[str, str] | None = None


#: The dataset splits of a run, and the `EvolutionConfig` field that overrides each.
SPLITS: tuple[str, ...] = ("train", "validation", "test")


def sampling_settings(llm: LLMBackend) -> dict[str, Any] | None:
    """The backend's decoding settings for the checkpoint (None for a backend without them)."""
    sampling = getattr(llm, "sampling", None)
    return asdict(sampling) if isinstance(sampling, SamplingConfig) else None


def resumed_config(config: EvolutionConfig, stored: dict[str, Any], run_dir: Path) -> EvolutionConfig:
    """`config` for continuing the run whose checkpoint recorded `stored` (its ``config``).

    A resumed run keeps the datasets it was scored on: a split the caller left unset takes the
    run's, and a split set to other datasets is refused (ValueError naming both), since scores on
    different sets would be mixed in one database. Likewise its seed (recorded since the first
    checkpoint). Checkpoints written before the datasets were recorded are taken as they are.
    """
    changes: dict[str, Any] = {}
    for split, datasets in (stored.get("datasets") or {}).items():
        key = f"{split}_datasets"
        given = getattr(config, key, None)
        if given is None:
            changes[key] = tuple(datasets)
        elif tuple(given) != tuple(datasets):
            raise ValueError(
                f"{run_dir} was run with --{split} {' '.join(datasets)}; resume it with the same "
                f"{split} datasets (or without --{split}), not {' '.join(given)}"
            )
    started = stored.get("start_from")
    if config.start_from is not None and config.start_from.get("sha256") != (started or {}).get("sha256"):
        was = f"--start-from {started['file']}" if started else "the game's seed"
        raise ValueError(f"{run_dir} started from {was}; resume it without --start-from or with "
                         f"that file, not {config.start_from['file']}")
    if started is not None and config.start_from is None:
        changes["start_from"] = started
    if "seed" in stored and stored["seed"] != config.seed:
        raise ValueError(f"{run_dir} was run with --seed {stored['seed']}; resume it with that "
                         f"seed (or without --seed), not {config.seed}")
    return replace(config, **changes) if changes else config


class SeedFailure(RuntimeError):
    """The seed (or the --start-from program) fails, or a seed variant plays differently."""


@dataclass
class Stats:
    """Live counters, passed to the progress callback after every sample."""

    samples: int = 0
    valid: int = 0
    duplicates: int = 0
    best_train: float | None = None
    best_validation: float | None = None
    seed_train: float | None = None
    seed_validation: float | None = None
    elapsed_s: float = 0.0
    llm_s: float = 0.0
    eval_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    last_error: str | None = None
    behavioural_duplicates: int = 0  # valid, but the same score signature as a stored program
    failures: dict[str, int] = field(default_factory=dict)  # failed samples by kind
    tune_trials: int = 0  # sandboxed evaluations spent tuning constants (compute, not samples)
    tuned: int = 0  # tuned programs that beat their original on train (logged as samples)

    @property
    def valid_fraction(self) -> float:
        return self.valid / self.samples if self.samples else 0.0

    @property
    def samples_per_s(self) -> float:
        return self.samples / self.elapsed_s if self.elapsed_s > 0 else 0.0


@dataclass
class EvolutionResult:
    """What a finished (or interrupted) run produced."""

    run_dir: Path
    stats: Stats
    best_source: str | None
    best_scores: dict[str, float | None]
    best_path: Path | None
    interrupted: bool = False  # stopped early by Ctrl-C or SIGTERM (saved; resumable)


class Evolution:
    """One run's state; `run_evolution` is the function-style entry point."""

    def __init__(self, spec: GameSpec, llm: LLMBackend, run_dir: Path, config: EvolutionConfig,
                 executor: Executor | None = None, resume: bool = False):
        self.spec, self.llm, self.config = spec, llm, config
        self.run_dir = private_dir(run_dir)
        self.executor = executor or LocalExecutor()
        self._own_executor = executor is None
        self.stats = Stats()
        self.best: dict[str, Any] | None = None  # best by validation: source, scores, sample
        self._elapsed_before = 0.0
        self._start = time.time()
        self._last_checkpoint = time.time()
        self.next_id = 0  # id of the last sample drawn from the LLM
        self._llm_failures = 0  # consecutive failed LLM calls
        self.log_lines = 0  # records in samples.jsonl covered by the checkpoint
        self.log_repair: LogRepair | None = None  # what resume repaired in the log
        checkpoint = load_checkpoint(self.run_dir) if resume else None
        if checkpoint is None and (self.run_dir / "checkpoint.json").exists() and not resume:
            raise FileExistsError(f"{self.run_dir} already holds a run; pass resume=True "
                                  "(--resume) to continue it or choose another --run-dir")
        if checkpoint is not None:
            self._restore(checkpoint)
        else:
            orphan = self.run_dir / "samples.jsonl"
            if orphan.exists():  # killed before its first checkpoint: keep it aside
                orphan.rename(orphan.with_name(f"samples.orphan-{int(time.time())}.jsonl"))
            self.database = self._new_database()
        self.log = SampleLog(self.run_dir)
        if checkpoint is not None:
            self.checkpoint()  # the reconciled counts, at once

    # --- the method's population (a subclass such as eoh.EoHEvolution brings its own) -----
    def _new_database(self) -> Any:
        return ProgramDatabase(self.config.database, self.spec.preamble, self.spec.function_name,
                               seed=self.config.seed, docstring=code.docstring(self.spec.seed))

    def _database_from_dict(self, data: dict[str, Any]) -> Any:
        if data.get("kind", "funsearch") != "funsearch":
            raise ValueError(f"{self.run_dir} holds a run of method {data['kind']!r}; resume it "
                             f"with --method {data['kind']}")
        return ProgramDatabase.from_dict(data)

    # --- evaluation helpers ---------------------------------------------------------------
    def _datasets(self, split: str) -> tuple[str, ...]:
        override = {"train": self.config.train_datasets,
                    "validation": self.config.validation_datasets,
                    "test": self.config.test_datasets}[split]
        return tuple(override) if override else self.spec.datasets(split)

    def _evaluate(self, source: str, split: str) -> EvalResult:
        return evaluate_program(source, self.spec.name, split, limits=self.config.limits,
                                datasets=self._datasets(split))

    # --- state ----------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {"version": 1, "game": self.spec.name, "llm": self.llm.name,
                "config": {"seed": self.config.seed, "database": asdict(self.config.database),
                           "sampling": sampling_settings(self.llm),
                           "start_from": self.config.start_from,
                           "datasets": {split: list(self._datasets(split)) for split in SPLITS}},
                "stats": asdict(self.stats), "best": self.best, "next_id": self.next_id,
                "log_lines": self.log_lines,
                "elapsed_s": self._elapsed(), "database": self.database.to_dict()}

    def _restore(self, state: dict[str, Any]) -> None:
        if state["game"] != self.spec.name:
            raise ValueError(f"checkpoint is for game {state['game']!r}, not {self.spec.name!r}")
        self.config = resumed_config(self.config, state.get("config") or {}, self.run_dir)
        self.database = self._database_from_dict(state["database"])
        self.stats = Stats(**state["stats"])
        self.best = state["best"]
        self._elapsed_before = state["elapsed_s"]
        self.log_repair = repair_log(self.run_dir)
        if self.log_repair.changed:
            warnings.warn(str(self.log_repair), RuntimeWarning, stacklevel=3)
        records = list(read_log(self.run_dir))
        covered = state["log_lines"]
        if covered > len(records):
            warnings.warn(f"{self.run_dir / 'samples.jsonl'} holds {len(records)} records but the "
                          f"checkpoint counted {covered}: {covered - len(records)} lost; the "
                          "counts follow the log", RuntimeWarning, stacklevel=3)
        # The log is authoritative for the counts (see the module doc).
        self.log_lines = len(records)
        self.stats.samples = len(records)
        self.stats.valid = sum(bool(r.get("ok") and r.get("score") is not None) for r in records)
        # `duplicate` is True for a repeated text, "behaviour" for a valid program kept out as
        # the same score signature as a stored one (counted apart, as while running).
        self.stats.duplicates = sum(r.get("duplicate") is True for r in records)
        self.stats.behavioural_duplicates = sum(r.get("duplicate") == "behaviour" for r in records)
        failures: dict[str, int] = {}
        for record in records:
            if record.get("failure"):
                failures[record["failure"]] = failures.get(record["failure"], 0) + 1
        self.stats.failures = failures
        # Ids drawn but never logged (queued or in evaluation at the kill) are drawn again.
        self.next_id = max((r["sample"] for r in records), default=0)
        # Samples logged after the checkpoint were evaluated already: register them again.
        for record in records[covered:]:
            if record.get("ok") and record.get("score") is not None:
                if self.stats.best_train is None or record["score"] > self.stats.best_train:
                    self.stats.best_train = record["score"]
                self.database.register(
                    Program(record["source"], record["score"], record["scores"], record["sample"]),
                    record["island"])
            elif record.get("source"):
                self.database.mark_seen(record["source"])

    def _elapsed(self) -> float:
        return self._elapsed_before + (time.time() - self._start)

    def checkpoint(self) -> None:
        self.stats.elapsed_s = self._elapsed()
        save_checkpoint(self.run_dir, self._state())
        self._last_checkpoint = time.time()

    # --- the loop -------------------------------------------------------------------------
    def _seed(self) -> None:
        """Score the seed; register it (and its equivalent variants, one per island in turn)."""
        result = self._evaluate(self.spec.seed, "train")
        if not result.ok:
            what = (f"the --start-from program {self.config.start_from['file']}"
                    if self.config.start_from else f"the seed program of {self.spec.name}")
            raise SeedFailure(f"{what} fails on train: {result.error}")
        seeds = self.spec.seeds() if self.config.seed_variants else (self.spec.seed,)
        for variant in seeds[1:]:
            check = self._evaluate(variant, "train")
            if not check.ok or check.scores != result.scores:
                raise SeedFailure(f"a seed variant of {self.spec.name} does not play as the seed "
                                   f"({check.error or check.score}):\n{variant}")
        for island in range(self.config.database.num_islands):
            source = code.normalise(seeds[island % len(seeds)], self.spec.function_name)
            self.database.register(Program(source, result.score, result.scores, 0), island)
        self.stats.best_train = self.stats.seed_train = result.score
        validation = self._evaluate(self.spec.seed, "validation")
        self.stats.seed_validation = validation.score
        self._consider_best(self.spec.seed, 0, result, validation)
        self.checkpoint()

    def _consider_best(self, source: str, sample: int, train: EvalResult,
                       validation: EvalResult) -> bool:
        if not validation.ok:
            return False
        if self.best is not None and validation.score <= self.best["scores"]["validation"]:
            return False
        self.best = {"source": source, "sample": sample,
                     "scores": {"train": train.score, "validation": validation.score}}
        self.stats.best_validation = validation.score
        self._write_best(self.run_dir / "best.py")
        self._write_best(self.run_dir / "programs" / f"best_{sample:06d}.py")
        return True

    def _write_best(self, path: Path) -> None:
        assert self.best is not None
        started = {"start_from": self.config.start_from} if self.config.start_from else {}
        write_program(path, self.best["source"], self.spec.name, {**started,
            "scores": self.best["scores"], "samples": self.stats.samples,
            "sample": self.best["sample"], "llm": self.llm.name, "seed": self.config.seed,
            "datasets": {s: list(self._datasets(s)) for s in ("train", "validation", "test")},
            "compute": {"llm_samples": self.stats.samples, "llm_seconds": round(self.stats.llm_s, 1),
                        "llm_tokens": self.stats.prompt_tokens + self.stats.completion_tokens,
                        "eval_seconds": round(self.stats.eval_s, 1),
                        "tune_trials": self.stats.tune_trials,
                        "cpu_seconds": round(self.stats.llm_s + self.stats.eval_s, 1)},
        })

    def _finish_sample(self, record: dict[str, Any], result: EvalResult | None) -> None:
        new_best_train = False
        if result is not None:
            record.update(ok=result.ok, score=result.score, scores=result.scores,
                          error=result.error, eval_seconds=round(result.seconds, 3))
            self.stats.eval_s += result.seconds
            if result.ok:
                self.stats.valid += 1
                program = Program(record["source"], result.score, result.scores, record["sample"])
                if self.database.register(program, record["island"]) is False:
                    record["duplicate"] = "behaviour"  # valid, but kept out of the prompts
                    self.stats.behavioural_duplicates += 1
                best_train = self.stats.best_train
                if best_train is None or result.score > best_train:
                    self.stats.best_train = result.score
                    new_best_train = True
                margin = self.spec.validation_margin
                near_best = (margin > 0 and best_train is not None
                             and record.get("duplicate") != "behaviour"
                             and result.score >= best_train - margin)
                if new_best_train or near_best:
                    validation = self._evaluate(record["source"], "validation")
                    record["validation"] = validation.score
                    if self._consider_best(record["source"], record["sample"], result, validation):
                        record["improved"] = True
            else:
                self.stats.last_error = truncate_error(result.error)
                record.setdefault("failure", "timeout" if str(result.error).startswith("timeout")
                                  else "evaluation")
        elif record.get("error"):
            self.stats.last_error = truncate_error(record["error"])
            record.setdefault("failure", "duplicate" if record.get("duplicate") else "unparsable")
        if record.get("failure"):
            self.stats.failures[record["failure"]] = self.stats.failures.get(record["failure"], 0) + 1
        self.stats.samples += 1
        self.log.append(record)
        self.log_lines += 1
        self.stats.elapsed_s = self._elapsed()
        if record.get("improved") or time.time() - self._last_checkpoint >= self.config.checkpoint_every_s:
            self.checkpoint()
        if new_best_train and self.config.tune is not None and record.get("origin") != "tune":
            self._tune(record)

    def _tune(self, record: dict[str, Any]) -> None:
        """Tune the constants of `record`'s program on train; log the tuned one if better."""
        from discoverygym.agents.evolution.tune import tune_program

        assert self.config.tune is not None
        outcome = tune_program(
            record["source"], record["score"],
            lambda source: self.executor.submit(
                evaluate_program, source, self.spec.name, "train", limits=self.config.limits,
                datasets=self._datasets("train")),
            self.config.tune, seed=self.config.seed + record["sample"],
            parallel=self.executor.workers)
        self.stats.tune_trials += outcome.trials
        self.stats.eval_s += outcome.eval_seconds
        if outcome.result is None:
            return
        self.stats.tuned += 1
        self.next_id += 1
        tuned = {"sample": self.next_id, "time": time.time(), "island": record["island"],
                 "parents": [record["sample"]], "prompt": None, "completion": None,
                 "origin": "tune", "tuned_from": record["sample"], "tune_trials": outcome.trials,
                 "params": outcome.params, "llm_seconds": 0.0,
                 "tokens": {"prompt": 0, "completion": 0},  # no LLM call: trials are eval compute
                 "source": outcome.source, "ok": False, "score": None, "scores": {}, "error": None}
        self.database.mark_seen(outcome.source)
        self._finish_sample(tuned, outcome.result)

    def run(self, samples: int | None = None, minutes: float | None = None,
            progress: Callable[[Stats], None] | None = None) -> EvolutionResult:
        """Sample until `samples` (total, counting resumed ones) or `minutes` (this call).

        The main thread samples the LLM; ready candidates wait in a queue for a free
        evaluation slot (at most `executor.workers` sandboxes at a time). Ctrl-C or SIGTERM
        stops it early: the samples in flight are dropped, the run is checkpointed, its best
        exported, and the result says ``interrupted``.
        """
        if samples is None and minutes is None:
            raise ValueError("give a budget: samples and/or minutes")
        self._start = time.time()
        deadline = self._start + 60 * minutes if minutes is not None else float("inf")
        if self.database.best_program() is None:
            self._seed()
        pending: dict[Future, dict[str, Any]] = {}
        queue: deque[dict[str, Any]] = deque()

        def may_sample() -> bool:
            drawn = self.stats.samples + len(pending) + len(queue)  # logged + in flight
            return time.time() < deadline and (samples is None or drawn < samples)

        interrupted = False
        with sigterm_as_interrupt():
            try:
                while True:
                    self._drain(pending, block=False, progress=progress)
                    self.database.maybe_reset(self.stats.samples)
                    while queue and len(pending) < self.executor.workers:
                        record = queue.popleft()
                        # A module-level function: it pickles for remote executors (Ray).
                        future = self.executor.submit(
                            evaluate_program, record["source"], self.spec.name, "train",
                            limits=self.config.limits, datasets=self._datasets("train"))
                        pending[future] = record
                    if may_sample() and len(queue) < self.executor.workers:
                        self._sample_batch(queue, may_sample, progress)
                        continue
                    if not pending and not queue:
                        break
                    self._drain(pending, block=True, progress=progress)
            except KeyboardInterrupt:  # Ctrl-C, or SIGTERM under `sigterm_as_interrupt`
                interrupted = True
                self.stats.last_error = "interrupted: stopped early and saved (continue it with --resume)"
            finally:
                for future in pending:
                    future.cancel()
                if interrupted:  # the evaluations in flight are dropped, not waited for
                    stop_all()
                self.checkpoint()
                self.log.close()
                if self._own_executor:
                    self.executor.shutdown()
        return replace(self._result(), interrupted=interrupted)

    def _sample_batch(self, queue: deque, may_sample: Callable[[], bool],
                      progress: Callable[[Stats], None] | None) -> None:
        """One prompt, `samples_per_prompt` completions: log the unusable, queue the rest."""
        try:
            prompt = self.database.prompt()
        except code.ProgramError as error:  # nothing on the drawn island renders: draw again
            self.stats.last_error = f"prompt: {error}"
            return
        answer = self._call_llm(lambda: self.llm.sample(prompt.text, self.config.samples_per_prompt))
        if answer is None:
            return
        completions, llm_seconds, used = answer
        for completion in completions:
            if not may_sample():
                break
            record = self._new_record(prompt.text, prompt.island, prompt.parents, completion,
                                      llm_seconds, used, len(completions))
            try:
                source = code.trim_completion(prompt.header, completion, self.spec.function_name)
            except code.ProgramError as error:
                record["error"] = f"unparsable completion: {error}"
                self._finish_sample(record, None)
                continue
            self._queue_candidate(record, source, queue)
        if progress is not None:
            progress(self.stats)

    def _call_llm(self, call: Callable[[], list[str]]
                  ) -> tuple[list[str], float, dict[str, int] | None] | None:
        """Run one LLM call under the run's failure policy: (texts, seconds per text, tokens
        used or None when the backend does not count), or None after a passing failure."""
        t0 = time.perf_counter()
        tokens_before = dict(getattr(self.llm, "tokens", None) or {})
        try:
            texts = call()
        except Exception as error:  # noqa: BLE001 - a passing failure must not end the run
            self.stats.last_error = f"llm: {type(error).__name__}: {error}"
            self._llm_failures += 1
            if self._llm_failures >= self.config.max_llm_failures:
                raise LLMError(f"{self.llm.name}: {self._llm_failures} LLM calls in a row "
                               f"failed; last: {type(error).__name__}: {error}") from error
            time.sleep(1.0)
            return None
        self._llm_failures = 0
        self.stats.llm_s += time.perf_counter() - t0
        llm_seconds = (time.perf_counter() - t0) / max(1, len(texts))
        counted = getattr(self.llm, "tokens", None)  # None: the backend does not count tokens
        used = None if counted is None else {
            key: value - tokens_before.get(key, 0) for key, value in counted.items()}
        if used is not None:
            self.stats.prompt_tokens += used.get("prompt", 0)
            self.stats.completion_tokens += used.get("completion", 0)
        return texts, llm_seconds, used

    def _new_record(self, prompt: str, island: int, parents: list[int], completion: str,
                    llm_seconds: float, used: dict[str, int] | None, batch: int) -> dict[str, Any]:
        """The log record of the next sample (id drawn here), before parsing or evaluation."""
        self.next_id += 1
        return {"sample": self.next_id, "time": time.time(), "island": island,
                "parents": parents, "prompt": prompt, "completion": completion,
                "llm_seconds": round(llm_seconds, 3),
                "tokens": None if used is None else  # this sample's share of the call
                {k: round(v / max(1, batch), 1) for k, v in used.items()},
                "source": None, "ok": False, "score": None, "scores": {}, "error": None}

    def _queue_candidate(self, record: dict[str, Any], source: str, queue: deque) -> None:
        """Log `source` as a duplicate when its normalised text was seen, else queue it."""
        record["source"] = source
        if self.database.is_duplicate(source):
            record.update(duplicate=True, error="duplicate of an earlier program")
            self.stats.duplicates += 1
            self._finish_sample(record, None)
            return
        self.database.mark_seen(source)
        queue.append(record)

    def _drain(self, pending: dict[Future, dict[str, Any]], block: bool,
               progress: Callable[[Stats], None] | None) -> None:
        if not pending:
            return
        done, _ = wait(list(pending), timeout=None if block else 0, return_when=FIRST_COMPLETED)
        for future in sorted(done, key=lambda f: pending[f]["sample"]):
            record = pending.pop(future)
            try:
                result = future.result()
            except Exception as error:  # noqa: BLE001 - executor failure is a failed sample
                result = EvalResult(False, error=f"executor: {type(error).__name__}: {error}")
            self._finish_sample(record, result)
            if progress is not None:
                progress(self.stats)

    def _result(self) -> EvolutionResult:
        best_path = self.run_dir / "best.py" if self.best else None
        scores: dict[str, float | None] = dict(self.best["scores"]) if self.best else {}
        if self.best and self.config.evaluate_test and "test" not in scores:
            test = self._evaluate(self.best["source"], "test")
            self.best["scores"]["test"] = test.score if test.ok else None
            self.best["test_scores"] = test.scores
            scores = dict(self.best["scores"])
            self._write_best(self.run_dir / "best.py")
            save_checkpoint(self.run_dir, self._state())
        return EvolutionResult(self.run_dir, self.stats, self.best["source"] if self.best else None,
                               scores, best_path)


def run_evolution(
    game: str = "binpacking",
    llm: str | LLMBackend = "gemma-270m",
    run_dir: str | Path = "runs/evolve",
    *,
    samples: int | None = None,
    minutes: float | None = None,
    resume: bool = False,
    config: EvolutionConfig | None = None,
    sampling: SamplingConfig | None = None,
    executor: Executor | None = None,
    progress: Callable[[Stats], None] | None = None,
) -> EvolutionResult:
    """Evolve `game`'s function with `llm` until `samples` total or `minutes` elapse.

    `llm` is a backend or a `--llm` string (`gemma-270m`, `openai:<model>@<url>`). Writes
    `run_dir/{checkpoint.json, samples.jsonl, best.py, programs/}`.
    """
    spec = get_game(game)
    config = config or EvolutionConfig()
    backend = make_backend(llm, sampling or SamplingConfig(seed=config.seed)) if isinstance(llm, str) else llm
    evolution = make_evolution(spec, backend, Path(run_dir), config, executor, resume=resume)
    return evolution.run(samples=samples, minutes=minutes, progress=progress)


def make_evolution(spec: GameSpec, llm: LLMBackend, run_dir: Path, config: EvolutionConfig,
                   executor: Executor | None = None, resume: bool = False) -> Evolution:
    """The search of `config.method`: FunSearch's `Evolution` or EoH's `EoHEvolution`."""
    if config.method == "funsearch":
        return Evolution(spec, llm, run_dir, config, executor, resume=resume)
    if config.method == "eoh":
        from discoverygym.agents.evolution.eoh import EoHEvolution

        return EoHEvolution(spec, llm, run_dir, config, executor, resume=resume)
    raise ValueError(f"unknown method {config.method!r}; known: funsearch, eoh")
