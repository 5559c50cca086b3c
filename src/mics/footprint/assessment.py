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
from dataclasses import dataclass
from typing import Any

from mics.footprint.circular import Circularity, ProductFacts, circularity, system_model
from mics.footprint.end_of_life import (
    BiogenicCarbon,
    MaterialCff,
    biogenic_carbon,
    biogenic_json,
)
from mics.footprint.inventory import STAGES, LifeCycleModel, Part
from mics.footprint.lca import ContributionNode, Contributions, LcaSystem
from mics.footprint.monte_carlo import (
    Comparison,
    MonteCarloResult,
    UsePhase,
    compare,
    monte_carlo,
)
from mics.footprint.parameters import LifeCycleParameters
from mics.footprint.profile import Profile
from mics.footprint.variants import Variant, apply

METHOD = "gwp100"
__all__ = ["Circularity", "MaterialCff", "ProductFacts", "circularity"]  # re-exported


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
    biogenic: tuple[BiogenicCarbon, ...] = ()
    grid_scenario: str | None = None

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
            "biogenic_carbon": biogenic_json(self.biogenic),
            "grid_scenario": self.grid_scenario,
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
                "point_value": mc.deterministic,
                "sampled": list(mc.sampled),
                "note": "the point value is the product of medians: every uncertain input "
                "(exchanges, use-phase energy, lifetime) is lognormal with its median at the "
                "point value, so the mean lies above it",
            }
        return body

    # Set by service.FootprintRun.compute (mics.footprint.data_quality.checked_share): the
    # share of the total from checked rows, and the same with every figure on the way checked.
    data_quality: float | None = None
    data_quality_chain: float | None = None


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
    grid_scenario: str | None = None,
) -> Footprint:
    """The product's footprint; Monte Carlo when ``monte_carlo_iterations`` > 0.

    ``grid_scenario`` names a row group of ``grid_scenarios.csv`` (e.g.
    ``pniec-2030``): the use-phase grid's intensity then follows it over the
    product's life. Monte Carlo samples the use-phase energy and the lifetime
    too (``profile.use_kwh_sigma_g``, ``lifetime_sigma_g``).
    """
    grid = params.grid_scenario(grid_scenario) if grid_scenario else None
    lifetime = product.lifetime_years
    model = system_model(product, product.parts, lifetime, profile, params, system, grid)
    use = None
    if profile.use_kwh_per_year > 0 and lifetime > 0:
        mean = grid.mean_factors if grid is not None else None
        start = profile.first_year_of_use
        use = UsePhase(
            profile.electricity_process,
            profile.use_kwh_per_year,
            lifetime,
            profile.use_kwh_sigma_g,
            profile.lifetime_sigma_g,
            (lambda years: mean(start, years)) if mean is not None else None,
        )
    found = score(product, model, system, monte_carlo_iterations, cutoff, seed, method, use)
    return Footprint(
        found.product,
        found.dataset,
        found.method,
        found.unit,
        found.model,
        found.scores,
        found.indicators,
        found.contributions,
        found.uncertainty,
        biogenic_carbon(product.parts, params, profile),
        grid_scenario,
    )


def score(
    product: ProductFacts,
    model: LifeCycleModel,
    system: LcaSystem,
    iterations: int,
    cutoff: float,
    seed: int,
    method: str,
    use: UsePhase | None = None,
) -> Footprint:
    """Score a model; Monte Carlo samples ``use`` (use-phase energy, lifetime) when given."""
    lam = system.adjoint_vector(method)
    scores = tuple(float(lam[system.index[line.process]]) * line.amount for line in model.lines)
    demand = model.demand()
    indicators = {s.method: (s.value, s.unit) for s in system.footprint(demand)}
    uncertainty = None
    if iterations:
        fixed = model.demand_without("use") if use is not None else demand
        uncertainty = monte_carlo(
            system, fixed, method, iterations=iterations, seed=seed, use=use, total=demand
        )
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
        model = system_model(twin, parts, lifetime, changed, params, system)
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
