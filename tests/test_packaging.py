"""The package layout: every subpackage listed in setup.cfg, package data in the wheel."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOP_LEVEL = {"envs": "discoverygym.envs", "agents": "discoverygym.agents", "experiments": "discoverygym.experiments"}


def _setup_cfg() -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return config


def _listed_packages() -> set[str]:
    return {line.strip() for line in _setup_cfg()["options"]["packages"].splitlines() if line.strip()}


def _packages_on_disk() -> set[str]:
    found = set()
    for folder, package in TOP_LEVEL.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder)
            found.add(".".join([package, *relative.parts]))
    return found


def test_every_subpackage_is_listed_in_setup_cfg() -> None:
    missing = _packages_on_disk() - _listed_packages()
    assert not missing, f"add these to [options] packages in setup.cfg: {sorted(missing)}"


def test_every_listed_package_exists() -> None:
    stale = _listed_packages() - _packages_on_disk()
    assert not stale, f"listed in setup.cfg but without __init__.py: {sorted(stale)}"


def test_package_dir_maps_the_three_folders() -> None:
    mapping = _setup_cfg()["options"]["package_dir"]
    for folder, package in TOP_LEVEL.items():
        assert f"{package} = {folder}" in mapping


def test_no_top_level_modules_leak() -> None:
    import discoverygym.envs

    assert "envs" not in sys.modules or sys.modules["envs"] is not discoverygym.envs
    assert Path(discoverygym.envs.__file__).parent == ROOT / "envs"


@pytest.mark.slow
def test_wheel_contains_every_package_and_its_data(tmp_path: Path) -> None:
    # Build from a copy: setuptools writes build/ into the source tree, which parallel runs share.
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "wandb", "results", "runs", "__pycache__", ".hypothesis"))
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("discoverygym-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in _listed_packages():
        init = package.replace(".", "/") + "/__init__.py"
        assert init in names, f"{init} missing from the wheel"
    assert not any(n.startswith(("envs/", "agents/", "experiments/", "tests/")) for n in names)
    assert not any(n.endswith("conftest.py") for n in names)
    for folder, package in TOP_LEVEL.items():
        for data in (ROOT / folder).rglob("data/*"):
            if data.is_file() and "__pycache__" not in data.parts:
                arcname = package.replace(".", "/") + "/" + data.relative_to(ROOT / folder).as_posix()
                assert arcname in names, f"package data {arcname} missing from the wheel"
