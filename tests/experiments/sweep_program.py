"""A sweep trial program for the tests: logs to W&B (offline) like a real training script.

Arguments arrive as `wandb agent` passes them (`--x=1.5 --layers=2`). It records every call in
$SWEEP_TEST_CALLS, and sleeps forever when x equals $SWEEP_TEST_HANG or when this is call number
$SWEEP_TEST_HANG_CALL (counting from 1; to be killed). With $SWEEP_TEST_PIDS it starts a sleeping
child in its own process group and appends "<its pid> <the child's pid>" to that file.
"""

import os
import subprocess
import sys
import time

import wandb

from discoverygym.agents.tracking import report_trial_metrics

params = dict(arg[2:].split("=", 1) for arg in sys.argv[1:])
x, layers = float(params["x"]), int(params["layers"])
with open(os.environ["SWEEP_TEST_CALLS"], "a") as calls:
    calls.write(f"{x} {layers}\n")
if os.environ.get("SWEEP_TEST_PIDS"):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
    with open(os.environ["SWEEP_TEST_PIDS"], "a") as pids:
        pids.write(f"{os.getpid()} {child.pid}\n")
hang = bool(os.environ.get("SWEEP_TEST_HANG")) and float(os.environ["SWEEP_TEST_HANG"]) == x
with open(os.environ["SWEEP_TEST_CALLS"]) as calls:
    hang |= os.environ.get("SWEEP_TEST_HANG_CALL") == str(len(calls.readlines()))
if hang:
    time.sleep(3600)
run = wandb.init(project="discoverygym-tests", config=params)
loss = (x - 3.0) ** 2 + layers
run.log({"loss": loss})
report_trial_metrics({"loss": loss}, run)
run.finish()
