"""The closed-loop factory as a SimPy discrete-event model: ``simulate(scenario, seed)``.

Parts are demanded, queued, nested into builds, printed, post-processed (supports
and scrap removed), put in service, fail, come back and are recycled with their
supports and scrap. Every kilogram is held as cohorts, ``{loop count: kg}``, in
one of a few places per material (feedstock, a build on a machine, parts in
service, the recycler's queue or batch, losses by stage), so the quality of every
printed part is known and ``mass_balance_error()`` can be checked after any event.

Quality: a cohort recycled past its material's ``max_loops`` is retired (loss
``quality``); where a refresh is allowed, every build also blends that share of
virgin feedstock in, which dilutes the blend to a mean of ``(1 - r) / r`` loops.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator, Iterator
from typing import Any

import simpy

from mics.factory.result import Result, Sample, summarise
from mics.factory.scenario import Machine, Part, Recycler, Scenario
from mics.factory.scenario_check import fits
from mics.factory.stock import Cohorts, Lot, MaterialState, Order, Recycling, Signal

__all__ = ["Factory", "MaterialState", "Recycling", "Result", "simulate"]
# Plate share usable by the simple area nesting of the simulation: shelf packing of
# rectangles typically fills 50-70% of a plate; buildplan measures the real figure.
PLATE_FILL = 0.6
# Without a quality limit, loop counts could grow without bound (supports come back
# within hours); past 50 loops a unit's history no longer changes any answer (y^50 of
# it is left), so older cohorts share the 50 bucket and the cohort maps stay small.
MAX_TRACKED_LOOPS = 50
STAGES = ("sieving", "atomisation", "re_extrusion", "supports", "scrap", "quality", "in_service")


class Factory:
    """The model's state and processes; ``run()`` steps it to the horizon."""

    def __init__(
        self, scenario: Scenario, seed: int, progress: Callable[[float], None] | None = None
    ) -> None:
        self.scenario = scenario
        self.progress = progress  # called with the day at every sample (a progress bar)
        self.recycling_log: list[Recycling] | None = None  # set to a list to record batches
        self.env = simpy.Environment()
        self.seed = seed
        self.random = random.Random(seed)
        self.materials = {m.id: MaterialState(m) for m in scenario.materials}
        for recycler in scenario.recyclers:
            self.materials[recycler.material].recycler = recycler
        self.energy: dict[str, float] = {"printing": 0.0}
        self.busy: dict[str, float] = {m.id: 0.0 for m in scenario.machines}
        self.lead_times: list[float] = []
        self.delivered_kg = 0.0
        self.delivered_parts = 0
        self.delivered_loops: dict[str, list[float]] = {m.id: [] for m in scenario.materials}
        self.shortage_day: float | None = None
        self.stopped: str | None = None
        self.samples: list[Sample] = []
        self._ids = iter(range(1, 1 << 62))
        self._machine_signals = {m.id: Signal(self.env) for m in scenario.machines}
        self._printers: dict[str, list[Signal]] = {m.id: [] for m in scenario.materials}
        for machine in scenario.machines:
            for material_id in machine.materials:
                self._printers[material_id].append(self._machine_signals[machine.id])
        self._recycler_signals = {m.id: Signal(self.env) for m in scenario.materials}
        self.events = 0
        for material in self.materials.values():
            material.feed.add({0: material.spec.initial_kg})
            material.inflow = material.spec.initial_kg
        self._start()

    # ---------------------------------------------------------------- processes

    def _start(self) -> None:
        env, s = self.env, self.scenario
        for part in s.parts:
            if part.demand.kind == "replacement":
                state = self.materials[part.material]
                for _ in range(part.demand.in_service):
                    state.inflow += part.mass_kg  # the fleet comes aboard with the factory
                    self._serve(part, {0: part.mass_kg}, replacement=True, first=True)
            else:
                env.process(self._demand(part))
        for machine in s.machines:
            env.process(self._machine(machine))
        for state in self.materials.values():
            if state.recycler is not None:
                env.process(self._recycler(state, state.recycler))
        if s.resupply == "scheduled":
            env.process(self._scheduled_resupply())
        env.process(self._sampler())

    def _interval(self, mean: float) -> float:
        return self.random.expovariate(1.0 / mean) if self.scenario.stochastic else mean

    def _demand(self, part: Part) -> Generator[simpy.Event, Any, None]:
        every = 1.0 / part.demand.per_day if part.demand.kind == "poisson" else 0.0
        while True:
            if part.demand.kind == "poisson":
                yield self.env.timeout(self._interval(every))
            else:
                yield self.env.timeout(part.demand.every_days)
            self._order(Order(part, self.env.now))

    def _order(self, order: Order) -> None:
        self.materials[order.part.material].queue.append(order)
        self._feed_changed(order.part.material)

    def _feed_changed(self, material_id: str) -> None:
        for signal in self._printers[material_id]:
            signal.fire()

    def _serve(
        self, part: Part, cohorts: Cohorts, *, replacement: bool, first: bool = False
    ) -> None:
        state = self.materials[part.material]
        key = next(self._ids)
        state.in_service[key] = cohorts
        if first:  # a fleet starts with mixed ages: first lives spread over one life
            delay = part.life_days * (self.random.random() if self.scenario.stochastic else 1.0)
        else:
            delay = self._interval(part.life_days)
        # A plain timeout with a callback: one event per service life, no generator.
        end_of_life = self.env.timeout(delay)
        end_of_life.callbacks.append(lambda _: self._fail(part, key, replacement))

    def _fail(self, part: Part, key: int, replacement: bool) -> None:
        state = self.materials[part.material]
        cohorts = state.in_service.pop(key)
        kept = sum(cohorts.values()) * (1.0 - part.return_fraction)
        if kept:
            state.lose("in_service", kept)
        self._return(state, "parts", cohorts, part.return_fraction)
        if replacement:
            self._order(Order(part, self.env.now, replacement=True))

    def _return(
        self, state: MaterialState, origin: str, cohorts: Cohorts, scale: float = 1.0
    ) -> None:
        if scale <= 0.0:
            return
        if state.recycler is None:  # nothing recycles it: it leaves the loop
            state.lose("unrecycled", sum(cohorts.values()) * scale)
            return
        state.returned.setdefault(origin, Lot()).add(cohorts, scale)
        state.returned_kg[origin] = (
            state.returned_kg.get(origin, 0.0) + sum(cohorts.values()) * scale
        )
        self._recycler_signals[state.spec.id].fire()

    def _machine(self, machine: Machine) -> Generator[simpy.Event, Any, None]:
        plate = machine.build_volume_mm[0] * machine.build_volume_mm[1] * PLATE_FILL
        signal = self._machine_signals[machine.id]
        while True:
            build = self._nest(machine, plate)
            if build is None:
                yield signal.wait()
                continue
            state, orders, need, height = build
            printed = sum(o.part.mass_kg * (1.0 + o.part.support_fraction) for o in orders)
            scrap = sum(o.part.mass_kg for o in orders) * machine.scrap_fraction
            sieve = state.spec.sieve_loss_fraction * (printed + scrap)
            key = next(self._ids)
            cohorts = state.feed.take(need, state.spec.refresh_fraction)
            state.printing[key] = cohorts
            state.drawn += need
            state.drawn_recycled += sum(kg for loop, kg in cohorts.items() if loop > 0)
            volume_mm3 = (printed + scrap) / state.spec.density_kg_m3 * 1e9
            seconds = (
                volume_mm3 / machine.scan_mm3_per_s + height / machine.layer_mm * machine.recoat_s
            )
            days = seconds / 86_400.0 / machine.availability
            yield self.env.timeout(days)
            self.busy[machine.id] += days
            self.energy["printing"] += machine.power_kw * seconds / 3600.0
            del state.printing[key]
            share = {loop: kg / need for loop, kg in cohorts.items()}
            if sieve:
                state.lose("sieving", sieve)
            self._return(state, "scrap", share, scrap)
            mean_loops = sum(loop * s for loop, s in share.items())
            for order in orders:
                part = order.part
                self._return(state, "supports", share, part.mass_kg * part.support_fraction)
                self._serve(
                    part,
                    {loop: s * part.mass_kg for loop, s in share.items()},
                    replacement=order.replacement,
                )
                self.lead_times.append(self.env.now - order.demanded)
                self.delivered_kg += part.mass_kg
                self.delivered_parts += 1
                self.delivered_loops[state.spec.id].append(mean_loops)

    def _nest(
        self, machine: Machine, plate: float
    ) -> tuple[MaterialState, list[Order], float, float] | None:
        """The next build: the oldest waiting orders of one material that fill the plate."""
        waiting = [self.materials[m] for m in machine.materials if self.materials[m].queue]
        if not waiting:
            return None
        state = min(waiting, key=lambda s: s.queue[0].demanded)
        orders: list[Order] = []
        area = need = height = 0.0
        for order in state.queue:
            part = order.part
            x, y, z = part.bbox_mm
            if not fits(part.bbox_mm, machine.build_volume_mm):
                continue  # another machine prints it (the scenario check saw to that)
            more = part.mass_kg * (1.0 + part.support_fraction + machine.scrap_fraction)
            more *= 1.0 + state.spec.sieve_loss_fraction
            if orders and (area + x * y > plate or need + more > self._usable(state)):
                break
            orders.append(order)
            area, need, height = area + x * y, need + more, max(height, z)
        if not orders:
            return None
        if need > self._usable(state) + 1e-12:
            self._short(state, need)
            return None
        for order in orders:
            state.queue.remove(order)
        return state, orders, need, height

    def _usable(self, state: MaterialState) -> float:
        return state.feed.total()

    def _short(self, state: MaterialState, need: float) -> None:
        """The build cannot start: wait for the recycler if it will cover the need, else
        this is the first demand not met (and, without resupply, the end of the run)."""
        pipeline = sum(lot.total() for lot in (*state.returned.values(), *state.recycling.values()))
        coming = pipeline * (state.recycler.yield_ if state.recycler else 0.0)
        if state.feed.total() + coming >= need:
            return
        if self.shortage_day is None:
            self.shortage_day = self.env.now
        if self.scenario.resupply == "none":
            self.stopped = f"{state.spec.id}: demand can no longer be met"
        elif self.scenario.resupply == "on_shortage" and not state.resupply_pending:
            state.resupply_pending = True
            self.env.process(self._resupply_after_lead(state))

    def _recycler(
        self, state: MaterialState, recycler: Recycler
    ) -> Generator[simpy.Event, Any, None]:
        limit = state.spec.max_loops()
        retire_from = MAX_TRACKED_LOOPS + 1 if limit is None else limit
        signal = self._recycler_signals[state.spec.id]
        y = recycler.yield_
        feed = state.feed.cohorts
        while True:
            if not state.returned:
                yield signal.wait()
                continue
            state.recycling, state.returned = state.returned, {}
            kg = sum(lot.total() for lot in state.recycling.values())
            yield self.env.timeout(kg / recycler.kg_per_hour / 24.0)
            self.energy[recycler.loss_stage] = (
                self.energy.get(recycler.loss_stage, 0.0) + recycler.kwh_per_kg * kg
            )
            batch, state.recycling = state.recycling, {}
            retired = 0.0
            for origin, lot in batch.items():
                stage = recycler.loss_stage if origin == "parts" else origin
                state.lose(stage, lot.total() * (1.0 - y))
                for loop, mass in lot.cohorts.items():
                    if loop >= retire_from:  # one more loop would pass the quality limit
                        retired += mass * y
                    else:
                        after = min(loop + 1, MAX_TRACKED_LOOPS)
                        feed[after] = feed.get(after, 0.0) + mass * y
                        state.recycled_kg += mass * y
            if retired:
                state.lose("quality", retired)
            if self.recycling_log is not None:
                self.recycling_log.append(
                    Recycling(self.env.now, state.spec.id, batch, y, retire_from, retired)
                )
            if state.queue:  # printers idle for want of feedstock, if any, may start now
                self._feed_changed(state.spec.id)

    def _scheduled_resupply(self) -> Generator[simpy.Event, Any, None]:
        while True:
            yield self.env.timeout(self.scenario.resupply_every_days)
            for state in self.materials.values():
                self._deliver(state)

    def _resupply_after_lead(self, state: MaterialState) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(self.scenario.resupply_lead_days)
        state.resupply_pending = False
        self._deliver(state)

    def _deliver(self, state: MaterialState) -> None:
        kg = state.spec.resupply_kg or state.spec.initial_kg
        state.feed.add({0: kg})
        state.inflow += kg
        state.resupplied_kg += kg
        self._feed_changed(state.spec.id)

    def _sampler(self) -> Generator[simpy.Event, Any, None]:
        while True:
            self.samples.append(self.sample())
            if self.progress is not None:
                self.progress(self.env.now)
            yield self.env.timeout(self.scenario.sample_days)

    # ---------------------------------------------------------------- reading the state

    def sample(self) -> Sample:
        stock: dict[str, dict[str, float]] = {}
        for material_id, state in self.materials.items():
            limit = state.spec.max_loops()
            bands = {"virgin": 0.0, "recycled": 0.0, "near_limit": 0.0}
            for loop, kg in state.feed.cohorts.items():
                band = "virgin" if loop == 0 else "recycled"
                if loop and limit is not None and loop * 2 > limit:
                    band = "near_limit"
                bands[band] += kg
            stock[material_id] = bands
        backlog = sum(len(s.queue) for s in self.materials.values())
        return Sample(day=self.env.now, backlog=backlog, stock_kg=stock)

    def mass_balance_error(self) -> float:
        """Largest |inflow - everything held| over the materials, in kg."""
        return max(abs(s.inflow - s.held()) for s in self.materials.values())

    def run(
        self, observe: Callable[[Factory], None] | None = None, max_events: int | None = None
    ) -> Result:
        """Step to the horizon, to the first demand that can no longer be met, or to
        ``max_events`` events (a bound on the work of one run)."""
        env, horizon = self.env, self.scenario.horizon_days
        budget = max_events if max_events is not None else -1
        while self.stopped is None and env.peek() <= horizon:
            env.step()
            self.events += 1
            if observe is not None:
                observe(self)
            if self.events == budget:
                self.stopped = f"the budget of {budget} events was reached"
        end = min(env.now, horizon) if self.stopped else horizon
        return summarise(self, end)

    def states(self) -> Iterator[MaterialState]:
        return iter(self.materials.values())


def simulate(
    scenario: Scenario,
    seed: int | None = None,
    *,
    observe: Callable[[Factory], None] | None = None,
    progress: Callable[[float], None] | None = None,
    max_events: int | None = None,
    record: list[Recycling] | None = None,
) -> Result:
    """Run ``scenario`` (seed: the scenario's own unless given) and summarise it.

    ``observe`` is called after every event (the mass-balance test), ``progress``
    with the simulated day at every sample (a progress bar); ``record`` collects the
    recycler batches (``mics.factory.genealogy``)."""
    factory = Factory(scenario, scenario.seed if seed is None else seed, progress)
    factory.recycling_log = record
    return factory.run(observe, max_events)
