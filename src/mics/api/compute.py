"""Expensive requests (Monte Carlo footprints): how much a caller may ask, and where it runs.

A Monte Carlo iteration costs ~0.28 ms of CPU (bench machine), so one request
for 20,000 is ~5.6 s. Left as they were, six such requests without a key held
both cores of the bench machine for 57 s and passports took 5x as long. Here:

- **how much**: a request's *work* is its Monte Carlo iterations in all (for
  variants, iterations times variants). Without a key a request may ask for
  ``PUBLIC_WORK``; with any valid key, ``KEYED_WORK``. Beyond: 401 (a key is
  needed) or 422 (more than anyone may ask), naming the field and the limit.
- **kept**: a result is kept by its inputs (``footprint.service``): the same
  request, the public's defaults above all, costs one run.
- **where**: a run that is not kept and has work to do goes to a
  ``ComputePool`` of its own (``Settings.compute_workers`` threads), not to the
  AnyIO thread pool that every synchronous route shares, so passports, scans
  and the registry keep their threads. The pool takes a run only while a worker
  is free, or, for a keyed caller, while fewer than ``QUEUE`` runs wait; past
  that it answers 503 with ``Retry-After`` (RFC 9110 §15.6.4, §10.2.3), and
  nothing waits on the request threads.

The CLI calls the services directly: on its user's own machine no cap applies.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from mics.errors import InvalidInput, Unauthorized, Unavailable
from mics.footprint import service
from mics.registry.api_keys import Principal

__all__ = [
    "BUSY",
    "KEYED_WORK",
    "MAX_VARIANTS",
    "PUBLIC_WORK",
    "QUEUE",
    "RETRY_AFTER_S",
    "ComputePool",
    "run",
]

# Without a key: ~0.3 s of CPU a request, enough for the footprint page's own
# settings (500 iterations, and 200 for each of a product's demo variants, at most
# two) and the API's defaults, while a caller who varies the seed to defeat the
# kept results gets no more than that per request.
PUBLIC_WORK = 1_000
# With a key: the most the API ever allowed for one run (service.MAX_ITERATIONS,
# ~5.6 s); a comparison of n variants shares it (n x iterations).
KEYED_WORK = service.MAX_ITERATIONS
# Variants in one comparison: each one without Monte Carlo still costs a footprint
# and a circularity (~5 ms); the demo products have at most two.
MAX_VARIANTS = 8
# Keyed runs that may wait for a worker: at most ~2 x 5.6 s of waiting behind the
# longest run allowed, about what a client waits for an answer before giving up.
QUEUE = 2
# The longest run allowed takes ~6 s: by then a worker is free.
RETRY_AFTER_S = 6
BUSY: dict[int | str, dict[str, Any]] = {
    503: {"description": "the Monte Carlo workers are busy: try again after Retry-After seconds"}
}

Result = TypeVar("Result")
Result_co = TypeVar("Result_co", covariant=True)


class Run(Protocol[Result_co]):
    """A computation read and weighed but not run yet (``footprint.service``'s runs)."""

    @property
    def work(self) -> int: ...

    def cached(self) -> Result_co | None: ...

    def compute(self) -> Result_co: ...


class ComputePool:
    """Worker threads of their own for expensive runs, and a bounded queue in front."""

    def __init__(self, workers: int, queue: int = QUEUE) -> None:
        self.workers, self.queue = workers, queue
        self.taken = 0  # runs running or waiting
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    async def submit(self, work: Callable[[], Result], *, may_wait: bool) -> Result:
        """``work()`` on a worker; Unavailable (503) when no worker (or queue place) is free."""
        with self._lock:
            if self.taken >= self.workers + (self.queue if may_wait else 0):
                raise Unavailable(
                    f"all {self.workers} Monte Carlo worker(s) are busy"
                    + (f" and {self.queue} run(s) wait" if may_wait else "")
                    + f": try again in {RETRY_AFTER_S} s",
                    retry_after=RETRY_AFTER_S,
                )
            self.taken += 1
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.workers, "mics-compute")
            future = self._executor.submit(work)
        future.add_done_callback(self._release)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            future.cancel()  # the client left: a run still waiting is dropped
            raise

    def shutdown(self) -> None:
        """Drop the waiting runs; the running ones end on their own (threads cannot be stopped)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    def _release(self, _: Future[Any]) -> None:
        with self._lock:
            self.taken -= 1


async def run(
    request: Request, job: Run[Result], caller: Principal | None, *, field: str, value: int
) -> Result:
    """``job``'s result for ``caller`` (None: no key): checked, kept or run in the pool.

    ``field`` and ``value`` name the parameter a refusal points at.
    """
    work = job.work
    if caller is None and work > PUBLIC_WORK:
        raise Unauthorized(
            f"{field}: {work:,} Monte Carlo iterations in all need an API key; without one "
            f"a request may ask for {PUBLIC_WORK:,} (iterations x variants for comparisons)",
            field=field,
            value=value,
            expected=f"at most {PUBLIC_WORK} iterations in all without a key",
        )
    if work > KEYED_WORK:
        raise InvalidInput(
            f"{work:,} Monte Carlo iterations in all is more than one request may run "
            f"({KEYED_WORK:,}): ask for fewer iterations or fewer variants",
            field=field,
            value=value,
            expected=f"at most {KEYED_WORK} iterations in all (iterations x variants)",
        )
    kept = job.cached()
    if kept is not None:
        return kept
    if work == 0:  # a few milliseconds: the shared pool serves it like any other route
        return await run_in_threadpool(job.compute)
    return await pool(request).submit(job.compute, may_wait=caller is not None)


def pool(request: Request) -> ComputePool:
    """The app's pool (``create_app`` makes it; made here for apps built without it)."""
    found: ComputePool | None = getattr(request.app.state, "compute", None)
    if found is None:
        found = request.app.state.compute = ComputePool(request.app.state.settings.compute_workers)
    return found
