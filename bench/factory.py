"""Bench: the closed-loop factory simulation against a bare SimPy model (issue 15).

- events/s of ``simulate(space-station)`` against a bare SimPy model that schedules
  the same number of events (processes that only wait on timeouts: the ceiling of
  any SimPy model in this interpreter, measured in the same run). Target >= 0.5.
- wall time of one simulated year of ``space-station``. Target < 10 s.
- plate use of the build planner's rectpack nesting against a shelf packer, on 2,000
  seeded random part footprints (10-120 mm sides) over a 250 x 250 mm plate.
- a 100-variant sweep of ``space-station`` (``recycler[0].yield`` 0.80-0.99): wall time
  on 2 worker processes against 1 worker process (same executor, same start-up costs).
  Target >= 1.7x.

    .venv/bin/python bench/factory.py [--years 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Generator
from typing import Any

import simpy

from mics.factory import load
from mics.factory.buildplan import PART_GAP_MM, nest, shelf_plates
from mics.factory.result import grid_gwp_per_kwh
from mics.factory.scenario import Demand, Part
from mics.factory.simulation import simulate


def bare_simpy(events: int, processes: int = 50, seed: int = 0) -> float:
    """Seconds for a SimPy model of ``processes`` timeout loops to step ``events`` events."""
    env = simpy.Environment()
    rng = random.Random(seed)

    def loop() -> Generator[simpy.Event, Any, None]:
        while True:
            yield env.timeout(rng.expovariate(1.0))

    for _ in range(processes):
        env.process(loop())
    start = time.perf_counter()
    for _ in range(events):
        env.step()
    return time.perf_counter() - start


def packing(parts: int = 2000, plate: float = 250.0, seed: int = 0) -> None:
    """Plates and plate use: rectpack nesting against the shelf packer, same parts."""
    rng = random.Random(seed)
    demand = Demand("poisson", per_day=1.0)
    made = [
        Part(
            f"p{i}", "m", 0.1, (rng.uniform(10, 120), rng.uniform(10, 120), 10.0), 0.0, 1.0, demand
        )
        for i in range(parts)
    ]
    area = sum(p.bbox_mm[0] * p.bbox_mm[1] for p in made)
    start = time.perf_counter()
    nested = len(nest(made, plate, plate, 100.0))
    seconds = time.perf_counter() - start
    shelves = shelf_plates([(p.bbox_mm[0], p.bbox_mm[1]) for p in made], plate, plate)
    print(f"packing {parts} random parts on {plate:g} mm plates (gap {PART_GAP_MM:g} mm):")
    print(
        f"  rectpack MaxRects  {nested:>4} plates, plate use {area / nested / plate**2:.1%}"
        f" ({seconds:.2f} s)"
    )
    print(f"  shelf packer       {shelves:>4} plates, plate use {area / shelves / plate**2:.1%}")
    print(f"  ratio              {shelves / nested:.2f} x fewer plates")


def sweep_speedup(variants: int) -> None:
    """Wall time of a ``variants``-point sweep on 1 and on 2 worker processes."""
    from mics.factory.sweep import axis, default_executor, document, sweep

    doc = document("space-station")
    axes = [axis(f"recycler[0].yield=0.8:0.99:{variants}")]
    times = {}
    for workers in (1, 2):
        start = time.perf_counter()
        with default_executor(workers) as pool:
            sweep(doc, axes, executor=pool)
        times[workers] = time.perf_counter() - start
    print(f"sweep of {variants} space-station variants (10 years each):")
    print(f"  1 process     {times[1]:.2f} s")
    print(f"  2 processes   {times[2]:.2f} s")
    print(f"  speed-up      {times[1] / times[2]:.2f}x (target >= 1.7x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--years", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sweep", type=int, default=100, help="variants of the sweep (0: skip)")
    args = parser.parse_args()
    scenario = load("space-station")
    grid_gwp_per_kwh(scenario.grid)  # compile the footprint inventory once, outside the timing

    year = scenario.with_horizon(365.0)
    year_times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        simulate(year)
        year_times.append(time.perf_counter() - start)
    print(f"one simulated year of space-station: {min(year_times):.3f} s (target < 10 s)")

    long = scenario.with_horizon(365.0 * args.years)
    runs = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        result = simulate(long)
        seconds = time.perf_counter() - start
        bare = bare_simpy(result.events)
        runs.append((seconds, bare, result.events))
    seconds, bare, events = min(runs)
    bare = min(r[1] for r in runs)
    ours, ceiling = events / seconds, events / bare
    print(f"space-station {args.years:g} y (stops at day {result.end_day:.0f}): {events} events")
    print(f"  mics.factory  {ours:>10,.0f} events/s")
    print(f"  bare SimPy    {ceiling:>10,.0f} events/s (same number of events)")
    print(f"  ratio         {ours / ceiling:.2f} (target >= 0.5)")
    packing()
    if args.sweep:
        sweep_speedup(args.sweep)


if __name__ == "__main__":
    main()
