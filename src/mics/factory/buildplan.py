"""Build planning: nest the parts of a period's demand on build plates and time the builds.

Nesting is 2D rectangle bin packing of the parts' footprints (``bbox_mm`` x, y plus
a gap) with ``rectpack`` (MaxRects, best short-side fit, 90-degree turns), parts
taken tallest first so a build holds parts of similar height ("nesting in height":
a plate's layer count is set by its tallest part). A plain shelf packer (next fit,
decreasing height) is the baseline the packing density is measured against.

Build time, layer-wise as in the PySLM example (REFERENCES.md):
``t = V / scan rate + N_layers x t_recoat``, with ``V`` the volume of parts,
supports and reprinted scrap and ``N_layers = tallest part / layer thickness``.
The time saved by fuller builds is the sum of one build per part less the plan's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import rectpack

from mics.factory.scenario import Machine, Part, Scenario

__all__ = [
    "Build",
    "Placement",
    "Plan",
    "build_seconds",
    "nest",
    "period_demand",
    "plan",
    "shelf_plates",
]

# Clearance between parts on the plate: LPBF parts need room for the recoater and for
# powder removal; 2 mm is a common minimum (assumption; machine makers advise 1-5 mm).
PART_GAP_MM = 2.0
# A plan is for a period's expected demand; 30 days matches a monthly build schedule.
DEFAULT_PERIOD_DAYS = 30.0
# Bounds one plan's work (the packer is quadratic in parts per plate).
MAX_PLAN_PARTS = 5_000


@dataclass(frozen=True)
class Placement:
    part: str
    x_mm: float
    y_mm: float
    width_mm: float  # along x as placed (turned if the part was rotated)
    depth_mm: float
    height_mm: float


@dataclass(frozen=True)
class Build:
    machine: str
    material: str
    placements: tuple[Placement, ...]
    height_mm: float
    layers: int
    scan_s: float
    recoat_s: float
    density: float  # part footprint area / plate area

    @property
    def hours(self) -> float:
        return (self.scan_s + self.recoat_s) / 3600.0


@dataclass(frozen=True)
class Plan:
    scenario: str
    period_days: float
    builds: tuple[Build, ...]
    parts: int
    density: float  # all footprints / all plates used
    shelf_plates: int  # plates the shelf packer needs for the same parts
    shelf_density: float
    hours: float
    hours_one_part_per_build: float

    @property
    def hours_saved(self) -> float:
        return self.hours_one_part_per_build - self.hours

    def as_json(self) -> dict[str, object]:
        from dataclasses import asdict

        body = asdict(self)
        body["hours_saved"] = self.hours_saved
        return body


def period_demand(scenario: Scenario, days: float) -> dict[str, int]:
    """Expected parts demanded in ``days``: rates times the period, rounded up."""
    wanted: dict[str, int] = {}
    for part in scenario.parts:
        d = part.demand
        if d.kind == "poisson":
            count = d.per_day * days
        elif d.kind == "scheduled":
            count = days / d.every_days
        else:  # a fleet fails at in_service / life per day
            count = d.in_service * days / part.life_days
        wanted[part.id] = min(MAX_PLAN_PARTS, math.ceil(count - 1e-9))
    return wanted


def build_seconds(
    machine: Machine, parts: Sequence[Part], density_kg_m3: float
) -> tuple[float, float]:
    """(scan seconds, recoat seconds) of one build of ``parts`` on ``machine``."""
    kg = sum(p.mass_kg * (1.0 + p.support_fraction + machine.scrap_fraction) for p in parts)
    volume_mm3 = kg / density_kg_m3 * 1e9
    layers = math.ceil(max(p.bbox_mm[2] for p in parts) / machine.layer_mm - 1e-9)
    return volume_mm3 / machine.scan_mm3_per_s, layers * machine.recoat_s


def plan(scenario: Scenario, days: float = DEFAULT_PERIOD_DAYS) -> Plan:
    """Nest a period's demand into builds, machine by machine, and time them."""
    wanted = period_demand(scenario, days)
    builds: list[Build] = []
    alone = 0.0
    area = plate_area = 0.0
    shelf_count = 0
    shelf_area = 0.0
    for material in scenario.materials:
        parts = [
            p for p in scenario.parts for _ in range(wanted[p.id]) if p.material == material.id
        ]
        machine = _machine_for(scenario, material.id, parts)
        if machine is None or not parts:
            continue
        x, y = machine.build_volume_mm[0], machine.build_volume_mm[1]
        plates = nest(parts, x, y, machine.build_volume_mm[2])
        for plate in plates:
            placed = [p for p, _ in plate]
            scan, recoat = build_seconds(machine, placed, material.density_kg_m3)
            footprint = sum(p.bbox_mm[0] * p.bbox_mm[1] for p in placed)
            height = max(p.bbox_mm[2] for p in placed)
            builds.append(
                Build(
                    machine=machine.id,
                    material=material.id,
                    placements=tuple(where for _, where in plate),
                    height_mm=height,
                    layers=math.ceil(height / machine.layer_mm - 1e-9),
                    scan_s=scan,
                    recoat_s=recoat,
                    density=footprint / (x * y),
                )
            )
            area += footprint
            plate_area += x * y
        for part in parts:
            alone += sum(build_seconds(machine, [part], material.density_kg_m3)) / 3600.0
        shelves = shelf_plates([(p.bbox_mm[0], p.bbox_mm[1]) for p in parts], x, y)
        shelf_count += shelves
        shelf_area += shelves * x * y
    return Plan(
        scenario=scenario.name,
        period_days=days,
        builds=tuple(builds),
        parts=sum(len(b.placements) for b in builds),
        density=area / plate_area if plate_area else 0.0,
        shelf_plates=shelf_count,
        shelf_density=area / shelf_area if shelf_area else 0.0,
        hours=sum(b.hours for b in builds),
        hours_one_part_per_build=alone,
    )


def _machine_for(scenario: Scenario, material: str, parts: Sequence[Part]) -> Machine | None:
    """The first machine of the material whose build volume takes every part."""
    for machine in scenario.machines:
        if material in machine.materials and all(
            p.bbox_mm[2] <= machine.build_volume_mm[2] for p in parts
        ):
            return machine
    return None


def nest(parts: Sequence[Part], x: float, y: float, z: float) -> list[list[tuple[Part, Placement]]]:
    """Plates of placed parts: rectpack MaxRects (BSSF), tallest parts first."""
    gap = PART_GAP_MM
    order = sorted(range(len(parts)), key=lambda i: (-parts[i].bbox_mm[2], -_area(parts[i])))
    packer = rectpack.newPacker(
        mode=rectpack.PackingMode.Offline,
        bin_algo=rectpack.PackingBin.BFF,
        pack_algo=rectpack.MaxRectsBssf,
        sort_algo=rectpack.SORT_NONE,  # keep the tallest-first order
        rotation=True,
    )
    # Integer tenths of a millimetre: rectpack's float arithmetic can misplace edges.
    for i in order:
        w, d, _ = parts[i].bbox_mm
        packer.add_rect(_tenths(w + gap), _tenths(d + gap), i)
    packer.add_bin(_tenths(x + gap), _tenths(y + gap), count=float("inf"))
    packer.pack()
    plates: dict[int, list[tuple[Part, Placement]]] = {}
    for b, px, py, pw, pd, i in packer.rect_list():
        part = parts[i]
        plates.setdefault(b, []).append(
            (
                part,
                Placement(
                    part.id, px / 10.0, py / 10.0, pw / 10.0 - gap, pd / 10.0 - gap, part.bbox_mm[2]
                ),
            )
        )
    if sum(len(p) for p in plates.values()) != len(parts):
        raise AssertionError("rectpack left parts unplaced")  # parts fit (scenario checks)
    return [plates[b] for b in sorted(plates)]


def shelf_plates(footprints: Sequence[tuple[float, float]], x: float, y: float) -> int:
    """Plates a shelf packer needs: next fit, decreasing height, each part turned so its
    long side runs along x when it fits (the simple baseline of the density figure)."""
    gap = PART_GAP_MM
    sizes = []
    for w, d in footprints:
        long, short = max(w, d), min(w, d)
        sizes.append((long, short) if long + gap <= x + gap else (short, long))
    sizes.sort(key=lambda s: -s[1])
    plates = 1 if sizes else 0
    shelf_y = shelf_height = cursor = 0.0
    for w, d in sizes:
        if cursor + w + gap > x + gap:  # next shelf
            shelf_y, cursor, shelf_height = shelf_y + shelf_height, 0.0, 0.0
        if shelf_y + d + gap > y + gap:  # next plate
            plates += 1
            shelf_y, cursor, shelf_height = 0.0, 0.0, 0.0
        cursor += w + gap
        shelf_height = max(shelf_height, d + gap)
    return plates


def _area(part: Part) -> float:
    return part.bbox_mm[0] * part.bbox_mm[1]


def _tenths(mm: float) -> int:
    return math.ceil(mm * 10.0 - 1e-9)
