"""`JobShopVectorEnv`: the job-shop dispatching game batched in numpy, one array row per sub-env.

``gym.make_vec("discoverygym/JobShop-v0", num_envs=N, vectorization_mode="vector_entry_point",
**kwargs)`` builds it (entry point ``discoverygym.envs.jobshop.vector:JobShopVectorEnv``). It
takes the single env's kwargs (`JobShopEnv`, whose docstring is the game's specification) and
reproduces ``SyncVectorEnv`` over N single envs exactly: same seeds give the same observations,
rewards, terminations, truncations, infos and masks (see `discoverygym.envs.batched`).

State (N sub-envs, J jobs, M machines and K operations per machine at most, padded):

* the instances the sub-envs can play sit in tables (route, durations and the episode's
  initial features, precomputed per instance), so a reset is a gather; generator datasets
  (``random-JxM``) write each fresh instance into the sub-env's own table slot;
* each (sub-env, machine) keeps its placed operations as intervals sorted by start:
  ``_starts_m`` (N, M, K+1) with +inf padding and ``_ends_m`` (N, M, K+2) shifted by one (a
  leading 0), so the earliest gap of length d starting at or after ready time r is the first
  column k with ``max(r, end[k-1]) + d <= start[k]``: one vectorised scan, and a placement is
  a vectorised shifted insert;
* the earliest start of every job's next operation is cached and only recomputed, with its
  feature row, for the jobs whose next machine is the one just used and the dispatched job
  (the single env's incremental rule), so a step costs O(N * (J + affected * K)).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from discoverygym.envs.batched import BatchedVectorEnv
from discoverygym.envs.contract import check_reset_options, reject_unknown_kwargs
from discoverygym.envs.jobshop.env import JOB_FEATURES, MACHINE_FEATURES, JobShopEnv, final_info
from discoverygym.envs.jobshop.instances import JobShopInstance, generate_instance, load_instance

__all__ = ["JobShopVectorEnv"]

_INF = np.int32(2**30)  # padding start of the interval tables (times stay below 2**30)
_EPISODE_STATE = (
    "_inst", "_next", "_nextm", "_ready", "_rem", "_est", "_ins", "_sched", "_mrem", "_mleft",
    "_mbusy", "_mready", "_mcount", "_starts_m", "_ends_m", "_lb", "_left", "_jobs", "_machines",
    "_maskb", "_autoreset",
)
"""The per-sub-env arrays (one row per sub-env) that hold an episode's state."""


class JobShopVectorEnv(BatchedVectorEnv):
    """N job-shop dispatching games stepped together (see the module docstring)."""

    @reject_unknown_kwargs
    def __init__(
        self,
        num_envs: int = 1,
        instance: str | JobShopInstance | None = None,
        dataset: str | None = None,
        render_mode: str | None = None,
        left_shift: bool = True,
        normalize_reward: bool = False,
        illegal_action_penalty: float = 0.0,
    ) -> None:
        single = JobShopEnv(
            instance=instance,
            dataset=dataset,
            render_mode=render_mode,
            left_shift=left_shift,
            normalize_reward=normalize_reward,
            illegal_action_penalty=illegal_action_penalty,
        )
        super().__init__(num_envs, single)
        n = self.num_envs
        self.left_shift = single.left_shift
        self.normalize_reward = single.normalize_reward
        self.illegal_action_penalty = single.illegal_action_penalty
        self.num_jobs, self.num_machines = single.num_jobs, single.num_machines
        self._generator = single._generator
        fixed = list(single._instances)
        J, M = self.num_jobs, self.num_machines
        self._O = max([inst.num_operations for inst in fixed] + [M if self._generator else 1])
        per_machine = [
            int(np.bincount(i.machines.ravel(), minlength=M).max(initial=0)) for i in fixed
        ]
        # a generated instance visits each machine once per job; options may bring others
        self._K = (
            max(per_machine + [J, 1]) if self._generator or not fixed else max(per_machine + [1])
        )
        self._fixed = fixed
        slots = len(fixed) + (n if self._generator else 0)
        self._alloc_tables(slots)
        if fixed:
            self._write_slots(np.arange(len(fixed)), fixed)
        self._slot_of = {inst.name: slot for slot, inst in enumerate(fixed)}
        self._option_slots: dict[Any, int] = {}
        self._instances: list[JobShopInstance | None] = [None] * n
        O, K = self._O, self._K
        self._inst = np.zeros(n, dtype=np.int64)
        self._next = np.zeros((n, J), dtype=np.int64)
        self._nextm = np.full((n, J), -1, dtype=np.int64)
        self._ready = np.zeros((n, J), dtype=np.int64)
        self._rem = np.zeros((n, J), dtype=np.int64)
        self._est = np.zeros((n, J), dtype=np.int64)
        self._ins = np.zeros((n, J), dtype=np.int64)
        self._sched = np.full((n, J, O), -1, dtype=np.int64)
        self._mrem = np.zeros((n, M), dtype=np.int64)
        self._mleft = np.zeros((n, M), dtype=np.int64)
        self._mbusy = np.zeros((n, M), dtype=np.int64)
        self._mready = np.zeros((n, M), dtype=np.int64)
        self._mcount = np.zeros((n, M), dtype=np.int64)
        self._starts_m = np.full((n, M, K + 1), _INF, dtype=np.int32)
        self._ends_m = np.zeros((n, M, K + 2), dtype=np.int32)
        self._lb = np.zeros(n, dtype=np.int64)
        self._left = np.zeros(n, dtype=np.int64)
        self._jobs = np.zeros((n, J, len(JOB_FEATURES)), dtype=np.float32)
        self._machines = np.zeros((n, M, len(MACHINE_FEATURES)), dtype=np.float32)
        self._maskb = np.zeros((n, J), dtype=bool)
        self._cols = np.arange(K + 2)

    # ------------------------------------------------------------------ instance tables

    def _alloc_tables(self, slots: int) -> None:
        J, M, O = self.num_jobs, self.num_machines, self._O
        self._t_route = np.zeros((slots, J, O), dtype=np.int64)
        self._t_dur = np.zeros((slots, J, O), dtype=np.int64)
        self._t_J = np.zeros(slots, dtype=np.int64)
        self._t_O = np.ones(slots, dtype=np.int64)
        self._t_inv = np.ones(slots, dtype=np.float64)
        self._t_mnorm = np.ones(slots, dtype=np.float64)
        self._t_invcount = np.zeros((slots, M), dtype=np.float64)
        self._t_loads = np.zeros((slots, M), dtype=np.int64)
        self._t_counts = np.zeros((slots, M), dtype=np.int64)
        self._t_work = np.zeros((slots, J), dtype=np.int64)
        self._t_jobs = np.zeros((slots, J, len(JOB_FEATURES)), dtype=np.float32)
        self._t_machines = np.zeros((slots, M, len(MACHINE_FEATURES)), dtype=np.float32)
        self._t_inst: list[JobShopInstance | None] = [None] * slots

    def _write_slot(self, slot: int, inst: JobShopInstance) -> None:
        """Store `inst` and its episode-start features (the single env's reset) in `slot`."""
        self._write_slots(np.array([slot]), [inst])

    def _write_slots(self, slots: np.ndarray, insts: list[JobShopInstance]) -> None:
        """Store `insts` and their episode-start features (the single env's reset), vectorised."""
        J, M, O = self.num_jobs, self.num_machines, self._O
        B = len(insts)
        route = np.zeros((B, J, O), dtype=np.int64)
        dur = np.zeros((B, J, O), dtype=np.int64)
        valid = np.zeros((B, J, O), dtype=bool)
        n_jobs = np.empty(B, dtype=np.int64)
        n_ops = np.empty(B, dtype=np.int64)
        n_machines = np.empty(B, dtype=np.int64)
        for b, inst in enumerate(insts):
            Ji, Oi, Mi = inst.num_jobs, inst.num_operations, inst.num_machines
            if Ji > J or Mi > M or Oi > O:
                raise ValueError(
                    f"instance {inst.name} is {Ji}x{Mi} with {Oi} operations per job, larger than "
                    f"this env's padded size {J}x{M} ({O} operations per job)"
                )
            route[b, :Ji, :Oi] = inst.machines
            dur[b, :Ji, :Oi] = inst.durations
            valid[b, :Ji, :Oi] = True
            n_jobs[b], n_ops[b], n_machines[b] = Ji, Oi, Mi
        flat = (np.arange(B)[:, None, None] * M + route)[valid]
        counts = np.bincount(flat, minlength=B * M).reshape(B, M)
        loads = np.bincount(flat, dur[valid], minlength=B * M).reshape(B, M).astype(np.int64)
        if counts.max(initial=0) > self._K:
            b = int(counts.max(axis=1).argmax())
            raise ValueError(
                f"instance {insts[b].name} has {int(counts[b].max())} operations on one machine; "
                f"this env holds at most {self._K}"
            )
        work = dur.sum(axis=2)
        # the time scale T: the instance's trivial lower bound (longest job, most loaded machine)
        scale = np.maximum(np.maximum(work.max(axis=1), loads.max(axis=1)), 1).astype(np.float64)
        inv = 1.0 / scale
        mnorm = 1.0 / np.maximum(n_machines - 1, 1)
        self._t_route[slots] = route
        self._t_dur[slots] = dur
        self._t_J[slots], self._t_O[slots] = n_jobs, n_ops
        self._t_inv[slots], self._t_mnorm[slots] = inv, mnorm
        self._t_loads[slots] = loads
        self._t_counts[slots] = counts
        self._t_invcount[slots] = np.where(counts > 0, 1.0 / np.maximum(counts, 1), 0.0)
        self._t_work[slots] = work
        machines = np.zeros((B, M, len(MACHINE_FEATURES)), dtype=np.float32)
        machines[:, :, 1] = loads * inv[:, None]
        machines[:, :, 2] = counts > 0
        self._t_machines[slots] = machines
        jobs = np.zeros((B, J, len(JOB_FEATURES)), dtype=np.float32)
        first_m, first_d = route[:, :, 0], dur[:, :, 0]
        live = valid[:, :, 0]
        jobs[:, :, 0] = first_d * inv[:, None]
        jobs[:, :, 1] = first_m * mnorm[:, None]
        jobs[:, :, 2] = work * inv[:, None]
        jobs[:, :, 3] = live
        jobs[:, :, 7] = np.take_along_axis(loads, first_m, axis=1) * inv[:, None] * live
        self._t_jobs[slots] = jobs
        for slot, inst in zip(slots.tolist(), insts):
            self._t_inst[slot] = inst

    # ------------------------------------------------------------------ hooks

    def _check_options(self, options: dict[str, Any]) -> None:
        check_reset_options(options, ["instance"])
        choice = options.get("instance")
        if choice is not None and not isinstance(choice, (str, JobShopInstance)):
            raise TypeError(
                f"reset option 'instance' must be a name or a JobShopInstance, got "
                f"{type(choice).__name__} {choice!r}"
            )

    def _reset_envs(self, ids: np.ndarray, options: dict[str, Any]) -> None:
        choice = options.get("instance")
        if choice is not None:
            slot = self._option_slot(choice)
            inst = self._t_inst[slot]
            self._inst[ids] = slot
            for i in ids.tolist():
                self._instances[i] = inst
        elif self._generator is not None:
            jobs, machines = self._generator
            insts = []
            for i in ids.tolist():
                seed = int(self._rngs[i].integers(2**63 - 1))
                inst = generate_instance(
                    jobs, machines, seed, name=f"random-{jobs}x{machines}:seed={seed}"
                )
                self._instances[i] = inst
                insts.append(inst)
            slots = len(self._fixed) + ids
            self._write_slots(slots, insts)
            self._inst[ids] = slots
        elif len(self._fixed) == 1:
            self._inst[ids] = 0
            for i in ids.tolist():
                self._instances[i] = self._fixed[0]
        else:
            count = len(self._fixed)
            for i in ids.tolist():
                slot = int(self._rngs[i].integers(count))
                self._inst[i] = slot
                self._instances[i] = self._fixed[slot]
        s = self._inst[ids]
        J = self.num_jobs
        self._next[ids] = 0
        self._nextm[ids] = np.where(
            np.arange(J)[None, :] < self._t_J[s, None], self._t_route[s, :, 0], -1
        )
        self._ready[ids] = 0
        self._rem[ids] = self._t_work[s]
        self._est[ids] = 0
        self._ins[ids] = 0
        self._sched[ids] = -1
        self._mrem[ids] = self._t_loads[s]
        self._mleft[ids] = self._t_counts[s]
        self._mbusy[ids] = 0
        self._mready[ids] = 0
        self._mcount[ids] = 0
        self._starts_m[ids] = _INF
        self._ends_m[ids] = 0
        self._lb[ids] = self._t_work[s].max(axis=1)
        self._left[ids] = self._t_J[s] * self._t_O[s]
        self._jobs[ids] = self._t_jobs[s]
        self._machines[ids] = self._t_machines[s]
        self._maskb[ids] = np.arange(J)[None, :] < self._t_J[s, None]

    def _option_slot(self, choice: str | JobShopInstance) -> int:
        """The table slot of an instance given through ``options`` (added on first use)."""
        if isinstance(choice, str):
            key: Any = ("name", choice)
            if key not in self._option_slots and choice in self._slot_of:
                return self._slot_of[choice]
        else:
            key = ("object", id(choice))  # the table keeps the object alive, so ids stay unique
        if key in self._option_slots:
            return self._option_slots[key]
        inst = choice if isinstance(choice, JobShopInstance) else load_instance(choice)
        slots = len(self._t_inst)
        old = {name: getattr(self, name) for name in self._table_names()}
        old_inst = self._t_inst
        self._alloc_tables(slots + 1)
        for name, array in old.items():
            getattr(self, name)[:slots] = array
        self._t_inst[:slots] = old_inst
        self._write_slot(slots, inst)
        self._option_slots[key] = slots
        return slots

    def _step_envs(
        self, ids: np.ndarray, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        J, M, O = self.num_jobs, self.num_machines, self._O
        sel = slice(None) if ids.size == self.num_envs else ids
        # out-of-range integers are illegal actions, as in the single env
        inside = (actions >= 0) & (actions < J)
        if not inside.all():
            actions = np.where(inside, actions, 0)
        legal = self._maskb.reshape(-1)[ids * J + actions] & inside
        j = actions
        if not legal.all():
            j = np.where(legal, actions, self._maskb[sel].argmax(axis=1))
        ij = ids * J + j
        k = self._next.reshape(-1)[ij]
        s = self._inst[sel]
        op = (s * J + j) * O + k
        m = self._t_route.reshape(-1)[op]
        d = self._t_dur.reshape(-1)[op]
        start = self._est.reshape(-1)[ij]
        end = start + d
        im = ids * M + m
        inserted = d > 0 if self.left_shift else np.ones(ids.size, dtype=bool)
        if inserted.any():
            rows = im[inserted] if not inserted.all() else im
            idx = self._ins.reshape(-1)[ij]
            if not inserted.all():
                idx = idx[inserted]
            self._insert(rows, idx, start[inserted], end[inserted])
        self._sched.reshape(-1)[(ids * J + j) * O + k] = start
        k1 = k + 1
        self._next.reshape(-1)[ij] = k1
        self._ready.reshape(-1)[ij] = end
        rem = self._rem.reshape(-1)[ij] - d
        self._rem.reshape(-1)[ij] = rem
        mrem = self._mrem.reshape(-1)[im] - d
        self._mrem.reshape(-1)[im] = mrem
        mleft = self._mleft.reshape(-1)[im] - 1
        self._mleft.reshape(-1)[im] = mleft
        busy = self._mbusy.reshape(-1)[im] + d
        self._mbusy.reshape(-1)[im] = busy
        ready_m = self._mready.reshape(-1)[im]
        ready_m = np.where(inserted, np.maximum(ready_m, end), ready_m)
        self._mready.reshape(-1)[im] = ready_m
        self._mcount.reshape(-1)[im] += inserted
        left = self._left[sel] - 1
        self._left[sel] = left
        Os = self._t_O[s]
        more = k1 < Os
        self._nextm.reshape(-1)[ij] = np.where(
            more, self._t_route.reshape(-1)[op + np.where(more, 1, 0)], -1
        )
        self._maskb.reshape(-1)[ij] = more

        inv = self._t_inv[s]
        mrow = np.empty((ids.size, 4), dtype=np.float64)
        mrow[:, 0] = ready_m * inv
        mrow[:, 1] = mrem * inv
        mrow[:, 2] = mleft * self._t_invcount.reshape(-1)[s * M + m]
        safe = np.where(ready_m > 0, ready_m, 1)
        mrow[:, 3] = np.where(ready_m > 0, busy / safe, 0.0)
        self._machines.reshape(-1, 4)[im] = mrow

        # jobs whose next operation is on machine m, and the dispatched job
        affected = self._nextm[sel] == m[:, None]
        affected.reshape(-1)[np.arange(ids.size) * J + j] = True
        flat = np.flatnonzero(affected)
        rows = flat // J
        self._refresh(ids[rows], flat - rows * J)

        estimate = end + rem
        lb = self._lb[sel]
        reward = np.where(estimate > lb, lb - estimate, 0).astype(np.float64)
        self._lb[sel] = np.maximum(lb, estimate)
        if self.normalize_reward:
            reward *= inv
        illegal = ~legal
        if self.illegal_action_penalty and illegal.any():
            reward[illegal] -= self.illegal_action_penalty
        terminated = left == 0
        return reward, terminated, np.zeros(ids.size, dtype=bool), illegal

    def _insert(
        self, rows: np.ndarray, idx: np.ndarray, start: np.ndarray, end: np.ndarray
    ) -> None:
        """Insert intervals [start, end) at sorted position `idx` of (sub-env * M + machine) rows."""
        K1 = self._K + 1
        S = self._starts_m.reshape(-1, K1)
        E = self._ends_m.reshape(-1, K1 + 1)
        count = self._mcount.reshape(-1)[rows]
        tail = idx == count
        if tail.all():  # appended after the machine's last operation: one write each
            S.reshape(-1)[rows * K1 + idx] = start
            E.reshape(-1)[rows * (K1 + 1) + idx + 1] = end
            return
        if tail.any():
            t = tail
            S.reshape(-1)[rows[t] * K1 + idx[t]] = start[t]
            E.reshape(-1)[rows[t] * (K1 + 1) + idx[t] + 1] = end[t]
            mid = ~tail
            rows, idx, start, end = rows[mid], idx[mid], start[mid], end[mid]
        c = min(int(self._mcount.reshape(-1)[rows].max()) + 2, K1)  # in use, +1 new, +1 pad
        cols = self._cols[:c]
        before = cols[None, :] < idx[:, None]
        at = cols[None, :] == idx[:, None]
        srow = np.take(S, rows, axis=0)[:, :c]
        shifted = np.empty_like(srow)
        shifted[:, 1:] = srow[:, :-1]
        srow = np.where(before, srow, np.where(at, start[:, None], shifted))
        S[rows, :c] = srow
        # ends sit one column to the right of their interval (column 0 is always 0)
        erow = np.take(E, rows, axis=0)[:, 1 : c + 1]
        shifted[:, 1:] = erow[:, :-1]
        E[rows, 1 : c + 1] = np.where(before, erow, np.where(at, end[:, None], shifted))

    def _refresh(self, pi: np.ndarray, pj: np.ndarray) -> None:
        """Recompute the earliest start and the feature row of jobs `pj` of sub-envs `pi`."""
        J, M, O = self.num_jobs, self.num_machines, self._O
        K1 = self._K + 1
        ij = pi * J + pj
        s = self._inst[pi]
        k = self._next.reshape(-1)[ij]
        Os = self._t_O[s]
        live = k < Os
        op = (s * J + pj) * O + np.minimum(k, O - 1)
        m = self._t_route.reshape(-1)[op]
        d = self._t_dur.reshape(-1)[op]
        if not live.all():
            d = np.where(live, d, 0)
        r = self._ready.reshape(-1)[ij]
        im = pi * M + m
        ready_m = self._mready.reshape(-1)[im]
        if self.left_shift:
            c = min(int(self._mcount.reshape(-1)[im].max()) + 1, K1)
            S = np.take(self._starts_m.reshape(-1, K1), im, axis=0)[:, :c]
            g = np.take(self._ends_m.reshape(-1, K1 + 1), im, axis=0)[:, :c]
            np.maximum(g, r[:, None].astype(np.int32), out=g)
            fit = (g + d[:, None].astype(np.int32)) <= S
            first = fit.argmax(axis=1)
            est = g[np.arange(first.size), first].astype(np.int64)
            est = np.where(d == 0, r, est)
            ins = first
        else:
            est = np.maximum(r, ready_m)
            ins = self._mcount.reshape(-1)[im]
        if not live.all():
            est = np.where(live, est, r)
        self._est.reshape(-1)[ij] = est
        self._ins.reshape(-1)[ij] = ins
        inv = self._t_inv[s]
        row = np.empty((pi.size, 8), dtype=np.float64)
        row[:, 0] = d * inv
        row[:, 1] = m * self._t_mnorm[s]
        row[:, 2] = self._rem.reshape(-1)[ij] * inv
        row[:, 3] = (Os - k) / Os
        row[:, 4] = r * inv
        row[:, 5] = est * inv
        row[:, 6] = ready_m * inv
        row[:, 7] = self._mrem.reshape(-1)[im] * inv
        if not live.all():
            row[~live] = 0.0
            row[~live, 4] = row[~live, 5] = (r * inv)[~live]
        self._jobs.reshape(-1, 8)[ij] = row

    def _observations(self) -> dict[str, np.ndarray]:
        return {
            "jobs": self._jobs.copy(),
            "machines": self._machines.copy(),
            "action_mask": self._maskb.astype(np.int8),
        }

    def _base_info(self, illegal: np.ndarray) -> dict[str, np.ndarray]:
        return {"action_mask": self._maskb.astype(np.int8), "illegal_action": illegal}

    def _reset_info(self, ids: np.ndarray) -> dict[str, np.ndarray]:
        names = np.empty(ids.size, dtype=object)
        names[:] = [self._instances[i].name for i in ids.tolist()]
        return {"instance": names}

    def _final_info(self, i: int) -> dict[str, Any]:
        inst = self._instances[i]
        return final_info(inst, int(self._lb[i]), self._sched[i, : inst.num_jobs, : inst.num_operations].copy())

    # ------------------------------------------------------------------ public

    def action_masks(self) -> np.ndarray:
        """Legal jobs of every sub-env, bool (num_envs, J) (MaskablePPO's hook, batched)."""
        return self._maskb.copy()

    def starts(self, i: int) -> np.ndarray:
        """Start times sub-env `i` placed so far (jobs x operations, -1 where unscheduled)."""
        inst = self._instances[i]
        return self._sched[i, : inst.num_jobs, : inst.num_operations].copy()

    def instance(self, i: int) -> JobShopInstance:
        """The instance sub-env `i` plays in its current episode."""
        return self._instances[i]

    def get_state(self) -> dict[str, Any]:
        """A copy of every sub-env's episode state and random generator, for `set_state` on this
        same env (the tables of benchmark instances are shared, not copied)."""
        if not self._started:
            raise RuntimeError("call reset() before get_state()")
        state: dict[str, Any] = {name: getattr(self, name).copy() for name in _EPISODE_STATE}
        state["_instances"] = list(self._instances)
        state["_rngs"] = copy.deepcopy(self._rngs)
        if self._generator is not None:  # each sub-env's own table slot, rewritten at its resets
            slots = self._generated_slots()
            state["_tables"] = {name: getattr(self, name)[slots].copy() for name in self._table_names()}
            state["_t_inst"] = [self._t_inst[slot] for slot in slots.tolist()]
        return state

    def set_state(self, state: dict[str, Any], source: int | None = None) -> dict[str, np.ndarray]:
        """Put every sub-env in the episode state of `state` (from `get_state` on this env):
        sub-env i takes row i, or with `source` every sub-env takes row `source` (copies of one
        schedule, to try different moves from). Returns the observations, as `reset` does.

        Look-ahead search uses it: a rollout continues from a saved schedule instead of
        replaying the moves that led there. Generated instances (``random-JxM`` datasets) are
        part of the state, so a state restores exactly after later resets too."""
        if not self._started:
            raise RuntimeError("call reset() before set_state()")
        if source is not None and not 0 <= source < len(state["_instances"]):
            raise ValueError(f"source {source} is not a sub-env of the state "
                             f"(it has {len(state['_instances'])})")
        if source is None and len(state["_instances"]) != self.num_envs:
            raise ValueError(f"the state has {len(state['_instances'])} sub-envs, this env "
                             f"{self.num_envs}: pass `source` to copy one of them")
        rows = np.arange(self.num_envs) if source is None else np.full(self.num_envs, source)
        for name in _EPISODE_STATE:
            getattr(self, name)[...] = state[name][rows]
        self._instances = [state["_instances"][row] for row in rows.tolist()]
        self._rngs = [copy.deepcopy(state["_rngs"][row]) for row in rows.tolist()]
        if self._generator is not None:
            slots = self._generated_slots()
            for name, saved in state["_tables"].items():
                getattr(self, name)[slots] = saved[rows]
            for slot, row in zip(slots.tolist(), rows.tolist()):
                self._t_inst[slot] = state["_t_inst"][row]
            own = state["_inst"][rows] == len(self._fixed) + rows  # its row's generated instance
            self._inst[own] = slots[own]
        return self._observations()

    def _generated_slots(self) -> np.ndarray:
        """The table slots where sub-envs 0..N-1 write their generated instances."""
        return len(self._fixed) + np.arange(self.num_envs)

    def _table_names(self) -> list[str]:
        """The instance tables' arrays (``_t_*``), one row per table slot."""
        return [name for name, value in vars(self).items()
                if name.startswith("_t_") and isinstance(value, np.ndarray)]

    @property
    def makespan_lower_bounds(self) -> np.ndarray:
        """Every sub-env's bound max_j(ready_j + remaining work_j) (the makespan once done)."""
        return self._lb.copy()

    def render(self) -> tuple[Any, ...] | None:
        """One frame per sub-env, as `SyncVectorEnv.render` returns."""
        if self.render_mode is None:
            return None
        from discoverygym.envs.jobshop import render

        frames = []
        for i in range(self.num_envs):
            inst, lb, starts = self._instances[i], int(self._lb[i]), self.starts(i)
            total = inst.num_jobs * inst.num_operations
            if self.render_mode == "ansi":
                text = render.gantt_text(inst, starts, horizon=lb)
                frames.append(f"{text}\nmakespan lower bound {lb}")
            else:
                placed = total - int(self._left[i])
                title = f"{inst.name}: bound {lb}, {placed}/{total} placed"
                frames.append(render.gantt_rgb(inst, starts, title=title))
        return tuple(frames)
