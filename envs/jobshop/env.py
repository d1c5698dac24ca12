"""`JobShopEnv`: job-shop scheduling as a dispatching game (registered as ``discoverygym/JobShop-v0``).

Game
----
An episode schedules one instance (J jobs, M machines, every job a route of operations). At each
decision the agent picks a **job**; the job's next unscheduled operation is placed at its
*earliest feasible start* given the operations already placed, and never moves afterwards. After
J x (operations per job) decisions every operation is placed and the episode terminates with a
feasible schedule. Every decision is kept (also when one job is left); there is no truncation.

Left-shift insertion (``left_shift=True``, the default, as in L2D, Zhang et al. 2020): the
operation goes into the earliest idle gap of its machine that starts no earlier than the job's
ready time (end of its previous operation) and is long enough; otherwise after the machine's last
operation (zero-length operations, as in orb07, then occupy no machine time and start when their
job is ready). Gaps only shrink once an operation is placed, so every schedule built is *active*: no
operation can be started earlier without delaying another. With ``left_shift=False`` the
operation starts at ``max(job ready time, machine ready time)`` (appending: semi-active schedules,
each machine processes its operations in dispatch order).

Construction (kwargs, also through ``gym.make``)
------------------------------------------------
* ``instance``: a name (``"ta01"``, ``"random-10x10:seed=0"``), a file path or a
  `JobShopInstance`: every episode plays it.
* ``dataset``: a set name (``"taillard-15x15"``, ``"ft"``, ``"la"``, ``"all"``, a comma list of
  names) or a generator spec (``"random-10x10"``: a fresh Taillard-style instance per episode,
  its seed drawn from the env's RNG and kept in its name ``random-10x10:seed=S``, loadable;
  ``"random-10x10:seed=0,n=100"``: a fixed set of 100). One instance is drawn per episode with
  ``self.np_random``. Default when neither is given: ``dataset="random-10x10"``.
* ``render_mode``: None, ``"ansi"`` (text Gantt chart) or ``"rgb_array"`` (matplotlib Gantt chart).
* ``left_shift`` (bool, default True): see above.
* ``normalize_reward`` (bool, default False): divide rewards by the episode's time scale (below).
* ``illegal_action_penalty`` (finite float >= 0, default 0): subtracted from the reward of an
  illegal action.

Unknown options raise `TypeError` listing the known ones; padded sizes whose arrays would exceed
`MEMORY_LIMIT_BYTES` (``dataset="random-100000000x100000000"``) are refused.

``reset(seed=None, options=None)``: ``options={"instance": name_or_instance}`` plays that
instance in this episode (it must fit the padded sizes below); other keys raise `ValueError`.

Observation: ``Dict`` of fixed-shape arrays (no nesting; SB3's ``MultiInputPolicy`` accepts it)
-----------------------------------------------------------------------------------------------
Sizes are padded to ``J = max jobs`` and ``M = max machines`` over the instances the env can
play; padded jobs and machines are all zeros and never legal. Time-valued features are divided
by the episode's *time scale* ``T`` = the instance's trivial lower bound (max of the longest job
and the most loaded machine), so every completed schedule has makespan >= 1 on that scale.
Durations and work are <= 1 on this scale (a job is no longer than T, a machine's load no more
than T) and times are <= M (every time is at most the sum of all durations, <= M x T); these are
the Box bounds.

* ``"jobs"``: float32, shape (J, 8), one row per job, columns (`JOB_FEATURES`):
  0 ``next_duration``: duration of the job's next operation / T (0 when the job is finished);
  1 ``next_machine``: machine of the next operation / max(M_instance - 1, 1) (0 when finished);
  2 ``remaining_work``: total duration of the job's unscheduled operations / T;
  3 ``remaining_ops``: unscheduled operations / operations per job, in [0, 1];
  4 ``ready_time``: end of the job's last placed operation / T (its completion when finished);
  5 ``earliest_start``: the start the next operation would get if dispatched now (with the
    insertion rule in force) / T (the ready time when finished);
  6 ``machine_ready``: end of the last operation on the next operation's machine / T (0 when finished);
  7 ``machine_remaining_work``: unscheduled work of that machine / T (0 when finished).
* ``"machines"``: float32, shape (M, 4), one row per machine (`MACHINE_FEATURES`):
  0 ``ready_time``: end of its last placed operation / T;
  1 ``remaining_work``: total duration of its unscheduled operations / T;
  2 ``remaining_ops``: fraction of its operations still unscheduled, in [0, 1];
  3 ``utilisation``: busy time / ready time, in [0, 1] (0 before its first operation).
* ``"action_mask"``: int8, shape (J,) (``MultiBinary(J)``): 1 for jobs with operations left.

Action: ``Discrete(J)``, the job to dispatch. Legal: a job of the instance with operations left
(``action_masks()`` (bool) and ``info["action_mask"]`` (int8)). An illegal action inside the space
(a finished job, a padded job) does not raise (the env contract, `discoverygym.envs.contract`):
the lowest-index legal job is dispatched instead, ``info["illegal_action"] = True`` and
``illegal_action_penalty`` is subtracted. An action outside the space (an integer outside
0..J-1, a float, a bool, a string) raises `InvalidActionError`, a ValueError naming it.

Reward: dense, ``LB_before - LB_after`` where ``LB = max_j (ready time_j + remaining work_j)`` is
the makespan lower bound of the partial schedule (L2D's bound). Placing an operation can only
raise the bound, so every reward is <= 0, and the undiscounted return is ``LB_initial - makespan``
(the initial bound is the longest job): minus the makespan up to an instance constant. With
``normalize_reward=True`` rewards are divided by T; an illegal action also pays
``illegal_action_penalty``.

``info``: on reset ``"action_mask"``, ``"illegal_action"`` (False) and ``"instance"`` (the name; for
generated instances ``random-JxM:seed=S``, loadable with `load_instance`); on every step
``"action_mask"`` and ``"illegal_action"``. At termination also ``"instance"``, ``"makespan"``,
``"lower_bound"``, ``"upper_bound"`` (best known bounds, None if unknown), ``"optimal"`` (bounds
proven equal), ``"gap_pct"`` (100 (makespan - upper_bound) / upper_bound, None without a bound;
also as the contract's ``"metric"``, with ``"metric_name" = "gap_pct"``) and ``"starts"`` (int64,
jobs x operations: the schedule, checkable with `checker.check_schedule`).

Passes ``gymnasium.utils.env_checker.check_env`` and SB3's ``check_env`` (SB3 only warns that the
(J, 8) and (M, 4) arrays are not 1-D: they are kept 2-D on purpose for per-job/per-machine
networks; ``MultiInputPolicy`` flattens them). Speed: about 50k steps/s on ta01 with random legal
actions (``discoverygym bench jobshop``), state updated incrementally (only the dispatched job, its
machine and the jobs waiting for that machine change).
"""

from __future__ import annotations

from bisect import bisect_right
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from discoverygym.envs.contract import (
    check_memory,
    check_reset_options,
    discrete_action,
    finite_number,
    reject_unknown_kwargs,
)
from discoverygym.envs.jobshop.instances import (
    OPERATION_BYTES,
    JobShopInstance,
    generate_instance,
    load_instance,
    resolve_dataset,
)

JOB_FEATURES: tuple[str, ...] = (
    "next_duration",
    "next_machine",
    "remaining_work",
    "remaining_ops",
    "ready_time",
    "earliest_start",
    "machine_ready",
    "machine_remaining_work",
)
MACHINE_FEATURES: tuple[str, ...] = ("ready_time", "remaining_work", "remaining_ops", "utilisation")
METRIC_NAME = "gap_pct"


def final_info(instance: JobShopInstance, makespan: int, starts: np.ndarray) -> dict[str, Any]:
    """The info keys added at the end of an episode (single and batched envs alike)."""
    upper = instance.upper_bound
    gap = None if not upper else 100.0 * (makespan - upper) / upper
    return {
        "instance": instance.name,
        "makespan": makespan,
        "lower_bound": instance.lower_bound,
        "upper_bound": upper,
        "optimal": instance.optimal,
        "gap_pct": gap,
        "metric": gap,
        "metric_name": METRIC_NAME,
        "starts": starts,
    }


class JobShopEnv(gym.Env):
    """Job-shop scheduling by dispatching jobs; the full specification is the module docstring."""

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}
    metric_name = METRIC_NAME

    @reject_unknown_kwargs
    def __init__(
        self,
        instance: str | JobShopInstance | None = None,
        dataset: str | None = None,
        render_mode: str | None = None,
        left_shift: bool = True,
        normalize_reward: bool = False,
        illegal_action_penalty: float = 0.0,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode {render_mode!r} is not one of {self.metadata['render_modes']} or None")
        if instance is not None and dataset is not None:
            raise ValueError("pass either instance or dataset, not both")
        penalty = finite_number("illegal_action_penalty", illegal_action_penalty, minimum=0.0)
        if instance is not None and not isinstance(instance, (str, Path, JobShopInstance)):
            raise TypeError(
                f"instance must be a name, a path or a JobShopInstance, got "
                f"{type(instance).__name__} {instance!r}"
            )
        if dataset is not None and not isinstance(dataset, str):
            raise TypeError(f"dataset must be a set name (str), got {type(dataset).__name__} {dataset!r}")
        self.render_mode = render_mode
        self.left_shift = bool(left_shift)
        self.normalize_reward = bool(normalize_reward)
        self.illegal_action_penalty = penalty

        self._instances: list[JobShopInstance] = []
        self._generator: tuple[int, int] | None = None
        if instance is not None:
            self._instances = [instance if isinstance(instance, JobShopInstance) else load_instance(instance)]
            self.dataset = self._instances[0].name
        else:
            self.dataset = dataset if dataset is not None else "random-10x10"
            resolved = resolve_dataset(self.dataset)
            if isinstance(resolved, tuple):
                self._generator = resolved
            else:
                self._instances = [load_instance(name) for name in resolved]
        if self._generator is not None:
            self.num_jobs, self.num_machines = self._generator
        else:
            self.num_jobs = max(i.num_jobs for i in self._instances)
            self.num_machines = max(i.num_machines for i in self._instances)

        J, M = self.num_jobs, self.num_machines
        operations = max([i.num_operations for i in self._instances] + [M])
        check_memory(
            f"a job-shop env padded to {J} jobs x {M} machines ({OPERATION_BYTES} bytes per operation)",
            (J * operations + J + M) * OPERATION_BYTES,
        )
        # Times are < M on the scale T: every start/end is at most the sum of all durations <= M * T.
        job_high = np.ones((J, len(JOB_FEATURES)), dtype=np.float32)
        job_high[:, 4:7] = M
        machine_high = np.ones((M, len(MACHINE_FEATURES)), dtype=np.float32)
        machine_high[:, 0] = M
        self.observation_space = spaces.Dict(
            {
                "jobs": spaces.Box(0.0, job_high, dtype=np.float32),
                "machines": spaces.Box(0.0, machine_high, dtype=np.float32),
                "action_mask": spaces.MultiBinary(J),
            }
        )
        self.action_space = spaces.Discrete(J)
        self.instance: JobShopInstance | None = None

    # ------------------------------------------------------------------ episode set-up
    def _draw_instance(self, options: dict[str, Any]) -> JobShopInstance:
        choice = options.get("instance")
        if choice is not None:
            if not isinstance(choice, (str, Path, JobShopInstance)):
                raise TypeError(
                    f"reset option 'instance' must be a name, a path or a JobShopInstance, got "
                    f"{type(choice).__name__} {choice!r}"
                )
            instance = choice if isinstance(choice, JobShopInstance) else load_instance(choice)
            if instance.num_jobs > self.num_jobs or instance.num_machines > self.num_machines:
                raise ValueError(
                    f"options['instance'] {instance.name} is {instance.num_jobs}x{instance.num_machines}, "
                    f"larger than this env's padded size {self.num_jobs}x{self.num_machines}"
                )
            return instance
        if self._generator is not None:
            jobs, machines = self._generator
            seed = int(self.np_random.integers(2**63 - 1))
            return generate_instance(jobs, machines, seed, name=f"random-{jobs}x{machines}:seed={seed}")
        if len(self._instances) == 1:
            return self._instances[0]
        return self._instances[int(self.np_random.integers(len(self._instances)))]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        options = check_reset_options(options, ["instance"])
        super().reset(seed=seed)
        inst = self.instance = self._draw_instance(options)
        J, O, M = inst.num_jobs, inst.num_operations, inst.num_machines
        self._route = inst.machines.tolist()
        self._dur = inst.durations.tolist()
        self._J, self._O = J, O
        scale = float(max(inst.trivial_lower_bound, 1))
        self._scale, self._inv = scale, 1.0 / scale
        self._mnorm = 1.0 / max(M - 1, 1)
        self._next_op = [0] * J
        self._job_ready = [0] * J
        self._rem_work = [int(x) for x in inst.durations.sum(axis=1).tolist()]
        loads = np.bincount(inst.machines.ravel(), inst.durations.ravel(), minlength=M).astype(np.int64)
        counts = np.bincount(inst.machines.ravel(), minlength=M)
        self._mach_rem = loads.tolist()
        self._mach_left = counts.tolist()
        self._mach_inv_count = [1.0 / c if c else 0.0 for c in counts.tolist()]
        self._mach_busy = [0] * M
        self._mach_starts: list[list[int]] = [[] for _ in range(M)]
        self._mach_ends: list[list[int]] = [[] for _ in range(M)]
        self._waiting: list[set[int]] = [set() for _ in range(M)]
        self._starts = np.full((J, O), -1, dtype=np.int64)
        self._lb = max(self._rem_work) if J else 0
        self._lb_initial = self._lb
        self._left = J * O

        self._jobs = np.zeros((self.num_jobs, len(JOB_FEATURES)), dtype=np.float32)
        self._machines = np.zeros((self.num_machines, len(MACHINE_FEATURES)), dtype=np.float32)
        self._mask = np.zeros(self.num_jobs, dtype=np.int8)
        for m in range(M):
            self._machines[m] = (0.0, self._mach_rem[m] * self._inv, 1.0 if counts[m] else 0.0, 0.0)
        for j in range(J):
            if O:
                self._waiting[self._route[j][0]].add(j)
                self._mask[j] = 1
            self._job_row(j)
        obs = self._obs()
        return obs, {"action_mask": obs["action_mask"], "illegal_action": False, "instance": inst.name}

    # ----------------------------------------------------------------------- mechanics
    def _earliest(self, m: int, ready: int, d: int) -> tuple[int, int]:
        """(start, insertion index) of an operation of duration d, ready at `ready`, on machine m."""
        ends = self._mach_ends[m]
        if not ends or ready >= ends[-1] or not self.left_shift:
            return max(ready, ends[-1] if ends else 0), len(ends)
        if d == 0:  # occupies no machine time: starts when its job is ready
            return ready, -1
        starts = self._mach_starts[m]
        first = bisect_right(ends, ready)  # operations before `first` end by `ready`
        previous = ready
        for i in range(first, len(starts)):
            if previous + d <= starts[i]:
                return previous, i
            if ends[i] > previous:
                previous = ends[i]
        return previous, len(starts)

    def _job_row(self, j: int) -> None:
        """Rewrite job j's feature row from the scalar state."""
        k, inv = self._next_op[j], self._inv
        ready = self._job_ready[j]
        if k < self._O:
            m, d = self._route[j][k], self._dur[j][k]
            ends = self._mach_ends[m]
            start = self._earliest(m, ready, d)[0]
            self._jobs[j] = (
                d * inv,
                m * self._mnorm,
                self._rem_work[j] * inv,
                (self._O - k) / self._O,
                ready * inv,
                start * inv,
                (ends[-1] if ends else 0) * inv,
                self._mach_rem[m] * inv,
            )
        else:
            self._jobs[j] = (0.0, 0.0, 0.0, 0.0, ready * inv, ready * inv, 0.0, 0.0)

    def _obs(self) -> dict[str, np.ndarray]:
        return {"jobs": self._jobs.copy(), "machines": self._machines.copy(), "action_mask": self._mask.copy()}

    def action_masks(self) -> np.ndarray:
        """Legal jobs as a bool array of shape (J,) (sb3-contrib's MaskablePPO calls this)."""
        return self._mask.astype(bool)

    def step(self, action):
        if self.instance is None:
            raise RuntimeError("call reset() before step()")
        if self._left == 0:
            raise RuntimeError("the episode is over (terminated); call reset()")
        j = discrete_action(action, self.num_jobs)
        illegal = j >= self._J or self._next_op[j] >= self._O
        if illegal:
            j = next(i for i in range(self._J) if self._next_op[i] < self._O)

        k = self._next_op[j]
        m, d = self._route[j][k], self._dur[j][k]
        start, index = self._earliest(m, self._job_ready[j], d)
        end = start + d
        if d or not self.left_shift:  # with insertion, zero-length operations block no machine
            self._mach_starts[m].insert(index, start)
            self._mach_ends[m].insert(index, end)
        self._starts[j, k] = start
        self._next_op[j] = k + 1
        self._job_ready[j] = end
        self._rem_work[j] -= d
        self._mach_rem[m] -= d
        self._mach_left[m] -= 1
        self._mach_busy[m] += d
        self._left -= 1
        self._waiting[m].discard(j)
        if k + 1 < self._O:
            self._waiting[self._route[j][k + 1]].add(j)
        else:
            self._mask[j] = 0

        inv = self._inv
        ready_m = self._mach_ends[m][-1] if self._mach_ends[m] else 0
        self._machines[m] = (
            ready_m * inv,
            self._mach_rem[m] * inv,
            self._mach_left[m] * self._mach_inv_count[m],
            self._mach_busy[m] / ready_m if ready_m else 0.0,
        )
        self._job_row(j)
        for other in self._waiting[m]:
            self._job_row(other)

        estimate = end + self._rem_work[j]
        reward = 0.0
        if estimate > self._lb:
            reward = float(self._lb - estimate)
            self._lb = estimate
        if self.normalize_reward:
            reward *= inv
        if illegal:
            reward -= self.illegal_action_penalty
        obs = self._obs()
        info: dict[str, Any] = {"action_mask": obs["action_mask"], "illegal_action": illegal}
        terminated = self._left == 0
        if terminated:
            info.update(self._final_info())
        return obs, reward, terminated, False, info

    def _final_info(self) -> dict[str, Any]:
        return final_info(self.instance, int(self._lb), self._starts.copy())

    # ---------------------------------------------------------------------- accessors
    @property
    def starts(self) -> np.ndarray:
        """Start times placed so far (jobs x operations, -1 where unscheduled)."""
        return self._starts.copy()

    @property
    def makespan_lower_bound(self) -> int:
        """The current bound max_j(ready_j + remaining work_j) (the makespan once terminated)."""
        return int(self._lb)

    def render(self):
        if self.render_mode is None or self.instance is None:
            return None
        from discoverygym.envs.jobshop import render

        title = f"{self.instance.name}: bound {self._lb}, {self._J * self._O - self._left}/{self._J * self._O} placed"
        if self.render_mode == "ansi":
            text = render.gantt_text(self.instance, self._starts, horizon=self._lb)
            return f"{text}\nmakespan lower bound {self._lb}"
        return render.gantt_rgb(self.instance, self._starts, title=title)
