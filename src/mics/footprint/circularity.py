"""Material Circularity Indicator (Ellen MacArthur Foundation & Granta, 2015, rev. 2019).

The 2019 methodology adds the biological cycle to the 2015 one: biological
feedstock from sustained production (``F_S``) is not virgin feedstock, and
biological material composted (``C_C``) or, when it comes from sustained
production, sent to energy recovery (``C_E``) is not unrecoverable waste.
For each material (or component) of mass ``M``::

    V   = M (1 - F_R - F_U - F_S)           virgin feedstock
    W0  = M (1 - C_R - C_U - C_C - C_E)     unrecoverable waste after use
    W_C = M (1 - E_C) C_R                   waste of recycling the product at end of life
    W_F = M (1 - E_F) F_R / E_F             waste of making the recycled feedstock
    W   = W0 + (W_F + W_C) / 2
    LFI = (V + W) / (2M + (W_F - W_C) / 2)  linear flow index
    X   = (L / L_av) (U / U_av)             utility; F(X) = 0.9 / X
    MCI = max(0, 1 - LFI F(X))

A product of several materials sums ``M``, ``V``, ``W``, ``W_F`` and ``W_C`` over its
materials before taking the ratio, so each material weighs by its mass; the
utility ``X`` belongs to the product as a whole. A fully linear product of
average utility scores 0.1, one made of and going entirely to reuse scores 1.
Recycled, reused and bio-based contents are reported as shares of the mass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mics.errors import InvalidInput

# F(X) = UTILITY_CONSTANT / X: the EMF choice that makes a fully linear, average product 0.1.
UTILITY_CONSTANT = 0.9
METHOD = (
    "EMF & Granta, Circularity Indicators methodology 2019 (MCI with the biological cycle: "
    "F_S sustained biological feedstock in V; composting C_C and energy recovery C_E of "
    "sustained biological material in W0)"
)


@dataclass(frozen=True)
class MaterialInput:
    """One material or component of a product, with its feedstock and end-of-life shares."""

    name: str
    mass: float  # M, kg
    recycled_feedstock: float  # F_R, share of M from recycled sources
    reused_feedstock: float  # F_U, share of M from reused components
    collected_for_recycling: float  # C_R, share of M collected for recycling after use
    collected_for_reuse: float  # C_U, share of M going to reuse after use
    recycling_efficiency: float  # E_C, yield of recycling this product at end of life
    feedstock_recycling_efficiency: float  # E_F, yield of the process making the recycled feedstock
    bio_based: float = 0.0  # share of M from biological feedstock
    sustained_feedstock: float = 0.0  # F_S, share of M biological from sustained production
    composted: float = 0.0  # C_C, share of M composted after use (biological material only)
    energy_recovery: float = 0.0  # C_E, share of M to energy recovery (sustained bio only)


@dataclass(frozen=True)
class ProductInput:
    """A product: its materials and how long and how intensively it is used."""

    name: str
    materials: tuple[MaterialInput, ...]
    lifetime: float  # L
    average_lifetime: float  # L_av, of the industry-average product of this type
    functional_units: float = 1.0  # U, uses per lifetime
    average_functional_units: float = 1.0  # U_av


@dataclass(frozen=True)
class MaterialCircularity:
    """Mass flows (kg) and indices of one material; ``mci`` uses the product's utility."""

    name: str
    mass: float
    virgin_feedstock: float  # V
    waste_after_use: float  # W0
    waste_recycling: float  # W_C
    waste_feedstock: float  # W_F
    unrecoverable_waste: float  # W
    linear_flow_index: float
    mci: float


@dataclass(frozen=True)
class ProductCircularity:
    """The product's MCI with its materials, utility and mass shares of contents."""

    name: str
    mass: float
    utility: float  # X
    utility_factor: float  # F(X)
    linear_flow_index: float
    mci: float
    recycled_content: float
    reused_content: float
    bio_based_content: float
    materials: tuple[MaterialCircularity, ...]
    sustained_content: float = 0.0  # share of the mass from sustained biological production
    method: str = METHOD


def product_circularity(product: ProductInput) -> ProductCircularity:
    """The EMF Material Circularity Indicator of a product and of each of its materials."""
    if not product.materials:
        raise InvalidInput(
            "a product needs at least one material",
            field="materials",
            value=[],
            expected="one MaterialInput per material or component",
        )
    utility = _utility(product)
    factor = UTILITY_CONSTANT / utility
    materials = tuple(_material(m, k, factor) for k, m in enumerate(product.materials))
    mass = sum(m.mass for m in materials)
    lfi = _lfi(
        mass,
        sum(m.virgin_feedstock for m in materials),
        sum(m.unrecoverable_waste for m in materials),
        sum(m.waste_feedstock for m in materials),
        sum(m.waste_recycling for m in materials),
    )
    inputs = product.materials
    return ProductCircularity(
        product.name,
        mass,
        utility,
        factor,
        lfi,
        max(0.0, 1.0 - lfi * factor),
        sum(m.mass * m.recycled_feedstock for m in inputs) / mass,
        sum(m.mass * m.reused_feedstock for m in inputs) / mass,
        sum(m.mass * m.bio_based for m in inputs) / mass,
        materials,
        sum(m.mass * m.sustained_feedstock for m in inputs) / mass,
    )


def _material(m: MaterialInput, k: int, factor: float) -> MaterialCircularity:
    where = f"materials[{k}] ({m.name})"
    _positive(m.mass, f"{where}.mass", "a mass in kg > 0")
    for field, share in (
        ("recycled_feedstock", m.recycled_feedstock),
        ("reused_feedstock", m.reused_feedstock),
        ("collected_for_recycling", m.collected_for_recycling),
        ("collected_for_reuse", m.collected_for_reuse),
        ("bio_based", m.bio_based),
        ("sustained_feedstock", m.sustained_feedstock),
        ("composted", m.composted),
        ("energy_recovery", m.energy_recovery),
    ):
        if not 0.0 <= share <= 1.0:
            raise InvalidInput(
                f"{where}: share {field} must be between 0 and 1",
                field=f"{where}.{field}",
                value=share,
                expected="a share in [0, 1] (0.25 for 25 %)",
            )
    for field, total in (
        (
            "recycled_feedstock + reused_feedstock + sustained_feedstock",
            m.recycled_feedstock + m.reused_feedstock + m.sustained_feedstock,
        ),
        (
            "collected_for_recycling + collected_for_reuse + composted + energy_recovery",
            m.collected_for_recycling + m.collected_for_reuse + m.composted + m.energy_recovery,
        ),
    ):
        if total > 1.0 + 1e-12:
            raise InvalidInput(
                f"{where}: {field} is {total}, more than the whole mass",
                field=f"{where}.{field}",
                value=total,
                expected="<= 1",
            )
    for field, efficiency in (
        ("recycling_efficiency", m.recycling_efficiency),
        ("feedstock_recycling_efficiency", m.feedstock_recycling_efficiency),
    ):
        if not 0.0 < efficiency <= 1.0:
            raise InvalidInput(
                f"{where}: {field} must be in (0, 1]",
                field=f"{where}.{field}",
                value=efficiency,
                expected="a yield in (0, 1], e.g. 0.85",
            )
    for field, share, limit, what in (
        ("sustained_feedstock", m.sustained_feedstock, m.bio_based, "bio_based"),
        ("composted", m.composted, m.bio_based, "bio_based"),
        ("energy_recovery", m.energy_recovery, m.sustained_feedstock, "sustained_feedstock"),
    ):
        if share > limit + 1e-12:
            raise InvalidInput(
                f"{where}: {field} {share} exceeds {what} {limit}: the 2019 methodology counts "
                "it only for biological material"
                + (" from sustained production" if field == "energy_recovery" else ""),
                field=f"{where}.{field}",
                value=share,
                expected=f"<= {what} ({limit})",
            )
    mass = m.mass
    virgin = mass * (1.0 - m.recycled_feedstock - m.reused_feedstock - m.sustained_feedstock)
    after_use = mass * (
        1.0 - m.collected_for_recycling - m.collected_for_reuse - m.composted - m.energy_recovery
    )
    recycling = mass * (1.0 - m.recycling_efficiency) * m.collected_for_recycling
    feedstock = mass * (1.0 - m.feedstock_recycling_efficiency) * m.recycled_feedstock
    feedstock /= m.feedstock_recycling_efficiency
    waste = after_use + (feedstock + recycling) / 2.0
    lfi = _lfi(mass, virgin, waste, feedstock, recycling)
    return MaterialCircularity(
        m.name,
        mass,
        virgin,
        after_use,
        recycling,
        feedstock,
        waste,
        lfi,
        max(0.0, 1.0 - lfi * factor),
    )


def _lfi(mass: float, virgin: float, waste: float, feedstock: float, recycling: float) -> float:
    return (virgin + waste) / (2.0 * mass + (feedstock - recycling) / 2.0)


def _utility(product: ProductInput) -> float:
    _positive(product.lifetime, "lifetime", "a lifetime > 0 (years, cycles, ...)")
    _positive(product.average_lifetime, "average_lifetime", "> 0, in the unit of lifetime")
    _positive(product.functional_units, "functional_units", "uses per lifetime > 0")
    _positive(product.average_functional_units, "average_functional_units", "> 0")
    return (product.lifetime / product.average_lifetime) * (
        product.functional_units / product.average_functional_units
    )


def _positive(value: float, field: str, expected: str) -> None:
    if not (math.isfinite(value) and value > 0.0):
        raise InvalidInput(
            f"must be a finite number > 0, got {value}", field=field, value=value, expected=expected
        )
