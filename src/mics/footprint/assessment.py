"""Assess a product: footprint by stage, material and process; circularity; design variants.

Pure functions over a compiled :class:`~mics.footprint.lca.LcaSystem` and a
:class:`ProductFacts` (what the registry knows). The footprint follows ISO
14044 §4.4 (LCIA with IPCC AR6 GWP100 and the dataset's other indicators)
with the contribution analysis of §4.5.3.1 and Monte Carlo uncertainty
(ISO/TS 14071); circularity is the EMF Material Circularity Indicator (2019)
and the PEF Circular Footprint Formula (Rec. (EU) 2021/2279 Annex I §4.4.8);
variants are compared per year of service with common random numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mics.footprint.cff import CffParameters, CffResult, circular_footprint
from mics.footprint.circularity import (
    MaterialInput,
    ProductCircularity,
    ProductInput,
    product_circularity,
)
from mics.footprint.inventory import (
    STAGES,
    LifeCycleModel,
    Part,
    fate_shares,
    life_cycle,
)
from mics.footprint.lca import ContributionNode, Contributions, LcaSystem
from mics.footprint.monte_carlo import Comparison, MonteCarloResult, compare, monte_carlo
from mics.footprint.parameters import LifeCycleParameters
from mics.footprint.profile import Profile
from mics.footprint.variants import Variant, apply

METHOD = "gwp100"
_MJ_PER_KWH = 3.6


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
class Footprint:
    product: ProductFacts
    dataset: str
    method: str
    unit: str
    model: LifeCycleModel
    scores: tuple[float, ...]  # one per line of ``model``
    indicators: dict[str, tuple[float, str]]
    contributions: Contributions
    uncertainty: MonteCarloResult | None = None

    @property
    def total(self) -> float:
        return math.fsum(self.by_stage.values())

    @property
    def per_year(self) -> float:
        return self.total / self.model.lifetime_years

    @property
    def by_stage(self) -> dict[str, float]:
        return {s: math.fsum(self._where(lambda line, s=s: line.stage == s)) for s in STAGES}

    @property
    def by_material(self) -> dict[str, float]:
        return self._group(lambda line: line.material)

    @property
    def by_process(self) -> dict[str, float]:
        return self._group(lambda line: line.process)

    def _where(self, keep: Any) -> list[float]:
        return [v for line, v in zip(self.model.lines, self.scores, strict=True) if keep(line)]

    def _group(self, key: Any) -> dict[str, float]:
        out: dict[str, float] = {}
        for line, value in zip(self.model.lines, self.scores, strict=True):
            out[key(line)] = out.get(key(line), 0.0) + value
        return dict(sorted(out.items(), key=lambda kv: -abs(kv[1])))

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "product": self.product.id,
            "gtin": self.product.gtin,
            "name": self.product.name,
            "dataset": self.dataset,
            "method": self.method,
            "unit": self.unit,
            self.method: self.total,
            "by_stage": self.by_stage,
            "by_material": self.by_material,
            "by_process": self.by_process,
            "lifetime_years": self.model.lifetime_years,
            "per_year": self.per_year,
            "mass_kg": self.model.mass_kg,
            "indicators": {m: {"value": v, "unit": u} for m, (v, u) in self.indicators.items()},
            "lines": [
                {
                    "stage": line.stage,
                    "process": line.process,
                    "amount": line.amount,
                    "unit": line.unit,
                    "material": line.material,
                    "component": line.component,
                    "activity": line.activity,
                    self.method: value,
                }
                for line, value in zip(self.model.lines, self.scores, strict=True)
            ],
            "contributions": contributions_json(self.contributions),
            "assumptions": list(self.model.assumptions),
        }
        if self.data_quality is not None:
            body["data_quality"] = self.data_quality
            body["data_quality_chain"] = self.data_quality_chain
        if self.uncertainty is not None:
            mc = self.uncertainty
            body[f"{self.method}_interval"] = [mc.low, mc.high]
            body["monte_carlo"] = {
                "iterations": mc.iterations,
                "seed": mc.seed,
                "mean": mc.mean,
                "median": mc.median,
                "sd": mc.sd,
                "low": mc.low,
                "high": mc.high,
            }
        return body

    # Set by service.FootprintRun.compute (mics.footprint.data_quality.checked_share): the
    # share of the total from checked rows, and the same with every figure on the way checked.
    data_quality: float | None = None
    data_quality_chain: float | None = None


@dataclass(frozen=True)
class MaterialCff:
    material: str
    component: str
    category: str
    mass_kg: float
    parameters: CffParameters
    result: CffResult


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
                        "terms": vars(m.result),
                    }
                    for m in self.cff
                ],
            },
            "assumptions": list(self.assumptions),
        }


@dataclass(frozen=True, eq=False)
class Alternative:
    variant: Variant
    baseline: Footprint
    alternative: Footprint
    baseline_mci: float
    alternative_mci: float
    comparison: Comparison | None  # per year of service, common random numbers

    def as_json(self) -> dict[str, Any]:
        base, alt = self.baseline, self.alternative
        body: dict[str, Any] = {
            "variant": self.variant.id,
            "label": self.variant.label,
            "changes": self.variant.describe(),
            "baseline": _summary(base, self.baseline_mci),
            "alternative": _summary(alt, self.alternative_mci),
            "delta": {
                METHOD: alt.total - base.total,
                "per_year": alt.per_year - base.per_year,
                "mci": self.alternative_mci - self.baseline_mci,
            },
            "significant": None,
        }
        if self.comparison is not None:
            c = self.comparison
            body["significant"] = c.significant
            body["per_year_delta_interval"] = [c.low, c.high]
            body["probability_lower"] = c.probability_lower
            body["iterations"] = c.baseline.iterations
        return body


def footprint(
    product: ProductFacts,
    system: LcaSystem,
    params: LifeCycleParameters,
    profile: Profile,
    *,
    monte_carlo_iterations: int = 0,
    cutoff: float = 0.01,
    seed: int = 0,
    method: str = METHOD,
) -> Footprint:
    """The product's footprint; Monte Carlo when ``monte_carlo_iterations`` > 0."""
    model = _model(product, product.parts, product.lifetime_years, profile, params, system)
    return score(product, model, system, monte_carlo_iterations, cutoff, seed, method)


def score(
    product: ProductFacts,
    model: LifeCycleModel,
    system: LcaSystem,
    iterations: int,
    cutoff: float,
    seed: int,
    method: str,
) -> Footprint:
    lam = system.adjoint_vector(method)
    scores = tuple(float(lam[system.index[line.process]]) * line.amount for line in model.lines)
    demand = model.demand()
    indicators = {s.method: (s.value, s.unit) for s in system.footprint(demand)}
    uncertainty = None
    if iterations:
        uncertainty = monte_carlo(system, demand, method, iterations=iterations, seed=seed)
    return Footprint(
        product,
        system.name,
        method,
        system.units[method],
        model,
        scores,
        indicators,
        system.contributions(demand, method, cutoff=cutoff),
        uncertainty,
    )


def circularity(
    product: ProductFacts,
    system: LcaSystem,
    params: LifeCycleParameters,
    profile: Profile,
    lifetime_years: float | None = None,
) -> Circularity:
    """EMF MCI of the product and the PEF CFF (GWP100) of each of its materials."""
    lifetime = lifetime_years or product.lifetime_years
    _model(product, product.parts, lifetime, profile, params, system)  # checks the inputs
    notes = list(profile.assumptions)
    inputs = []
    for part in product.parts:
        fate, _ = params.fate(part.category)
        _, _, recycling = fate_shares(part, params, profile)
        inputs.append(
            MaterialInput(
                name=f"{part.component} ({part.material})",
                mass=part.mass_kg,
                recycled_feedstock=part.recycled_share,
                reused_feedstock=profile.reused_feedstock,
                collected_for_recycling=recycling * (1.0 - profile.collected_for_reuse),
                collected_for_reuse=profile.collected_for_reuse,
                recycling_efficiency=fate.recycling_efficiency,
                feedstock_recycling_efficiency=fate.feedstock_recycling_efficiency,
                bio_based=part.bio_based_share,
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
    cff = tuple(_material_cff(part, system, params, profile, notes) for part in product.parts)
    return Circularity(product, mci, cff, tuple(dict.fromkeys(notes)))


def alternatives(
    product: ProductFacts,
    variants: Sequence[tuple[Variant, dict[str, Part]]],
    system: LcaSystem,
    params: LifeCycleParameters,
    profile: Profile,
    *,
    iterations: int = 200,
    seed: int = 0,
    method: str = METHOD,
) -> tuple[Alternative, ...]:
    """Each variant against the product, per year of service; significance by Monte Carlo."""
    base = footprint(product, system, params, profile, method=method)
    base_mci = circularity(product, system, params, profile).mci.mci
    out = []
    for variant, replacements in variants:
        parts, lifetime, changed = apply(
            variant, product.parts, product.lifetime_years, profile, replacements
        )
        twin = ProductFacts(
            product.id,
            product.gtin,
            f"{product.name} - {variant.label}",
            product.sector,
            lifetime,
            parts,
            product.assemblies,
        )
        model = _model(twin, parts, lifetime, changed, params, system)
        alt = score(twin, model, system, 0, 0.01, seed, method)
        comparison = None
        if iterations:
            comparison = compare(
                system,
                base.model.demand(1.0 / base.model.lifetime_years),
                model.demand(1.0 / lifetime),
                method,
                iterations=iterations,
                seed=seed,
            )
        alt_mci = circularity(twin, system, params, changed, lifetime).mci.mci
        out.append(Alternative(variant, base, alt, base_mci, alt_mci, comparison))
    return tuple(out)


def contributions_json(c: Contributions) -> dict[str, Any]:
    return {
        "method": c.method,
        "unit": c.unit,
        "total": c.total,
        "cutoff": c.cutoff,
        "direct": [vars(p) for p in c.direct],
        "other_direct": c.other_direct,
        "tree": [_node_json(n) for n in c.tree],
    }


def _node_json(n: ContributionNode) -> dict[str, Any]:
    return {
        "process": n.process,
        "name": n.name,
        "amount": n.amount,
        "unit": n.unit,
        "direct": n.direct,
        "total": n.total,
        "share": n.share,
        "children": [_node_json(c) for c in n.children],
    }


def _summary(f: Footprint, mci: float) -> dict[str, Any]:
    return {
        METHOD: f.total,
        "per_year": f.per_year,
        "lifetime_years": f.model.lifetime_years,
        "by_stage": f.by_stage,
        "mci": mci,
    }


def _model(
    product: ProductFacts,
    parts: Sequence[Part],
    lifetime: float,
    profile: Profile,
    params: LifeCycleParameters,
    system: LcaSystem,
) -> LifeCycleModel:
    units = {p.id: p.unit for p in system.processes}
    return life_cycle(product.id, parts, lifetime, profile, params, units, product.assemblies)


def _material_cff(
    part: Part,
    system: LcaSystem,
    params: LifeCycleParameters,
    profile: Profile,
    notes: list[str],
) -> MaterialCff:
    """CFF inputs per kg: E values from the dataset's cradle-to-gate scores (GWP100)."""
    assert part.lca_process is not None  # _model has checked it
    cat, default = params.cff_category(part.category)
    if default:
        notes.append(f"CFF parameters of category {part.category!r}: MICS default '*' used")
    fate, _ = params.fate(part.category)
    landfill, incineration, recycling = fate_shares(part, params, profile)
    virgin = params.virgin_twin.get(part.lca_process, part.lca_process)
    recycled = params.recycled_twin.get(virgin)
    if recycled is None:
        recycled = virgin
        notes.append(
            f"CFF of {part.material!r}: no recycled route for {virgin!r} in "
            "recycling_routes.csv, so Erec = ErecEoL = Ev (conservative)"
        )
    e_v = _per_kg(system, params, virgin)
    e_rec = _per_kg(system, params, recycled)
    parameters = CffParameters(
        a=cat.a,
        r1=part.recycled_share,
        r2=recycling,
        r3=incineration,
        e_v=e_v,
        e_rec=e_rec,
        e_rec_eol=e_rec,
        e_v_star=e_v,
        e_d=_per_kg(system, params, fate.landfill_process),
        q_sin_qp=cat.q_sin_qp,
        q_sout_qp=cat.q_sout_qp,
        e_er=_per_kg(system, params, fate.incineration_process),
        lhv=cat.lhv_mj_kg,
        x_er_heat=cat.x_er_heat,
        x_er_elec=cat.x_er_elec,
        e_se_heat=system.score({profile.heat_process: 1.0}, METHOD),
        e_se_elec=system.score({profile.electricity_process: 1.0}, METHOD) / _MJ_PER_KWH,
    )
    del landfill  # the disposal term uses 1 - R2 - R3, the landfill share
    result = circular_footprint(parameters, part.mass_kg)
    return MaterialCff(
        part.material, part.component, part.category, part.mass_kg, parameters, result
    )


def _per_kg(system: LcaSystem, params: LifeCycleParameters, process: str) -> float:
    """GWP100 of 1 kg of a process's product (converting m2 or items by conversions.csv)."""
    per_unit = system.score({process: 1.0}, METHOD)
    unit = system.processes[system.index[process]].unit
    if unit == "kg":
        return per_unit
    return per_unit / params.kg_per_unit[process][1]
