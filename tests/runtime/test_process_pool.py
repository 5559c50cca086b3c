"""``mics.runtime.process_pool``: warm workers, used only where they win.

The capture's own tests of the pool (same rows as one process, workers that die, a
worker that is not ours, shutdown) are in tests/trace/test_parallel.py.
"""

from __future__ import annotations

import math
import operator
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mics.runtime import load as machine_load
from mics.runtime import process_pool, worker_process
from mics.trace import capture


@pytest.fixture(autouse=True)
def own_pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with no pool, workers allowed and no load of this process's own
    (earlier tests' captures), and ends its own pool."""
    process_pool.shutdown()
    monkeypatch.setattr(process_pool, "_failed", False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    monkeypatch.setattr(machine_load, "OWN_LOAD", machine_load.OwnLoad())  # earlier captures'
    yield
    process_pool.shutdown()


def load(monkeypatch: pytest.MonkeyPatch, one_minute: float) -> None:
    monkeypatch.setattr(os, "getloadavg", lambda: (one_minute, one_minute, one_minute))


def counted_starts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    starts: list[int] = []
    real = worker_process._Worker.__init__

    def counted(self: worker_process._Worker, *args: tuple[str, ...]) -> None:
        starts.append(1)
        real(self, *args)

    monkeypatch.setattr(worker_process._Worker, "__init__", counted)
    return starts


def test_by_default_workers_go_only_with_enough_items_and_a_spare_cpu(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(process_pool.WORKERS_ENV, raising=False)
    load(monkeypatch, 0.4)  # 2 CPUs, 1.6 spare
    assert process_pool.spare_cpus() == pytest.approx(1.6)
    assert process_pool.worth_it(process_pool.MIN_ITEMS)
    assert not process_pool.worth_it(process_pool.MIN_ITEMS - 1)
    assert not process_pool.worth_it(1)
    load(monkeypatch, 1.3)  # 0.7 spare: the writer alone keeps a CPU busy
    assert not process_pool.worth_it(process_pool.BUSY_ITEMS - 1)
    load(monkeypatch, 12.0)  # busy: only large work goes (the workers' share beats one)
    assert process_pool.worth_it(process_pool.BUSY_ITEMS)
    assert not process_pool.worth_it(process_pool.MIN_ITEMS)


def test_a_count_set_by_hand_is_used_whatever_the_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(process_pool.WORKERS_ENV, "2")
    load(monkeypatch, 12.0)
    assert process_pool.worth_it(2)
    assert not process_pool.worth_it(1)


def test_without_a_load_average_every_cpu_counts_as_spare(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unknown() -> tuple[float, float, float]:
        raise OSError("no load average here")

    monkeypatch.setattr(os, "getloadavg", unknown)
    assert process_pool.spare_cpus() == 2.0


def test_on_a_busy_machine_the_default_starts_no_worker_and_answers_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(process_pool.WORKERS_ENV, raising=False)
    load(monkeypatch, 5.0)
    starts = counted_starts(monkeypatch)
    results = list(process_pool.in_order(operator.mul, range(4), 3))
    assert results == [(n, n * 3) for n in range(4)]
    assert starts == []
    assert process_pool._pool is None


def test_warm_workers_are_ready_before_the_first_call_which_starts_no_other(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(process_pool.WORKERS_ENV, "2")
    starts = counted_starts(monkeypatch)
    assert process_pool.warm("mics.trace.prepare", wait=True)
    pool = process_pool._pool
    assert pool is not None
    assert len(starts) == 2
    assert pool.idle.qsize() == 2  # started, greeted, waiting
    assert not pool.cold()
    calls: list[int] = []
    real = worker_process._Worker.call

    def call(self: worker_process._Worker, payload: bytes) -> tuple[str, object]:
        calls.append(self.process.pid)
        return real(self, payload)

    monkeypatch.setattr(worker_process._Worker, "call", call)
    results = list(process_pool.in_order(operator.mul, range(8), 3))
    assert results == [(n, n * 3) for n in range(8)]
    assert len(starts) == 2  # no worker started by the call
    assert len(calls) == 8  # warm: every item went to a worker, none computed here
    assert set(calls) <= {w.process.pid for w in pool.workers}


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads /proc (Linux)")
def test_a_warm_worker_imports_what_it_will_run_before_it_greets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(process_pool.WORKERS_ENV, "1")
    assert process_pool.warm("mics.trace.prepare", wait=True)
    pool = process_pool._pool
    assert pool is not None
    (worker,) = pool.workers
    command = Path(f"/proc/{worker.process.pid}/cmdline").read_bytes().split(b"\0")
    assert b"mics.trace.prepare" in command
    assert b"from mics.runtime.worker_process import _main; _main()" in command


def test_warm_does_nothing_without_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(process_pool.WORKERS_ENV, "0")
    assert not process_pool.warm("mics.trace.prepare")
    assert process_pool._pool is None


def test_capture_starts_its_workers_for_a_large_document_when_a_cpu_is_spare(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(process_pool.WORKERS_ENV, raising=False)
    starts = counted_starts(monkeypatch)
    load(monkeypatch, 3.0)
    assert not capture.start_workers()
    assert not capture.start_workers(capture.LARGE_DOCUMENT_BYTES)  # 3 batches, busy
    assert process_pool._pool is None
    load(monkeypatch, 0.2)
    assert not capture.start_workers(capture.LARGE_DOCUMENT_BYTES // 2)  # too small anyway
    assert capture.start_workers()
    pool = process_pool._pool
    assert pool is not None
    assert pool.size == 2
    process_pool.shutdown()  # waits for the warming thread's workers, then ends them
    assert len(starts) <= 2


def test_this_process_own_captures_do_not_count_as_a_busy_machine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(process_pool.WORKERS_ENV, raising=False)
    own = machine_load.OwnLoad()
    own.average = 2.5  # a capture with 2 workers just ended here
    monkeypatch.setattr(machine_load, "OWN_LOAD", own)
    load(monkeypatch, 2.7)  # all but 0.2 of it ours
    assert process_pool.spare_cpus() == pytest.approx(1.8, abs=0.01)
    assert process_pool.worth_it(process_pool.MIN_ITEMS)
    own.average = 0.0
    assert not process_pool.worth_it(process_pool.MIN_ITEMS)  # the same load, from others


def test_the_own_load_decays_as_the_kernel_one_minute_average() -> None:
    own = machine_load.OwnLoad()
    own.change(+3)
    own.at -= 60.0  # three busy for a minute, from zero
    assert own.value() == pytest.approx(3 * (1 - math.exp(-1)), rel=1e-3)
    own.change(-3)
    own.at -= 120.0  # then idle for two minutes
    assert own.value() == pytest.approx(3 * (1 - math.exp(-1)) * math.exp(-2), rel=1e-3)


def test_calls_and_busy_workers_raise_the_own_load_while_they_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(process_pool.WORKERS_ENV, "1")
    own = machine_load.OwnLoad()
    monkeypatch.setattr(machine_load, "OWN_LOAD", own)
    results = process_pool.in_order(operator.mul, range(4), 2)
    assert next(results) == (0, 0)
    assert own.level >= 1  # the caller, and the worker if it is on a task now
    assert list(results) == [(n, n * 2) for n in range(1, 4)]
    assert own.level == 0


def test_on_a_busy_machine_large_work_still_goes_to_the_workers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(process_pool.WORKERS_ENV, raising=False)
    load(monkeypatch, 12.0)
    starts = counted_starts(monkeypatch)
    items = range(process_pool.BUSY_ITEMS + 1)
    assert list(process_pool.in_order(operator.mul, items, 3)) == [(n, n * 3) for n in items]
    assert starts  # the first item computed here while they start, the rest by them
