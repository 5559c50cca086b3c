"""What a part's material purchase demands: the virgin/recycled mix and the supplier's country.

- :func:`material_mix`: the registry's ``recycled_share`` (``R1`` of the MCI and
  the CFF) splits the purchase between the virgin process and its recycled
  twin (``recycling_routes.csv``), so LCA, MCI and CFF describe one material.
- :func:`supplier_lines`: a material process modelled in another country than
  the registry's supplier (``regional.csv``) gets correction lines: its grid
  electricity swapped for the supplier country's grid, its own delivery leg
  taken out (the product's transport legs from the supplier's country replace
  it), so each is counted once.
- :class:`Units`: reference units of the dataset's processes and conversions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from mics.errors import InvalidInput
from mics.footprint.lines import DemandLine, Part, Stage
from mics.footprint.matrices import UNITS
from mics.footprint.parameters import LifeCycleParameters


def material_mix(
    part: Part, params: LifeCycleParameters, notes: list[str] | None = None
) -> tuple[tuple[str, float, str], ...]:
    """(process, share, label) of the material bought: virgin and recycled by the registry.

    The registry's ``recycled_share`` is the recycled content ``R1`` of the MCI
    and the CFF; here it splits the purchase between the virgin process and its
    recycled twin (``recycling_routes.csv``). Without a twin the whole purchase
    stays on the material's process and a note says so.
    """
    assert part.lca_process is not None
    own = part.lca_process
    virgin = params.virgin_twin.get(own, own)
    recycled = params.recycled_twin.get(virgin)
    r1 = part.recycled_share
    if recycled is None:
        if r1 > 0 and notes is not None:
            notes.append(
                f"recycled share {r1:.0%} of {part.material!r}: {own!r} has no recycled twin "
                "in recycling_routes.csv, so the LCA keeps the whole purchase on it"
            )
        return ((own, 1.0, "virgin"),)
    mix = ((virgin, 1.0 - r1, "virgin"), (recycled, r1, f"recycled {r1:.0%}"))
    kept = tuple(m for m in mix if m[1] > 0)
    if notes is not None and own not in {m[0] for m in kept}:
        notes.append(
            f"{part.material!r} names {own!r} but its recycled share is {r1:.0%}: the LCA "
            "follows the share (recycling_routes.csv)"
        )
    return kept


def supplier_lines(
    part: Part,
    params: LifeCycleParameters,
    units: Units,
    direct_input: Callable[[str, str], float],
    notes: list[str],
) -> list[DemandLine]:
    """Corrections of a material process modelled elsewhere than its supplier (regional.csv)."""
    out: list[DemandLine] = []
    for process, amount in _bought(part, params, units):
        for target, role in params.regional.get(process, ()):
            per_unit = direct_input(process, target)
            if per_unit == 0.0:
                continue
            stage: Stage = "materials"
            if role == "delivery":
                stage = "transport"
                swap = [(target, -per_unit, f"{process}: its own delivery leg, replaced")]
            else:
                grid = f"electricity_{part.country.lower()}"
                if grid == target:
                    continue
                if grid not in units.process_units:
                    notes.append(
                        f"{part.material!r} from {part.country}: the dataset has no {grid}, so "
                        f"{process} keeps {target}"
                    )
                    continue
                swap = [
                    (target, -per_unit, f"{process}: grid of {target}, replaced"),
                    (grid, per_unit, f"{process}: supplier's grid ({part.country})"),
                ]
                notes.append(
                    f"{part.material!r} comes from {part.country}: {process} uses {grid} instead "
                    f"of {target} (regional.csv)"
                )
            for provider, amount_per_unit, activity in swap:
                out.append(
                    DemandLine(
                        stage,
                        provider,
                        amount_per_unit * amount,
                        units.unit(provider, ""),
                        part.material,
                        part.component,
                        activity,
                    )
                )
    return out


def _bought(part: Part, params: LifeCycleParameters, units: Units) -> list[tuple[str, float]]:
    route = params.route(part.process, "process")
    bought = part.mass_kg * route.material_factor
    return [
        (process, units.material(process, bought * share, part.material))
        for process, share, _ in material_mix(part, params)
    ]


class Units:
    """Reference units of the dataset's processes and conversions into them."""

    def __init__(self, process_units: Mapping[str, str], params: LifeCycleParameters) -> None:
        self.process_units = process_units
        self.params = params

    def unit(self, process: str, material: str) -> str:
        if process not in self.process_units:
            who = f"material {material!r}" if material else "a life-cycle parameter table"
            raise InvalidInput(
                f"missing provider: {who} needs process {process!r}, which the dataset does "
                "not have; use a process id of the dataset or import one that has it",
                field="lca_process" if material else "process",
                value=process,
                expected="a process id of the inventory dataset",
            )
        return self.process_units[process]

    def check(self, process: str, unit: str, where: str) -> float:
        """The factor from ``unit`` to the process's reference unit (same dimension only)."""
        reference = self.unit(process, "")
        if unit not in UNITS or UNITS[unit][0] != UNITS.get(reference, ("?", 0.0))[0]:
            raise InvalidInput(
                f"{where}: unit {unit!r} does not fit process {process!r}, which is per "
                f"{reference!r}; give the amount in {reference}",
                field=where,
                value=unit,
                expected=reference,
            )
        return UNITS[unit][1] / UNITS[reference][1]

    def material(self, process: str, kg: float, material: str) -> float:
        """``kg`` of material in the reference unit of its process (m2, item, ...)."""
        reference = self.unit(process, material)
        if reference in UNITS and UNITS[reference][0] == "mass":
            return kg / UNITS[reference][1]
        if process in self.params.kg_per_unit:
            unit, per_unit = self.params.kg_per_unit[process]
            if unit == reference:
                return kg / per_unit
        raise InvalidInput(
            f"unknown units: material {material!r} is counted in kg but its process "
            f"{process!r} is per {reference!r}; add a row 'process,unit,kg_per_unit,source' "
            "for it to src/mics/footprint/data/conversions.csv",
            field=f"materials.{material}.lca_process",
            value=process,
            expected=f"a conversion from kg to {reference}",
        )
