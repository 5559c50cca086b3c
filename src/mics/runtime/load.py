"""How busy the machine is, for deciding whether worker processes would help.

``spare_cpus``: the CPUs this process may run on, less the load average of the last
minute, less this process's own share of that load (``OWN_LOAD``). Used by
``mics.runtime.process_pool.worth_it``.
"""

from __future__ import annotations

import math
import os
import threading
import time

__all__ = ["OWN_LOAD", "OwnLoad", "cpus", "spare_cpus"]


def cpus() -> int:
    """The CPUs this process may run on (its affinity, where the system has one)."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return count or os.cpu_count() or 1


def spare_cpus() -> float:
    """CPUs other processes left idle over the last minute: this process's CPUs less the
    load average, less what this process's own captures and workers put in it (``OWN_LOAD``:
    a server whose last large capture kept its workers busy would otherwise turn them
    off for the next minute).

    Where the system keeps no load average, every CPU counts as spare.
    """
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return float(cpus())
    return cpus() - max(0.0, load - OWN_LOAD.value())


class OwnLoad:
    """This process's share of the 1-minute load average, damped as the kernel damps it.

    ``level`` counts what runs now for ``process_pool.in_order``: its callers (each writes while the
    workers prepare) and the workers busy with a task. Linux's figure is an exponential
    average of the runnable count with a 60 s time constant; so is ``value``.
    """

    TAU_S = 60.0

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.level = 0
        self.average = 0.0
        self.at = time.monotonic()

    def _settle(self) -> None:
        now = time.monotonic()
        decay = math.exp(-(now - self.at) / self.TAU_S)
        self.average = self.level + (self.average - self.level) * decay
        self.at = now

    def change(self, delta: int) -> None:
        with self.lock:
            self._settle()
            self.level += delta

    def value(self) -> float:
        with self.lock:
            self._settle()
            return self.average


OWN_LOAD = OwnLoad()
