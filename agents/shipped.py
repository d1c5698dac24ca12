"""Where the shipped agents live: the package data folder ``experiments/models/``.

Trained RL models (``<name>.zip`` with sidecars) and evolved programs (``evolved_*.py``) are
shipped there. The folder is located through the import system, not imported: agents never
import experiments (ARCHITECTURE.md), and this works for a source checkout, an editable
install and a wheel alike.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path


def models_dir() -> Path:
    """The shipped agents' folder (``discoverygym/experiments/models``)."""
    spec = find_spec("discoverygym.experiments")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("discoverygym.experiments is not installed: no shipped agents")
    return Path(next(iter(spec.submodule_search_locations))).resolve() / "models"
