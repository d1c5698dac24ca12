"""Where evaluations run: an executor interface, a local pool and a Ray cluster.

`submit(fn, *args, **kwargs) -> concurrent.futures.Future`. `LocalExecutor` is a thread pool
sized to the cores whose threads each drive one sandbox *process* (the candidates never run in
the threads themselves), i.e. a process pool of hardened children. `RayExecutor` runs the same
function as Ray tasks (`ray.remote`), so evaluations spread over a Ray cluster; each task still
starts its own sandbox child on the node that runs it. `RaySamplers` puts the LLM samplers in
Ray actors (one model per actor) behind the `LLMBackend` interface.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol


class Executor(Protocol):
    """Runs evaluation calls asynchronously."""

    workers: int

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future: ...

    def shutdown(self) -> None: ...


class LocalExecutor:
    """A pool of `workers` concurrent sandbox processes on this machine (default: the cores)."""

    def __init__(self, workers: int | None = None):
        self.workers = max(1, workers or len(os.sched_getaffinity(0)))
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="dg-eval")

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        return self._pool.submit(fn, *args, **kwargs)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class RayExecutor:
    """Evaluations as Ray tasks (`ray.init(address)`; None starts or joins a local instance)."""

    def __init__(self, address: str | None = None, workers: int | None = None):
        try:
            import ray
        except ImportError as error:
            raise ImportError("the Ray executor needs ray: pip install 'ray[default]'") from error
        self._ray = ray
        if not ray.is_initialized():
            ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
        self.workers = workers or int(ray.cluster_resources().get("CPU", 1))
        self._remote = ray.remote(num_cpus=1)(_call)

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        return self._remote.remote(fn, args, kwargs).future()

    def shutdown(self) -> None:
        pass  # the cluster outlives the search


class RaySamplers:
    """An `LLMBackend` whose samples come from Ray actors, one backend per actor.

    `factory()` builds a backend inside each actor (e.g. `functools.partial(make_backend,
    "gemma-270m")`); `sample(prompt, n)` spreads the n samples over the actors in parallel.
    """

    def __init__(self, factory: Callable[[], Any], actors: int = 2, address: str | None = None,
                 actor_cpus: float = 1.0):
        import ray

        if not ray.is_initialized():
            ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
        self._ray = ray
        # Leave CPUs for the evaluation tasks: actors holding every CPU would starve them.
        actor_class = ray.remote(num_cpus=actor_cpus)(_SamplerActor)
        self._actors = [actor_class.remote(factory) for _ in range(max(1, actors))]
        self.name = ray.get(self._actors[0].name.remote())
        self._next = 0

    def sample(self, prompt: str, n: int = 1) -> list[str]:
        calls = []
        for _ in range(n):
            calls.append(self._actors[self._next % len(self._actors)].sample.remote(prompt))
            self._next += 1
        return [text for texts in self._ray.get(calls) for text in texts]


class _SamplerActor:
    def __init__(self, factory: Callable[[], Any]):
        self.backend = factory()

    def name(self) -> str:
        return self.backend.name

    def sample(self, prompt: str) -> list[str]:
        return self.backend.sample(prompt, 1)


def _call(fn: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    return fn(*args, **kwargs)


def make_executor(kind: str = "local", workers: int | None = None, address: str | None = None):
    """`local` or `ray` (KeyError-style message for anything else)."""
    if kind == "local":
        return LocalExecutor(workers)
    if kind == "ray":
        return RayExecutor(address, workers)
    raise ValueError(f"unknown executor {kind!r}; known: local, ray")
