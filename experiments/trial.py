"""How a program run as a sweep trial reports its final metrics.

W&B's server reads a trial's metric from the run's summary. Offline runs keep their summary
inside the binary run file, so the local and Ray executors also pass a path in
`DISCOVERYGYM_TRIAL_RESULT`; programs call `report_trial_metrics` at the end, which updates the
active W&B run's summary and writes the same numbers to that path as JSON.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

RESULT_ENV = "DISCOVERYGYM_TRIAL_RESULT"


def report_trial_metrics(metrics: dict[str, Any], run: Any | None = None) -> None:
    """Record the final metrics of this program for a sweep (no-op outside a sweep)."""
    if run is not None:
        run.summary.update(metrics)
    target = os.environ.get(RESULT_ENV)
    if target:
        path = Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(metrics, indent=2, default=float))
        temporary.replace(path)
