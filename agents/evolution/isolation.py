"""OS isolation of the sandbox child: the command line that starts it, and which layers hold.

The boundary is built from maintained components:

* **bubblewrap** (`bwrap`, Debian package `bubblewrap`): new user, mount, PID, network, IPC,
  UTS and cgroup namespaces (`--unshare-all`), no nested user namespaces (`--disable-userns`),
  a file view made only of what the child needs, read-only (`needed_paths`: /usr, /etc, the
  interpreter, its environment, the package sources; no home, project, run folder or other
  checkout), a fresh `/proc` of the PID namespace (the parent's `/proc/<pid>/environ` does not
  exist there), a minimal `/dev`, a private size-limited tmpfs `/tmp` as the only writable
  place and working directory (`--size`, `--tmpfs`), the root remounted read-only,
  an empty environment (`--clearenv`, then only the thread-count variables), a new session
  (no terminal injection) and `--die-with-parent`. Every candidate process lives in the PID
  namespace, whose init is bubblewrap: when it dies, the kernel kills them all.
* **util-linux `setpriv --pdeathsig KILL`** in front of bubblewrap: bubblewrap dies when the
  evaluating process dies, also on SIGKILL, so the namespace goes with it.
* When started as root: bubblewrap sets up every namespace but the user one (which would map
  the candidate to root outside), then util-linux `setpriv` drops to `nobody` with no
  capabilities and `unshare --user` enters a new user namespace: the candidate's uid is
  unprivileged outside too.
* Inside the child (`_child`): rlimits, Landlock (PyPI `landlock`: reads only of
  `needed_paths`, writes only in the scratch directory, no exec; the file boundary also in
  `direct` mode) and a seccomp filter (PyPI `pyseccomp` over libseccomp); the child reports
  whether each was applied, in a line written before the candidate is compiled.

Where bubblewrap is missing or the kernel refuses unprivileged user namespaces, the child runs
directly (`direct` mode) with only what a plain process can do (new session, rlimits, scrubbed
environment, a network namespace when allowed, drop to `nobody` when root, seccomp/Landlock),
and `EvalResult.sandbox` names the missing layers; `missing_layers` turns them into messages
saying how to get each.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys

NOBODY = 65534
SCRATCH = "/tmp"  # inside the sandbox: a private tmpfs
SCRATCH_MB = 16
THREADS_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "NUMEXPR_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
               "PYTHONNOUSERSITE": "1"}
# Every layer EvalResult.sandbox reports, in order.
LAYERS = ("user_ns", "mount_ns", "pid_ns", "net_ns", "ipc_ns", "unprivileged_uid", "readonly_fs",
          "scratch_limit", "empty_env", "die_with_parent", "rlimits", "landlock", "seccomp")
HOW_TO = {
    "bwrap": "install bubblewrap (Debian/Ubuntu: apt-get install -y bubblewrap)",
    "userns": "allow unprivileged user namespaces (sysctl user.max_user_namespaces > 0 and, on "
              "Debian/Ubuntu, kernel.unprivileged_userns_clone=1 / "
              "kernel.apparmor_restrict_unprivileged_userns=0; in Docker run with "
              "--security-opt seccomp=unconfined --security-opt apparmor=unconfined)",
    "setpriv": "install util-linux (setpriv, unshare)",
    "landlock": "pip install landlock, on Linux >= 5.13 with Landlock enabled (landlock in "
                "/sys/kernel/security/lsm, else boot with lsm=...,landlock)",
    "seccomp": "pip install pyseccomp and install libseccomp (apt-get install -y libseccomp2)",
}
LAYER_NEEDS = {"user_ns": "userns", "mount_ns": "userns", "pid_ns": "userns", "net_ns": "userns",
               "ipc_ns": "userns", "readonly_fs": "userns", "scratch_limit": "userns",
               "die_with_parent": "setpriv", "landlock": "landlock", "seccomp": "seccomp",
               "unprivileged_uid": "userns", "empty_env": "userns", "rlimits": "userns"}


SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")


def needed_paths() -> list[str]:
    """Everything the child reads, read-only: the system directories, the interpreter, its
    environment (site-packages) and the package sources. Nothing else of the host (no home,
    project or run folders, no other checkouts) is in the sandbox's file view."""
    from importlib.util import find_spec

    paths = {sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable))}
    paths |= {os.path.realpath(next(iter(find_spec(f"discoverygym.{name}").submodule_search_locations)))
              for name in ("agents", "envs", "experiments")}  # located, not imported
    paths |= {p for p in sys.path if p.endswith(("site-packages", "dist-packages"))
              and os.path.isdir(p)}
    paths = {os.path.realpath(p) for p in paths} | {p for p in paths if os.path.isdir(p)}
    system = [d for d in SYSTEM_DIRS if os.path.isdir(d) and not os.path.islink(d)]
    extra = sorted(p for p in paths if not any(p == d or p.startswith(d + "/") for d in system))
    kept: list[str] = []
    for path in extra:  # drop paths inside another kept one
        if not any(path.startswith(k + "/") for k in kept):
            kept.append(path)
    return system + kept


def bwrap_command(argv: list[str], scratch_mb: int = SCRATCH_MB, *, user_ns: bool = True) -> list[str]:
    """The bubblewrap command line running `argv` in the sandbox (see the module docstring).

    As an unprivileged user: bubblewrap in a new user namespace (`--unshare-all
    --unshare-user --disable-userns`). As root: bubblewrap sets up the namespaces (all but the
    user namespace, which would map the candidate to root outside), then `setpriv` drops to
    `nobody` with no capabilities and `unshare --user` enters a new user namespace (left out
    with `user_ns=False`, for kernels that refuse unprivileged user namespaces).
    """
    root = os.geteuid() == 0
    command = [shutil.which("setpriv") or "setpriv", "--pdeathsig", "KILL", "--",
               shutil.which("bwrap") or "bwrap"]
    if root:
        command += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                    "--unshare-cgroup-try"]
    else:
        command += ["--unshare-all", "--unshare-user", "--disable-userns"]
    command += ["--die-with-parent", "--new-session", "--hostname", "sandbox",
                "--proc", "/proc", "--dev", "/dev",
                "--perms", "1777", "--size", str(scratch_mb * 2**20), "--tmpfs", SCRATCH]
    for link in SYSTEM_DIRS:  # /bin -> usr/bin and friends on merged-/usr systems
        if os.path.islink(link):
            command += ["--symlink", os.readlink(link), link]
    made = {"/"}
    for path in needed_paths():
        parts = path.strip("/").split("/")
        for i in range(1, len(parts)):  # parents traversable by the unprivileged uid
            parent = "/" + "/".join(parts[:i])
            if parent not in made and parent != SCRATCH:
                command += ["--perms", "0755", "--dir", parent]
                made.add(parent)
        command += ["--ro-bind", path, path]
        made.add(path)
    command += ["--remount-ro", "/", "--chdir", SCRATCH, "--clearenv"]
    for key, value in THREADS_ENV.items():
        command += ["--setenv", key, value]
    command.append("--")
    if root:
        command += [shutil.which("setpriv") or "setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
                    "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs",
                    "--"]
        if user_ns:
            command += [shutil.which("unshare") or "unshare", "--user", "--"]
    return command + list(argv)


def as_user_command(argv: list[str], uid: int = NOBODY, gid: int = NOBODY) -> list[str]:
    """Root only (tests of the unprivileged path): run `argv` as `uid` in a mount namespace
    where the file system is as here, except `/root` and `/home`, which show only the
    interpreter, the environment and the package sources (so that `uid` can run Python
    installed under a private home). No other namespace: `argv` sets up its own sandbox."""
    if os.geteuid() != 0:
        raise PermissionError("as_user_command switches users and needs root")
    command = [shutil.which("bwrap") or "bwrap", "--die-with-parent", "--bind", "/", "/",
               "--dev-bind", "/dev", "/dev"]
    for hidden in ("/root", "/home"):
        if os.path.isdir(hidden) and not os.path.islink(hidden):
            command += ["--tmpfs", hidden]
    for path in needed_paths():
        if path.startswith(("/root/", "/home/")):
            top = "/".join(path.split("/")[:3])  # e.g. /root/.pyenv, traversable once bound
            if top not in command:
                command += ["--ro-bind", top, top]
    return command + ["--", shutil.which("setpriv") or "setpriv", f"--reuid={uid}",
                      f"--regid={gid}", "--clear-groups", "--inh-caps=-all",
                      "--bounding-set=-all", "--", *argv]


def _runs(command: list[str]) -> str | None:
    try:
        done = subprocess.run(command, capture_output=True, check=False, timeout=30, cwd="/",
                              env={})
    except (OSError, subprocess.SubprocessError) as error:
        return str(error)
    return None if done.returncode == 0 else done.stderr.decode(errors="replace").strip()[:200]


@functools.lru_cache(maxsize=1)
def _probe() -> tuple[str | None, bool]:
    """(what is missing or None, whether the user namespace holds), tried once per process."""
    if shutil.which("bwrap") is None:
        return "bwrap", False
    if shutil.which("setpriv") is None or shutil.which("unshare") is None:
        return "setpriv", False
    error = _runs(bwrap_command([sys.executable, "-c", "pass"]))
    if error is None:
        return None, True
    if os.geteuid() == 0 and _runs(bwrap_command([sys.executable, "-c", "pass"], user_ns=False)) is None:
        return None, False  # as root every other layer holds; `nobody` may not unshare users
    return f"userns ({error})", False


def bwrap_works() -> str | None:
    """None when bubblewrap can start a sandbox here (as the user evaluations run as), else the
    name of what is missing ("bwrap", "setpriv" or "userns") with the error."""
    return _probe()[0]


def child_command(argv: list[str]) -> tuple[list[str], dict, str]:
    """(command, extra Popen kwargs, mode) starting the child: "bwrap" or the "direct" fallback."""
    if bwrap_works() is None:
        return bwrap_command(argv, user_ns=_probe()[1]), {}, "bwrap"
    setpriv = shutil.which("setpriv")
    return ([setpriv, "--pdeathsig", "KILL", "--", *argv] if setpriv else argv), {}, "direct"


def layers_of(mode: str, child: dict) -> dict[str, bool]:
    """Which layers held for one evaluation: the parent's own configuration for the bwrap
    layers, and the child's report for Landlock and seccomp (booleans only, anything else
    counts as missing)."""
    def said(key: str) -> bool:
        return child.get(key) is True

    if mode == "bwrap":
        held = dict.fromkeys(LAYERS[:11], True)
        held["user_ns"] = _probe()[1]
    else:
        held = dict.fromkeys(LAYERS[:11], False)
        held.update(net_ns=said("net_ns"), unprivileged_uid=said("unprivileged_uid"),
                    rlimits=True)
    held.update(landlock=said("landlock"), seccomp=said("seccomp"))
    return held


def missing_layers(layers: dict[str, bool]) -> dict[str, str]:
    """Each layer that did not hold -> how to get it."""
    missing = {}
    reason = bwrap_works()
    for layer in LAYERS:
        if not layers.get(layer):
            need = LAYER_NEEDS[layer]
            if need == "userns" and reason is not None and reason.startswith(("bwrap", "setpriv")):
                need = reason.split()[0]
            missing[layer] = HOW_TO[need]
    return missing
