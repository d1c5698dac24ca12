"""Registration: importing discoverygym.envs registers every id, and the module-prefix form works."""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym

from discoverygym.envs import ENV_SPECS


def test_every_id_is_registered_on_import() -> None:
    for spec in ENV_SPECS:
        assert spec.id in gym.registry
        assert spec.id.startswith("discoverygym/")


def test_make_with_module_prefix_needs_no_import() -> None:
    code = (
        "import sys, gymnasium as gym\n"
        "assert 'discoverygym.envs' not in sys.modules\n"
        f"for i in {[s.id for s in ENV_SPECS]!r}:\n"
        "    env = gym.make('discoverygym.envs:' + i)\n"
        "    env.reset(seed=0)\n"
        "    env.close()\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
