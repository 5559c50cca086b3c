"""End of life of a product's materials: CFF inputs and the biogenic carbon balance.

- :func:`material_cff` feeds the PEF Circular Footprint Formula (Rec. (EU)
  2021/2279 Annex I §4.4.8) of one material from the dataset and the
  parameter tables: ``Ev`` of the virgin process, ``Erec`` of its recycled
  twin, ``ErecEoL`` of the material's recycling route and ``E*v`` of the virgin
  process that route's output substitutes (``recycling_routes.csv``). ``R2`` is
  the share actually recycled: collection for recycling times the recycling
  yield, plus metals recovered from incinerator bottom ash; ``R3`` the rest of
  the incinerated share. A material without a recycling route gets ``R2 = 0``:
  no credit and no burden.
- :func:`biogenic_carbon` keeps the biogenic carbon of a product's bio-based
  materials apart from the GWP's fossil carbon (EN 16449:2014 for wood, EN
  16485:2014 §6.3.4 and ISO 14067 §6.4.9.3): the CO2 stored in the product at
  the gate, released at end of life (incineration; the landfill's degraded
  carbon), kept in the landfill, and passed to recycling.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mics.footprint.cff import CffParameters, CffResult, circular_footprint
from mics.footprint.inventory import Part, fate_shares
from mics.footprint.lca import LcaSystem
from mics.footprint.parameters import LifeCycleParameters
from mics.footprint.profile import Profile

METHOD = "gwp100"
CO2_PER_C = 44.0 / 12.0  # kg CO2 per kg C (EN 16449 §5, Eq. 1)
_MJ_PER_KWH = 3.6


@dataclass(frozen=True)
class MaterialCff:
    material: str
    component: str
    category: str
    mass_kg: float
    parameters: CffParameters
    result: CffResult
    recycling_process: str | None  # ErecEoL's process; None: no recycling route


def material_cff(
    part: Part,
    system: LcaSystem,
    params: LifeCycleParameters,
    profile: Profile,
    notes: list[str],
) -> MaterialCff:
    """The CFF (GWP100) of one part's material, per kg E values from the dataset."""
    assert part.lca_process is not None  # the life-cycle model has checked it
    cat, default = params.cff_category(part.category)
    if default:
        notes.append(f"CFF parameters of category {part.category!r}: MICS default '*' used")
    fate, _ = params.fate(part.category)
    _, incineration, recycling = fate_shares(part, params, profile)
    virgin = params.virgin_twin.get(part.lca_process, part.lca_process)
    recycled = params.recycled_twin.get(virgin)
    route = params.recycling_route(part.lca_process)
    e_v = per_kg(system, params, virgin)
    e_rec = e_v
    if recycled is not None:
        e_rec = per_kg(system, params, recycled)
    elif part.recycled_share > 0:
        notes.append(
            f"CFF of {part.material!r}: no recycled twin of {virgin!r}, so its recycled content "
            "is valued at Ev (recycling_routes.csv)"
        )
    ash = incineration * fate.bottom_ash_recovery
    if route is None:
        r2, e_rec_eol, e_v_star = 0.0, 0.0, 0.0
        notes.append(
            f"CFF of {part.material!r}: no recycling route for {virgin!r} in "
            "recycling_routes.csv, so R2 = 0 (no credit, no burden); what is collected "
            "for recycling counts as disposal"
        )
    else:
        r2 = recycling * fate.recycling_efficiency + ash
        e_rec_eol = per_kg(system, params, route.recycling_process)
        e_v_star = per_kg(system, params, route.substituted)
    disposal = [(p, s) for r, p, s in fate.processes(part.bio_based_share) if r == "landfill"]
    burning = [(p, s) for r, p, s in fate.processes(part.bio_based_share) if r == "incineration"]
    parameters = CffParameters(
        a=cat.a,
        r1=part.recycled_share,
        r2=min(r2, 1.0),
        r3=incineration - ash if route is not None else incineration,
        e_v=e_v,
        e_rec=e_rec,
        e_rec_eol=e_rec_eol,
        e_v_star=e_v_star,
        e_d=_weighted(system, params, disposal),
        q_sin_qp=cat.q_sin_qp,
        q_sout_qp=cat.q_sout_qp,
        e_er=_weighted(system, params, burning),
        lhv=cat.lhv_mj_kg,
        x_er_heat=cat.x_er_heat,
        x_er_elec=cat.x_er_elec,
        e_se_heat=system.score({profile.heat_process: 1.0}, METHOD),
        e_se_elec=system.score({profile.electricity_process: 1.0}, METHOD) / _MJ_PER_KWH,
    )
    result = circular_footprint(parameters, part.mass_kg)
    return MaterialCff(
        part.material,
        part.component,
        part.category,
        part.mass_kg,
        parameters,
        result,
        route.recycling_process if route is not None else None,
    )


def per_kg(system: LcaSystem, params: LifeCycleParameters, process: str) -> float:
    """GWP100 of 1 kg of a process's product (converting m2 or items by conversions.csv)."""
    per_unit = system.score({process: 1.0}, METHOD)
    unit = system.processes[system.index[process]].unit
    if unit == "kg":
        return per_unit
    return per_unit / params.kg_per_unit[process][1]


def _weighted(
    system: LcaSystem, params: LifeCycleParameters, processes: Sequence[tuple[str, float]]
) -> float:
    return math.fsum(per_kg(system, params, p) * share for p, share in processes)


@dataclass(frozen=True)
class BiogenicCarbon:
    """kg CO2 of one material's biogenic carbon, from the gate to its end of life."""

    material: str
    component: str
    family: str
    in_product: float  # stored in the product at the factory gate
    released_incineration: float
    released_landfill: float  # degraded in the landfill (as CO2 and CH4 carbon)
    stored_landfill: float  # not degraded: long-term storage in the landfill
    passed_to_recycling: float  # leaves the system in the recycled material

    @property
    def released(self) -> float:
        return self.released_incineration + self.released_landfill


def biogenic_carbon(
    parts: Sequence[Part], params: LifeCycleParameters, profile: Profile
) -> tuple[BiogenicCarbon, ...]:
    """The biogenic carbon of each bio-based part, kept apart from fossil carbon.

    ``in_product`` = 44/12 x carbon of the bio-based dry matter (EN 16449 Eq. 1,
    with the waste family's dry-matter and carbon fractions of IPCC 2006 Vol. 5
    Table 2.4), less its fossil carbon fraction. At end of life it is released
    by incineration (oxidation factor), degraded in a landfill (DOC x DOCf x MCF
    of the carbon), stored there (the rest), or passed to recycling.
    """
    out = []
    for part in parts:
        fate, _ = params.fate(part.category)
        family = params.waste.get(fate.bio_landfill_process or fate.landfill_process)
        if family is None or part.bio_based_share <= 0 or family.carbon <= 0:
            continue
        content = (
            part.mass_kg
            * part.bio_based_share
            * family.carbon
            * (1.0 - family.fossil_carbon_fraction)
            * CO2_PER_C
        )
        landfill, incineration, recycling = fate_shares(part, params, profile)
        degraded = min(1.0, family.landfill_degraded / family.carbon)
        burnt = content * incineration * family.oxidation_factor
        out.append(
            BiogenicCarbon(
                part.material,
                part.component,
                family.family,
                content,
                burnt,
                content * landfill * degraded,
                content * landfill * (1.0 - degraded)
                + content * incineration * (1.0 - family.oxidation_factor),
                content * recycling,
            )
        )
    return tuple(out)


def biogenic_json(balance: Sequence[BiogenicCarbon]) -> dict[str, Any]:
    """The balance as the footprint's JSON reports it (kg CO2)."""
    return {
        "unit": "kg CO2",
        "standard": "EN 16449:2014 (wood), EN 16485:2014 §6.3.4; IPCC 2006 Vol. 5 Table 2.4",
        "note": "kept apart from the GWP100, which counts biogenic CO2 as 0 (uptake and "
        "release) and biogenic CH4 from landfills at its GWP",
        "in_product": math.fsum(b.in_product for b in balance),
        "released_at_end_of_life": math.fsum(b.released for b in balance),
        "stored_in_landfill": math.fsum(b.stored_landfill for b in balance),
        "passed_to_recycling": math.fsum(b.passed_to_recycling for b in balance),
        "materials": [vars(b) | {"released": b.released} for b in balance],
    }
