"""The checks of a scenario document (issue 15, "Bad input"), table by table.

Each checker takes the key path of its table (``material[0]``) so an error names
exactly where it is. Cross-references come last: a part's material must be
printed by some machine, and its bounding box must fit some build volume.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mics.errors import InvalidInput
from mics.factory.mesh import stl_bbox_mm
from mics.factory.scenario import (
    DEMAND_KINDS,
    MATERIAL_KINDS,
    MAX_ENTRIES,
    MAX_FLEET,
    MAX_HORIZON_DAYS,
    PROCESSES,
    RECYCLER_PROCESSES,
    RESUPPLY,
    Demand,
    Machine,
    Material,
    Part,
    Recycler,
    Scenario,
    known_keys,
    number,
)

TOP = ("scenario", "material", "machine", "recycler", "part")
SCENARIO_KEYS = (
    "name",
    "horizon_days",
    "seed",
    "resupply",
    "resupply_every_days",
    "resupply_lead_days",
    "stochastic",
    "grid",
    "sample_days",
)
MATERIAL_KEYS = (
    "id",
    "kind",
    "initial_kg",
    "density_kg_m3",
    "oxygen_wt_pct",
    "oxygen_pickup_per_cycle",
    "oxygen_limit_wt_pct",
    "strength_loss_per_cycle",
    "min_strength_fraction",
    "refresh_fraction",
    "sieve_loss_fraction",
    "resupply_kg",
)
MACHINE_KEYS = (
    "id",
    "process",
    "materials",
    "build_volume_mm",
    "layer_mm",
    "recoat_s",
    "scan_mm3_per_s",
    "power_kw",
    "availability",
    "scrap_fraction",
)
RECYCLER_KEYS = ("id", "process", "material", "yield", "kwh_per_kg", "kg_per_hour")
PART_KEYS = (
    "id",
    "material",
    "mass_kg",
    "bbox_mm",
    "mesh",
    "support_fraction",
    "life_days",
    "demand",
    "return_fraction",
)
DEMAND_KEYS = {
    "poisson": ("kind", "per_day"),
    "scheduled": ("kind", "every_days"),
    "replacement": ("kind", "in_service"),
}


def check_document(doc: Mapping[str, Any], base: Path | None, *, meshes: bool = True) -> Scenario:
    known_keys("", doc, TOP)
    head = _table("scenario", doc.get("scenario"))
    materials = tuple(_material(f"material[{i}]", t) for i, t in _array(doc, "material"))
    _unique("material", [m.id for m in materials])
    ids = {m.id for m in materials}
    machines = tuple(_machine(f"machine[{i}]", t, ids) for i, t in _array(doc, "machine"))
    _unique("machine", [m.id for m in machines])
    recyclers = tuple(_recycler(f"recycler[{i}]", t, ids) for i, t in _array(doc, "recycler"))
    _unique("recycler", [r.id for r in recyclers])
    parts = tuple(_part(f"part[{i}]", t, ids, base, meshes) for i, t in _array(doc, "part"))
    _unique("part", [p.id for p in parts])
    for i, part in enumerate(parts):
        _printable(f"part[{i}]", part, machines)
    known_keys("scenario", head, SCENARIO_KEYS)
    resupply = _choice("scenario.resupply", head.get("resupply", "none"), RESUPPLY)
    every = number("scenario.resupply_every_days", head.get("resupply_every_days", 0), low=0)
    if resupply == "scheduled" and every <= 0:
        raise InvalidInput(
            "scheduled resupply needs an interval",
            field="scenario.resupply_every_days",
            value=every,
            expected="a number of days > 0",
        )
    seed = head.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise InvalidInput(
            "bad seed", field="scenario.seed", value=seed, expected="an integer in [0, 2**32)"
        )
    stochastic = head.get("stochastic", True)
    if not isinstance(stochastic, bool):
        raise InvalidInput(
            "not a boolean", field="scenario.stochastic", value=stochastic, expected="true/false"
        )
    return Scenario(
        name=_text("scenario.name", head.get("name")),
        horizon_days=number(
            "scenario.horizon_days",
            head.get("horizon_days"),
            low=0,
            high=MAX_HORIZON_DAYS,
            open_low=True,
        ),
        seed=seed,
        resupply=resupply,
        materials=materials,
        machines=machines,
        recyclers=recyclers,
        parts=parts,
        stochastic=stochastic,
        resupply_every_days=every,
        resupply_lead_days=number(
            "scenario.resupply_lead_days", head.get("resupply_lead_days", 0), low=0
        ),
        grid=_text("scenario.grid", head.get("grid", "electricity_it")),
        sample_days=number(
            "scenario.sample_days", head.get("sample_days", 1.0), low=0.01, high=365
        ),
    )


def _material(path: str, t: Mapping[str, Any]) -> Material:
    known_keys(path, t, MATERIAL_KEYS)
    kind = _choice(f"{path}.kind", t.get("kind"), MATERIAL_KINDS)
    metal = kind in ("metal_powder", "wire")
    quality: dict[str, float | None] = dict.fromkeys(MATERIAL_KEYS[4:9])
    wanted = MATERIAL_KEYS[4:7] if metal else MATERIAL_KEYS[7:9]
    for key in MATERIAL_KEYS[4:9]:
        if key in t and key not in wanted:
            raise InvalidInput(
                f"{key} does not apply to a {kind}",
                field=f"{path}.{key}",
                value=t[key],
                expected=f"for a {kind}: {', '.join(wanted)}",
            )
    for key in wanted:
        if key in t:
            high = 1.0 if "fraction" in key or "loss" in key else 100.0
            quality[key] = number(f"{path}.{key}", t[key], low=0, high=high)
    limit, start = quality["oxygen_limit_wt_pct"], quality["oxygen_wt_pct"]
    if limit is not None and start is not None and limit < start:
        raise InvalidInput(
            "the oxygen limit is below the virgin powder's oxygen",
            field=f"{path}.oxygen_limit_wt_pct",
            value=limit,
            expected=f">= oxygen_wt_pct ({start})",
        )
    if quality["min_strength_fraction"] == 0.0 or quality["strength_loss_per_cycle"] == 1.0:
        key = "min_strength_fraction" if quality["min_strength_fraction"] == 0 else "strength_loss"
        raise InvalidInput(
            "a strength bound of 0 or a total loss per cycle makes no quality model",
            field=f"{path}.{key}",
            value=t.get(key),
            expected="a fraction in (0, 1)",
        )
    return Material(
        id=_text(f"{path}.id", t.get("id")),
        kind=kind,
        initial_kg=number(f"{path}.initial_kg", t.get("initial_kg"), low=0, open_low=True),
        density_kg_m3=number(
            f"{path}.density_kg_m3", t.get("density_kg_m3", 4430.0), low=0, open_low=True
        ),
        refresh_fraction=number(
            f"{path}.refresh_fraction",
            t.get("refresh_fraction", 0.0),
            low=0,
            high=1,
            open_high=True,
        ),
        oxygen_wt_pct=quality["oxygen_wt_pct"],
        oxygen_pickup_per_cycle=quality["oxygen_pickup_per_cycle"],
        oxygen_limit_wt_pct=quality["oxygen_limit_wt_pct"],
        strength_loss_per_cycle=quality["strength_loss_per_cycle"],
        min_strength_fraction=quality["min_strength_fraction"],
        sieve_loss_fraction=number(
            f"{path}.sieve_loss_fraction",
            t.get("sieve_loss_fraction", 0.0),
            low=0,
            high=1,
            open_high=True,
        ),
        resupply_kg=number(f"{path}.resupply_kg", t.get("resupply_kg", 0.0), low=0),
    )


def _machine(path: str, t: Mapping[str, Any], materials: set[str]) -> Machine:
    known_keys(path, t, MACHINE_KEYS)
    names = t.get("materials")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise InvalidInput(
            "materials must list material ids",
            field=f"{path}.materials",
            value=names,
            expected="a non-empty list of material ids",
        )
    for j, name in enumerate(names):
        _reference(f"{path}.materials[{j}]", name, materials)
    return Machine(
        id=_text(f"{path}.id", t.get("id")),
        process=_choice(f"{path}.process", t.get("process"), PROCESSES),
        materials=tuple(names),
        build_volume_mm=_triple(f"{path}.build_volume_mm", t.get("build_volume_mm")),
        layer_mm=number(f"{path}.layer_mm", t.get("layer_mm"), low=0, high=10, open_low=True),
        recoat_s=number(f"{path}.recoat_s", t.get("recoat_s"), low=0),
        scan_mm3_per_s=number(
            f"{path}.scan_mm3_per_s", t.get("scan_mm3_per_s"), low=0, open_low=True
        ),
        power_kw=number(f"{path}.power_kw", t.get("power_kw"), low=0),
        availability=number(
            f"{path}.availability", t.get("availability", 1.0), low=0, high=1, open_low=True
        ),
        scrap_fraction=number(
            f"{path}.scrap_fraction", t.get("scrap_fraction", 0.0), low=0, high=1, open_high=True
        ),
    )


def _recycler(path: str, t: Mapping[str, Any], materials: set[str]) -> Recycler:
    known_keys(path, t, RECYCLER_KEYS)
    return Recycler(
        id=_text(f"{path}.id", t.get("id")),
        process=_choice(f"{path}.process", t.get("process"), RECYCLER_PROCESSES),
        material=_reference(f"{path}.material", t.get("material"), materials),
        yield_=number(f"{path}.yield", t.get("yield"), low=0, high=1, open_low=True),
        kwh_per_kg=number(f"{path}.kwh_per_kg", t.get("kwh_per_kg"), low=0),
        kg_per_hour=number(f"{path}.kg_per_hour", t.get("kg_per_hour"), low=0, open_low=True),
    )


def _part(
    path: str, t: Mapping[str, Any], materials: set[str], base: Path | None, meshes: bool
) -> Part:
    known_keys(path, t, PART_KEYS)
    mesh = t.get("mesh")
    if mesh is not None and not meshes:
        raise InvalidInput(
            "mesh files are read from the command line only, not from a submitted scenario",
            field=f"{path}.mesh",
            value=mesh,
            expected="bbox_mm = [x, y, z] instead",
        )
    if mesh is not None:
        if not isinstance(mesh, str):
            raise InvalidInput(
                "not a path", field=f"{path}.mesh", value=mesh, expected="an STL path"
            )
        bbox = stl_bbox_mm(f"{path}.mesh", (base or Path.cwd()) / mesh)
    else:
        bbox = _triple(f"{path}.bbox_mm", t.get("bbox_mm"))
    return Part(
        id=_text(f"{path}.id", t.get("id")),
        material=_reference(f"{path}.material", t.get("material"), materials),
        mass_kg=number(f"{path}.mass_kg", t.get("mass_kg"), low=0, open_low=True),
        bbox_mm=bbox,
        support_fraction=number(
            f"{path}.support_fraction", t.get("support_fraction", 0.0), low=0, high=10
        ),
        life_days=number(f"{path}.life_days", t.get("life_days"), low=0, open_low=True),
        demand=_demand(f"{path}.demand", t.get("demand")),
        return_fraction=number(
            f"{path}.return_fraction", t.get("return_fraction", 1.0), low=0, high=1
        ),
        mesh=mesh,
    )


def _demand(path: str, t: Any) -> Demand:
    table = _table(path, t)
    kind = _choice(f"{path}.kind", table.get("kind"), DEMAND_KINDS)
    known_keys(path, table, DEMAND_KEYS[kind])
    if kind == "poisson":
        return Demand(
            kind, per_day=number(f"{path}.per_day", table.get("per_day"), low=0, open_low=True)
        )
    if kind == "scheduled":
        return Demand(
            kind,
            every_days=number(f"{path}.every_days", table.get("every_days"), low=0, open_low=True),
        )
    fleet = table.get("in_service")
    if isinstance(fleet, bool) or not isinstance(fleet, int) or not 1 <= fleet <= MAX_FLEET:
        raise InvalidInput(
            "bad fleet size",
            field=f"{path}.in_service",
            value=fleet,
            expected=f"an integer in [1, {MAX_FLEET}]",
        )
    return Demand(kind, in_service=fleet)


def _printable(path: str, part: Part, machines: tuple[Machine, ...]) -> None:
    able = [m for m in machines if part.material in m.materials]
    if not able:
        raise InvalidInput(
            f"no machine prints material {part.material!r}",
            field=f"{path}.material",
            value=part.material,
            expected="a material listed in some machine's materials",
        )
    if not any(fits(part.bbox_mm, m.build_volume_mm) for m in able):
        raise InvalidInput(
            "the part is larger than every build volume that prints its material",
            field=f"{path}.bbox_mm",
            value=list(part.bbox_mm),
            expected=f"within one of {[list(m.build_volume_mm) for m in able]} (x, y, z in mm)",
        )


def fits(bbox: tuple[float, float, float], volume: tuple[float, float, float]) -> bool:
    # On the plate a part may turn 90 degrees; its height stays z (supports, orientation).
    x, y, z = bbox
    vx, vy, vz = volume
    return z <= vz and ((x <= vx and y <= vy) or (y <= vx and x <= vy))


def _array(doc: Mapping[str, Any], key: str) -> list[tuple[int, Mapping[str, Any]]]:
    items = doc.get(key)
    if not isinstance(items, list) or not items:
        raise InvalidInput(
            f"at least one [[{key}]] table is needed",
            field=key,
            value=items,
            expected=f"one or more [[{key}]] tables",
        )
    if len(items) > MAX_ENTRIES:
        raise InvalidInput(
            "too many entries", field=key, value=len(items), expected=f"at most {MAX_ENTRIES}"
        )
    return [(i, _table(f"{key}[{i}]", t)) for i, t in enumerate(items)]


def _table(path: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput("a table is needed", field=path, value=value, expected="a TOML table")
    return value


def _text(path: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise InvalidInput("missing or bad text", field=path, value=value, expected="a short name")
    return value


def _choice(path: str, value: Any, options: tuple[str, ...]) -> str:
    if value not in options:
        raise InvalidInput(
            "not a known choice", field=path, value=value, expected=f"one of {', '.join(options)}"
        )
    return str(value)


def _reference(path: str, value: Any, ids: set[str]) -> str:
    if value not in ids:
        raise InvalidInput(
            "no such material",
            field=path,
            value=value,
            expected=f"a [[material]] id: {', '.join(sorted(ids))}",
        )
    return str(value)


def _triple(path: str, value: Any) -> tuple[float, float, float]:
    if not isinstance(value, list) or len(value) != 3:
        raise InvalidInput("needs [x, y, z]", field=path, value=value, expected="[x, y, z] in mm")
    x, y, z = (number(f"{path}[{i}]", v, low=0, open_low=True) for i, v in enumerate(value))
    return (x, y, z)


def _unique(kind: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for i, item in enumerate(ids):
        if item in seen:
            raise InvalidInput(
                "duplicate id", field=f"{kind}[{i}].id", value=item, expected="a unique id"
            )
        seen.add(item)
