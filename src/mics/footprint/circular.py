"""A product's circularity: the EMF MCI (2019) and the PEF CFF of each material.

:func:`circularity` reads the product's parts with their end-of-life fates
(``end_of_life.csv`` or the product's profile) into the EMF & Granta
Material Circularity Indicator, 2019 methodology (biological feedstock from
sustained production, energy recovery of sustained biological material), and
the Circular Footprint Formula of Rec. (EU) 2021/2279 Annex I §4.4.8 per
material (:mod:`mics.footprint.end_of_life`). :func:`system_model` builds the
product's life-cycle model on a compiled system (shared with the footprint).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mics.footprint.circularity import (
    MaterialInput,
    ProductCircularity,
    ProductInput,
    product_circularity,
)
from mics.footprint.end_of_life import METHOD, MaterialCff, material_cff
from mics.footprint.inventory import LifeCycleModel, Part, fate_shares, life_cycle
from mics.footprint.lca import LcaSystem
from mics.footprint.parameters import GridScenario, LifeCycleParameters
from mics.footprint.profile import Profile


@dataclass(frozen=True)
class ProductFacts:
    """What the registry says about a product, its BOM flattened into parts."""

    id: str
    gtin: str
    name: str
    sector: str
    lifetime_years: float
    parts: tuple[Part, ...]
    assemblies: tuple[tuple[str, float, str], ...] = ()  # sub-products: (name, kg, process)


@dataclass(frozen=True, eq=False)
class Circularity:
    product: ProductFacts
    mci: ProductCircularity
    cff: tuple[MaterialCff, ...]
    assumptions: tuple[str, ...] = field(default_factory=tuple)

    @property
    def cff_total(self) -> float:
        return math.fsum(m.result.total for m in self.cff)

    def as_json(self) -> dict[str, Any]:
        mci = self.mci
        return {
            "product": self.product.id,
            "mci": mci.mci,
            "linear_flow_index": mci.linear_flow_index,
            "utility": mci.utility,
            "utility_factor": mci.utility_factor,
            "mass_kg": mci.mass,
            "recycled_content": mci.recycled_content,
            "reused_content": mci.reused_content,
            "bio_based_content": mci.bio_based_content,
            "sustained_content": mci.sustained_content,
            "mci_method": mci.method,
            "materials": [vars(m) for m in mci.materials],
            "cff": {
                "method": METHOD,
                "unit": "kg CO2e",
                "total": self.cff_total,
                "materials": [
                    {
                        "material": m.material,
                        "component": m.component,
                        "category": m.category,
                        "mass_kg": m.mass_kg,
                        "parameters": vars(m.parameters),
                        "recycling_process": m.recycling_process,
                        "terms": vars(m.result),
                    }
                    for m in self.cff
                ],
            },
            "assumptions": list(self.assumptions),
        }


def circularity(
    product: ProductFacts,
    system: LcaSystem,
    params: LifeCycleParameters,
    profile: Profile,
    lifetime_years: float | None = None,
) -> Circularity:
    """EMF MCI of the product and the PEF CFF (GWP100) of each of its materials."""
    lifetime = lifetime_years or product.lifetime_years
    system_model(product, product.parts, lifetime, profile, params, system)  # checks the inputs
    notes = list(profile.assumptions)
    inputs = []
    for part in product.parts:
        fate, _ = params.fate(part.category)
        _, incineration, recycling = fate_shares(part, params, profile)
        kept = 1.0 - profile.collected_for_reuse
        recovered = recycling + incineration * fate.bottom_ash_recovery
        sustained = min(
            part.bio_based_share * profile.sustained_production.get(part.category, 0.0),
            1.0 - part.recycled_share - profile.reused_feedstock,
        )
        inputs.append(
            MaterialInput(
                name=f"{part.component} ({part.material})",
                mass=part.mass_kg,
                recycled_feedstock=part.recycled_share,
                reused_feedstock=profile.reused_feedstock,
                collected_for_recycling=recovered * kept,
                collected_for_reuse=profile.collected_for_reuse,
                recycling_efficiency=fate.recycling_efficiency,
                feedstock_recycling_efficiency=fate.feedstock_recycling_efficiency,
                bio_based=part.bio_based_share,
                sustained_feedstock=max(sustained, 0.0),
                energy_recovery=incineration * kept * max(sustained, 0.0),
            )
        )
    mci = product_circularity(
        ProductInput(
            name=product.name,
            materials=tuple(inputs),
            lifetime=lifetime,
            average_lifetime=profile.average_lifetime_years or product.lifetime_years,
            functional_units=profile.functional_units,
            average_functional_units=profile.average_functional_units,
        )
    )
    cff = tuple(material_cff(part, system, params, profile, notes) for part in product.parts)
    return Circularity(product, mci, cff, tuple(dict.fromkeys(notes)))


def system_model(
    product: ProductFacts,
    parts: Sequence[Part],
    lifetime: float,
    profile: Profile,
    params: LifeCycleParameters,
    system: LcaSystem,
    grid: GridScenario | None = None,
) -> LifeCycleModel:
    """The product's life-cycle model on ``system``: its units and its direct inputs."""
    units = {p.id: p.unit for p in system.processes}

    def direct_input(process: str, provider: str) -> float:
        """Amount of ``provider`` per unit of ``process`` (0 when it has none)."""
        if process not in system.index or provider not in system.index:
            return 0.0
        return -float(system.technosphere[system.index[provider], system.index[process]])

    return life_cycle(
        product.id,
        parts,
        lifetime,
        profile,
        params,
        units,
        product.assemblies,
        direct_input=direct_input,
        grid=grid,
    )
