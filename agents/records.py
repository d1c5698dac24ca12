"""The result record every agent family produces, and its CSV/JSON forms."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Record:
    """One measured number: `agent` of `family` scored `value` on `metric` over `dataset`.

    `bound` is the reference the metric is compared with (mean L1 bins, best upper bound,
    best-known rank), `gap` the relative distance to it in percent where that is meaningful.
    `compute` holds the training compute that produced the agent (RL env steps and CPU
    seconds, LLM samples, ...); empty for hand-written heuristics.
    """

    game: str
    dataset: str
    agent: str
    family: str
    metric: str
    value: float
    bound: float | None = None
    gap: float | None = None
    seconds: float = 0.0
    compute: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Record))


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return value


def write_csv(records: Iterable[Record], path: Path) -> None:
    """Write records as CSV with the columns of `Record` (compute as a JSON object)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for record in records:
            writer.writerow([_csv_value(getattr(record, name)) for name in COLUMNS])


def write_json(records: Iterable[Record], path: Path) -> None:
    """Write records as a JSON list of objects."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([r.to_dict() for r in records], indent=2) + "\n")


def read_csv(path: Path) -> list[Record]:
    """Read records written by `write_csv`."""
    out = []
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            out.append(
                Record(
                    game=row["game"],
                    dataset=row["dataset"],
                    agent=row["agent"],
                    family=row["family"],
                    metric=row["metric"],
                    value=float(row["value"]),
                    bound=float(row["bound"]) if row["bound"] else None,
                    gap=float(row["gap"]) if row["gap"] else None,
                    seconds=float(row["seconds"]),
                    compute=json.loads(row["compute"]) if row["compute"] else {},
                )
            )
    return out


def relative_gap_pct(value: float, bound: float | None) -> float | None:
    """(value - bound) / bound in percent, or None without a usable bound."""
    if bound is None or bound == 0 or math.isnan(bound):
        return None
    return 100.0 * (value - bound) / bound
