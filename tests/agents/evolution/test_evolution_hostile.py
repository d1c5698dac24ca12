"""The reproducers of issue 13 as tests: every hostile program is contained, as root and as an
unprivileged user, and the OS layers hold on their own (Python-level checks left out).

The attacks live in `hostile_programs` (a helper of these tests); each returns whether it was
contained and what happened, which the assertion prints.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import hostile_programs

NOBODY = 65534


@pytest.fixture(scope="module")
def workdir():
    """A world-writable folder on the host (an escaped candidate's files would appear here),
    plus, where the checkout is writable, a world-writable folder inside the package sources,
    which the sandbox does see (read-only): named to the probe by DG_HOSTILE_VISIBLE_DIR."""
    import discoverygym.agents.evolution as package

    path = Path(tempfile.mkdtemp(prefix="dg-hostile-", dir="/var/tmp"))
    path.chmod(0o777)
    sources = Path(package.__file__).parent
    visible = None
    if os.access(sources, os.W_OK):
        visible = Path(tempfile.mkdtemp(prefix=".hostile-rw-", dir=sources))
        visible.chmod(0o777)
        os.environ[hostile_programs.VISIBLE_ENV] = str(visible)
    yield path
    os.environ.pop(hostile_programs.VISIBLE_ENV, None)
    shutil.rmtree(path, ignore_errors=True)
    if visible is not None:
        shutil.rmtree(visible, ignore_errors=True)


@pytest.mark.parametrize("name", list(hostile_programs.CHECKS))
def test_hostile_program_is_contained(name, workdir):
    contained, detail = hostile_programs.CHECKS[name](workdir)
    assert contained, f"{name}: {detail}"


def test_os_layers_hold_without_the_python_checks(workdir):
    from discoverygym.agents.evolution import isolation

    missing = isolation.bwrap_works()
    if missing is not None:
        pytest.skip(f"no OS sandbox on this machine ({missing}); evaluate_program reports it")
    results = hostile_programs.os_layers_without_python_checks(workdir)
    failed = {name: detail for name, (ok, detail) in results.items() if not ok}
    assert not failed, failed


@pytest.mark.skipif(os.geteuid() != 0, reason="switches to nobody, which needs root")
def test_hostile_programs_are_contained_as_an_unprivileged_user(workdir):
    """The same attacks, and the OS probe, from a process running as `nobody` (no privileges to
    drop: the sandbox is built from unprivileged user namespaces alone)."""
    from discoverygym.agents.evolution import isolation

    if shutil.which("bwrap") is None or shutil.which("setpriv") is None:
        pytest.skip("switching to nobody needs bwrap and setpriv (bubblewrap, util-linux)")
    done = subprocess.run(
        isolation.as_user_command([sys.executable, str(Path(hostile_programs.__file__)),
                                   str(workdir)], uid=NOBODY),
        check=False, capture_output=True, text=True, timeout=600, cwd=workdir,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir),
             hostile_programs.VISIBLE_ENV: os.environ.get(hostile_programs.VISIBLE_ENV, "")},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    failed = {name: detail for name, (ok, detail) in results.items() if not ok}
    assert not failed, failed
    assert f"uid {NOBODY}," in results["os:layers"][1]
