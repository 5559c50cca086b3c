"""Where the factory's material is, by loop count: lots, per-material state, orders.

A ``Lot`` is cohorts, ``{loop count: kg}``; ``MaterialState`` holds every place a
material can be (feedstock, builds, parts in service, the recycler's queue and
batch, losses by stage) so that ``held()`` is the mass balance's right-hand side.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import simpy

from mics.factory.scenario import Material, Part, Recycler

__all__ = ["Cohorts", "Lot", "MaterialState", "Order", "Recycling", "Signal"]

Cohorts = dict[int, float]


@dataclass(frozen=True)
class Recycling:
    """One recycler batch, for the powder genealogy (``mics.factory.genealogy``)."""

    day: float
    material: str
    inputs: dict[str, Lot]  # origin -> cohorts that went in
    yield_: float
    retire_from: int  # cohorts at this loop or later were retired, not returned
    retired_kg: float


class Signal:
    """A wake-up call for one waiting process: an event exists only while it waits,
    so changes nobody waits for cost no event (they would dilute events/s)."""

    __slots__ = ("env", "event")

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self.event: simpy.Event | None = None

    def wait(self) -> simpy.Event:
        self.event = self.env.event()
        return self.event

    def fire(self) -> None:
        if self.event is not None:
            self.event.succeed()
            self.event = None


@dataclass
class Order:
    part: Part
    demanded: float
    replacement: bool = False


@dataclass
class Lot:
    """Material of one material in one place, by loop count."""

    cohorts: Cohorts = field(default_factory=dict)

    def add(self, cohorts: Cohorts, scale: float = 1.0) -> None:
        for loop, kg in cohorts.items():
            self.cohorts[loop] = self.cohorts.get(loop, 0.0) + kg * scale

    def total(self) -> float:
        return sum(self.cohorts.values())

    def take(self, kg: float, refresh: float = 0.0) -> Cohorts:
        """Take ``kg``: a ``refresh`` share from virgin (loop 0) where there is
        some, the rest in proportion from the recycled cohorts (virgin if short)."""
        taken: Cohorts = {}
        virgin_first = min(kg * refresh, self.cohorts.get(0, 0.0)) if refresh else 0.0
        if virgin_first:
            self._move(taken, 0, virgin_first)
        rest = kg - virgin_first
        pool = {n: m for n, m in self.cohorts.items() if n > 0 or not refresh}
        pool_kg = sum(pool.values())
        if refresh and pool_kg < rest:  # not enough recycled: virgin makes up the rest
            pool = dict(self.cohorts)
            pool_kg = sum(pool.values())
        share = min(1.0, rest / pool_kg) if pool_kg > 0 else 0.0
        for loop, mass in pool.items():
            self._move(taken, loop, mass if share == 1.0 else mass * share)
        return taken

    def _move(self, into: Cohorts, loop: int, kg: float) -> None:
        left = self.cohorts[loop] - kg
        if left <= 0.0:
            kg = self.cohorts.pop(loop)
        else:
            self.cohorts[loop] = left
        into[loop] = into.get(loop, 0.0) + kg


@dataclass
class MaterialState:
    """Running state of one material."""

    spec: Material
    feed: Lot = field(default_factory=Lot)
    returned: dict[str, Lot] = field(default_factory=dict)  # origin -> lot, awaiting recycling
    recycling: dict[str, Lot] = field(default_factory=dict)  # in the recycler now
    printing: dict[int, Cohorts] = field(default_factory=dict)  # build id -> cohorts
    in_service: dict[int, Cohorts] = field(default_factory=dict)  # part id -> cohorts
    losses: dict[str, float] = field(default_factory=dict)
    inflow: float = 0.0
    queue: deque[Order] = field(default_factory=deque)
    recycler: Recycler | None = None
    drawn: float = 0.0
    drawn_recycled: float = 0.0
    resupply_pending: bool = False
    returned_kg: dict[str, float] = field(default_factory=dict)  # origin -> kg sent back
    recycled_kg: float = 0.0  # recycler output put back into the feed
    resupplied_kg: float = 0.0

    def lose(self, stage: str, kg: float) -> None:
        self.losses[stage] = self.losses.get(stage, 0.0) + kg

    def held(self) -> float:
        """Every kilogram of this material, wherever it is (losses included)."""
        return (
            self.feed.total()
            + sum(lot.total() for lot in self.returned.values())
            + sum(lot.total() for lot in self.recycling.values())
            + sum(sum(c.values()) for c in self.printing.values())
            + sum(sum(c.values()) for c in self.in_service.values())
            + sum(self.losses.values())
        )
