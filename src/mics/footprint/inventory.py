"""A product's life cycle as demand on the inventory, line by line (ISO 14044 §4.2.3.3).

The bill of materials (leaf :class:`Part` s, sub-products already expanded) and
the life-cycle parameters become :class:`DemandLine` s, each an amount of one
dataset process tagged with its life-cycle stage, material and component:

- ``materials``: the material bought, ``mass x yield`` of the part's
  manufacturing route, in the material process's reference unit, split into
  the virgin process and its recycled twin by the registry's recycled share
  (``recycling_routes.csv``), so that LCA, MCI and CFF see the same material;
- ``supplier``: where the material's dataset process was modelled in another
  country than the registry's supplier (``regional.csv``), its grid electricity
  is swapped for the supplier's grid and its own delivery leg taken out (the
  product's transport legs replace it), as correction lines of the process;
- ``manufacturing``: the route's inputs per kg of part (workshop energy, ...);
- ``transport``: ``bought mass x distance`` for each leg from the material's
  country of origin to Italy;
- ``use``: ``kWh/year x lifetime`` of grid electricity, times the mean
  intensity factor of a grid scenario over the lifetime when one is chosen;
- ``end_of_life``: the part's mass to landfill and incineration by its
  category's shares, the bio-based share to the biogenic family's processes
  (IPCC 2006 Vol. 5 per waste family); recycling is cut-off (no burden in
  this product).

Because matrix LCA is linear, the product's score is the sum of its lines'
scores, so every breakdown (by stage, material, process) sums to the total.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

from mics.errors import InvalidInput
from mics.footprint.lines import STAGES, USE_PHASE, DemandLine, LifeCycleModel, Part, Stage
from mics.footprint.parameters import GridScenario, LifeCycleParameters
from mics.footprint.profile import Profile
from mics.footprint.supply import Units, material_mix, supplier_lines

__all__ = ["STAGES", "USE_PHASE", "DemandLine", "LifeCycleModel", "Part", "Stage", "material_mix"]


def life_cycle(
    product: str,
    parts: Sequence[Part],
    lifetime_years: float,
    profile: Profile,
    params: LifeCycleParameters,
    process_units: Mapping[str, str],
    assemblies: Sequence[tuple[str, float, str]] = (),
    *,
    direct_input: Callable[[str, str], float] | None = None,
    grid: GridScenario | None = None,
) -> LifeCycleModel:
    """The demand lines of a product; ``assemblies`` are (name, mass, process) of sub-products.

    ``process_units`` maps each dataset process id to its reference unit; a
    process the dataset lacks raises a "missing provider" error naming who needs it.
    ``direct_input(process, input)`` is the amount of a direct input per unit of
    a process (for the supplier corrections); ``grid`` a grid scenario.
    """
    if not (isinstance(lifetime_years, (int, float)) and math.isfinite(lifetime_years)):
        lifetime_years = float("nan")
    if not lifetime_years > 0:
        raise InvalidInput(
            "the lifetime must be a number of years > 0",
            field="lifetime_years",
            value=lifetime_years,
            expected="> 0 years; fix the product (PATCH /api/products/{id}) or the variant",
        )
    if not parts:
        raise InvalidInput(
            f"product {product!r} has no materials in its bill of materials; add components",
            field="components",
            value=[],
            expected="at least one component with a material",
        )
    units = Units(process_units, params)
    lines: list[DemandLine] = []
    notes: list[str] = list(profile.assumptions)
    for k, part in enumerate(parts):
        lines.extend(_part_lines(part, k, params, profile, units, notes))
        if direct_input is not None:
            lines.extend(supplier_lines(part, params, units, direct_input, notes))
    for k, (name, mass, process) in enumerate(assemblies):
        route = params.route(process, f"assemblies[{k}].process ({name})")
        for target, per_kg, unit in route.inputs:
            lines.append(
                DemandLine(
                    "manufacturing",
                    target,
                    units.check(target, unit, f"manufacturing.csv {route.name}") * per_kg * mass,
                    units.unit(target, ""),
                    "",
                    name,
                    route.name,
                )
            )
    kwh = profile.use_kwh_per_year * lifetime_years
    if kwh > 0:
        grid_process = profile.electricity_process
        factor, activity = 1.0, "use"
        if grid is not None and grid.process == grid_process:
            factor = grid.mean_factor(profile.first_year_of_use, lifetime_years)
            activity = f"use, grid scenario {grid.name}"
            notes.append(
                f"use phase on grid scenario {grid.name!r}: {grid_process} averages "
                f"{factor:.3f} of its dataset intensity over {lifetime_years:g} years from "
                f"{profile.first_year_of_use:g} (grid_scenarios.csv; {grid.source}); the use "
                "line is in kWh at the dataset's intensity"
            )
        elif grid is not None:
            notes.append(
                f"grid scenario {grid.name!r} is for {grid.process}, not {grid_process}: "
                "not applied"
            )
        lines.append(
            DemandLine(
                "use",
                grid_process,
                units.check(grid_process, "kWh", "profile electricity_process") * kwh * factor,
                units.unit(grid_process, ""),
                USE_PHASE,
                "",
                activity,
            )
        )
    return LifeCycleModel(
        product,
        float(lifetime_years),
        sum(p.mass_kg for p in parts),
        tuple(lines),
        tuple(dict.fromkeys(notes)),
    )


def fate_shares(
    part: Part, params: LifeCycleParameters, profile: Profile
) -> tuple[float, float, float]:
    """(landfill, incineration, recycling) of a part: the profile's override, else the table."""
    if part.category in profile.end_of_life:
        landfill, incineration, recycling = profile.end_of_life[part.category]
        return landfill, incineration, recycling
    fate, _ = params.fate(part.category)
    return fate.landfill, fate.incineration, fate.recycling


def _part_lines(
    part: Part,
    k: int,
    params: LifeCycleParameters,
    profile: Profile,
    units: Units,
    notes: list[str],
) -> list[DemandLine]:
    where = f"components[{k}] ({part.component})"
    if not (math.isfinite(part.mass_kg) and part.mass_kg > 0):
        raise InvalidInput("a mass must be > 0 kg", field=f"{where}.mass_kg", value=part.mass_kg)
    for name, share in (
        ("recycled_share", part.recycled_share),
        ("bio_based_share", part.bio_based_share),
    ):
        if not 0.0 <= share <= 1.0:
            raise InvalidInput(
                f"material {part.material!r}: a share must be between 0 and 1",
                field=f"{where}.{name}",
                value=share,
                expected="0..1; fix the material in the registry",
            )
    if not part.lca_process:
        raise InvalidInput(
            f"material {part.material!r} has no lca_process, so its footprint is unknown; set "
            "it to a process id of the dataset (e.g. PATCH /api/materials/"
            f'{part.material} with {{"lca_process": "aluminium_primary"}})',
            field=f"materials.{part.material}.lca_process",
            value=None,
            expected="a process id of the inventory dataset",
        )
    route = params.route(part.process, f"{where}.process")
    bought = part.mass_kg * route.material_factor
    line = DemandLine
    out = [
        line(
            "materials",
            process,
            units.material(process, bought * share, part.material),
            units.unit(process, part.material),
            part.material,
            part.component,
            route.name if process == part.lca_process else f"{route.name}, {label}",
        )
        for process, share, label in material_mix(part, params, notes)
    ]
    for target, per_kg, unit in route.inputs:
        amount = units.check(target, unit, f"manufacturing.csv {route.name}") * per_kg
        out.append(
            line(
                "manufacturing",
                target,
                amount * part.mass_kg,
                units.unit(target, ""),
                part.material,
                part.component,
                route.name,
            )
        )
    legs, default = params.legs(part.country)
    if default:
        notes.append(
            f"transport of {part.material!r} from {part.country}: no row in transport.csv, "
            "MICS default legs '*' used"
        )
    for leg in legs:
        tkm = bought / 1000.0 * leg.distance_km * units.check(leg.mode, "t*km", "transport.csv")
        out.append(
            line(
                "transport",
                leg.mode,
                tkm,
                "t*km",
                part.material,
                part.component,
                f"{part.country} by {leg.mode}",
            )
        )
    fate, default = params.fate(part.category)
    if default and part.category not in profile.end_of_life:
        notes.append(
            f"end of life of {part.material!r} (category {part.category!r}): no row in "
            "end_of_life.csv, MICS default '*' used"
        )
    landfill, incineration, recycling = fate_shares(part, params, profile)
    shares = {"landfill": landfill, "incineration": incineration}
    for route_name, target, portion in fate.processes(part.bio_based_share):
        share = shares[route_name] * portion
        if share > 0:
            out.append(
                line(
                    "end_of_life",
                    target,
                    units.check(target, "kg", "end_of_life.csv") * share * part.mass_kg,
                    units.unit(target, ""),
                    part.material,
                    part.component,
                    route_name,
                )
            )
    if recycling > 0:
        notes.append(
            "recycling at end of life is cut-off: its burden belongs to the recycled "
            "material's next use (data/README.md, modelling choices)"
        )
    return out
