"""Dependencies point one way: envs <- agents <- experiments (ARCHITECTURE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"envs": ("discoverygym.agents", "discoverygym.experiments"),
             "agents": ("discoverygym.experiments",)}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module))
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_import_points_up(layer):
    upward = [f"{path.relative_to(ROOT)}:{line}: {module}"
              for path in sorted((ROOT / layer).rglob("*.py"))
              for line, module in imported_modules(path)
              if module.startswith(FORBIDDEN[layer])]
    assert not upward, "imports against the layering:\n" + "\n".join(upward)


def test_the_check_sees_an_upward_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from discoverygym.experiments.compare import run\n")
    assert imported_modules(bad) == [(2, "discoverygym.experiments.compare")]
