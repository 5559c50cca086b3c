"""Footprint services: read a product from the registry, assess it on a compiled inventory.

Each call reads the product, its bill of materials (sub-products expanded) and
its materials through the registry's read API (a read transaction each: two,
then one per material), then computes with the pure
:mod:`mics.footprint.assessment`. Compiling an inventory (checks, datapackages,
one SuperLU factorisation, adjoint vectors) is the costly step, so the compiled
:class:`~mics.footprint.lca.LcaSystem` is cached per dataset: the shipped one
once per process, an imported one for as long as its ``Dataset`` object lives.

    footprint(db, "borsa-aurora", monte_carlo=1000)     # -> Footprint
    circularity(db, "08012345000012")                    # GTIN or product id
    alternatives(db, "pinza-robotica", ["recycled-aluminium", "lifetime=10"])

A Monte Carlo run then costs ~0.28 ms an iteration (bench machine). The read
and the run are two steps, so that the API can weigh a run before it starts
(``FootprintRun.work``) and run it away from the request threads: ``footprint_run``
reads, ``.compute()`` runs. On the shipped dataset the last ``RESULTS_KEPT``
results are kept by their inputs (the product's facts as read and the settings),
so the same request costs one run until the registry changes what it reads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from mics import registry
from mics.db import Database
from mics.errors import InvalidInput
from mics.footprint import assessment, data_quality
from mics.footprint.assessment import (
    METHOD,
    Alternative,
    Circularity,
    Footprint,
    ProductFacts,
)
from mics.footprint.dataset import load_dataset
from mics.footprint.inventory import Part
from mics.footprint.lca import LcaSystem, compile_system
from mics.footprint.model import Dataset
from mics.footprint.parameters import shipped_parameters
from mics.footprint.profile import Profile, profile_for
from mics.footprint.variants import Variant, resolve, variants_for
from mics.registry.schemas import BomNode

MAX_ITERATIONS = 20_000
# Results kept per process. The public's requests repeat a few settings (the page's
# and the API's defaults) over a few dozen products; the largest result allowed
# (20,000 iterations: its samples, ~0.5 MB with a comparison's) bounds the memory
# at ~16 MB.
RESULTS_KEPT = 32
_lock = threading.Lock()
_compiled: dict[int, tuple[Dataset, LcaSystem]] = {}
_kept: OrderedDict[Hashable, Any] = OrderedDict()


@cache
def shipped_dataset() -> Dataset:
    return load_dataset()


def system_for(dataset: Dataset | None = None) -> LcaSystem:
    """The compiled system of ``dataset`` (default: the shipped inventory), cached."""
    data = dataset if dataset is not None else shipped_dataset()
    with _lock:
        hit = _compiled.get(id(data))
        if hit is not None and hit[0] is data:
            return hit[1]
    system = compile_system(data)
    with _lock:
        _compiled[id(data)] = (data, system)
    return system


def product_facts(db: Database, ref: str) -> ProductFacts:
    """The product (by id or GTIN) with its BOM flattened into parts."""
    product = registry.get_product(db, ref)
    tree = registry.product_tree(db, product.id)
    leaves: list[tuple[str, BomNode]] = []
    assemblies: list[tuple[str, float, str]] = []
    _walk(tree, "", leaves, assemblies)
    materials = {m: registry.get_material(db, m) for m in {n.ref for _, n in leaves}}
    parts = tuple(
        Part(
            component=name,
            material=node.ref,
            category=materials[node.ref].category,
            lca_process=materials[node.ref].lca_process,
            mass_kg=node.mass_kg,
            process=node.process,
            country=materials[node.ref].country,
            recycled_share=materials[node.ref].recycled_share,
            bio_based_share=materials[node.ref].bio_based_share,
        )
        for name, node in leaves
    )
    return ProductFacts(
        product.id,
        product.gtin,
        product.name,
        product.sector,
        product.lifetime_years,
        parts,
        tuple(assemblies),
    )


@dataclass(frozen=True)
class FootprintRun:
    """A footprint to compute: the product as read and the settings (hashable: its key)."""

    facts: ProductFacts
    monte_carlo: int = 0
    cutoff: float = 0.01
    seed: int = 0
    method: str = METHOD
    grid_scenario: str | None = None

    @property
    def work(self) -> int:
        """Monte Carlo iterations in all: what the run costs."""
        return self.monte_carlo

    def cached(self) -> Footprint | None:
        """The result kept from an earlier run with the same inputs, if any."""
        found: Footprint | None = _recall(self)
        return found

    def compute(self, dataset: Dataset | None = None) -> Footprint:
        """The footprint: kept from an earlier run, or computed (and kept) now."""
        if dataset is None and (found := self.cached()) is not None:
            return found
        facts = self.facts
        system = system_for(dataset)
        result = assessment.footprint(
            facts,
            system,
            shipped_parameters(),
            _profile(facts),
            monte_carlo_iterations=self.monte_carlo,
            cutoff=self.cutoff,
            seed=self.seed,
            method=self.method,
            grid_scenario=self.grid_scenario,
        )
        data = dataset if dataset is not None else shipped_dataset()
        demand = result.model.demand()
        result = replace(
            result,
            data_quality=data_quality.checked_share(data, system, demand, self.method),
            data_quality_chain=data_quality.checked_share(
                data, system, demand, self.method, chain=True
            ),
        )
        if dataset is None:
            _keep(self, result)
        return result


def footprint_run(
    db: Database,
    ref: str,
    *,
    monte_carlo: int = 0,
    cutoff: float = 0.01,
    seed: int = 0,
    method: str = METHOD,
    grid_scenario: str | None = None,
) -> FootprintRun:
    """Read the product (by id or GTIN) for a footprint with these settings; nothing run yet.

    ``grid_scenario`` (e.g. ``pniec-2030``, see ``grid_scenarios.csv``) lets the
    use phase's grid intensity decline over the product's life; None keeps it
    at the dataset's value.
    """
    _check_iterations(monte_carlo, "monte_carlo")
    _check_seed(seed)
    if grid_scenario:
        shipped_parameters().grid_scenario(grid_scenario)  # refuse an unknown name now
    facts = product_facts(db, ref)
    return FootprintRun(facts, monte_carlo, cutoff, seed, method, grid_scenario or None)


def footprint(
    db: Database,
    ref: str,
    *,
    monte_carlo: int = 0,
    cutoff: float = 0.01,
    seed: int = 0,
    method: str = METHOD,
    dataset: Dataset | None = None,
    grid_scenario: str | None = None,
) -> Footprint:
    """The product's life-cycle footprint; a seeded Monte Carlo when ``monte_carlo`` > 0."""
    run = footprint_run(
        db,
        ref,
        monte_carlo=monte_carlo,
        cutoff=cutoff,
        seed=seed,
        method=method,
        grid_scenario=grid_scenario,
    )
    return run.compute(dataset)


def circularity(db: Database, ref: str, *, dataset: Dataset | None = None) -> Circularity:
    facts = product_facts(db, ref)
    return assessment.circularity(facts, system_for(dataset), shipped_parameters(), _profile(facts))


@dataclass(frozen=True)
class AlternativesRun:
    """Variants of a product to compare, as read, and the settings (hashable: its key).

    ``variants`` are the references asked for (none: the product's demo variants);
    ``materials`` the registry's materials they bring in, as read (a variant's
    result depends on them); ``resolved`` what the run works on.
    """

    facts: ProductFacts
    variants: tuple[str, ...]
    materials: tuple[Part, ...]
    iterations: int = 200
    seed: int = 0
    resolved: tuple[tuple[Variant, dict[str, Part]], ...] = field(
        default=(), compare=False, repr=False
    )

    @property
    def work(self) -> int:
        """Monte Carlo iterations in all: ``iterations`` for each variant compared."""
        return self.iterations * len(self.resolved)

    def cached(self) -> tuple[Alternative, ...] | None:
        """The result kept from an earlier run with the same inputs, if any."""
        found: tuple[Alternative, ...] | None = _recall(self)
        return found

    def compute(self, dataset: Dataset | None = None) -> tuple[Alternative, ...]:
        """The comparisons: kept from an earlier run, or computed (and kept) now."""
        if dataset is None and (found := self.cached()) is not None:
            return found
        facts = self.facts
        result = assessment.alternatives(
            facts,
            list(self.resolved),
            system_for(dataset),
            shipped_parameters(),
            _profile(facts),
            iterations=self.iterations,
            seed=self.seed,
        )
        if dataset is None:
            _keep(self, result)
        return result


def alternatives_run(
    db: Database,
    ref: str,
    variants: Sequence[str] = (),
    *,
    iterations: int = 200,
    seed: int = 0,
) -> AlternativesRun:
    """Read the product and the variants' materials for a comparison; nothing run yet."""
    _check_iterations(iterations, "iterations")
    _check_seed(seed)
    facts = product_facts(db, ref)
    chosen: Sequence[Variant] = (
        [resolve(v, facts.id) for v in variants] if variants else variants_for(facts.id)
    )
    resolved = tuple((v, _replacements(db, v)) for v in chosen)
    materials = tuple(part for _, found in resolved for part in found.values())
    return AlternativesRun(facts, tuple(variants), materials, iterations, seed, resolved)


def alternatives(
    db: Database,
    ref: str,
    variants: Sequence[str] = (),
    *,
    iterations: int = 200,
    seed: int = 0,
    dataset: Dataset | None = None,
) -> tuple[Alternative, ...]:
    """The product against each variant (demo ids or inline specs; none: its demo variants)."""
    run = alternatives_run(db, ref, variants, iterations=iterations, seed=seed)
    return run.compute(dataset)


def _recall(key: Hashable) -> Any:
    with _lock:
        found = _kept.get(key)
        if found is not None:
            _kept.move_to_end(key)
        return found


def _keep(key: Hashable, result: object) -> None:
    with _lock:
        _kept[key] = result
        _kept.move_to_end(key)
        while len(_kept) > RESULTS_KEPT:
            _kept.popitem(last=False)


def _profile(facts: ProductFacts) -> Profile:
    return profile_for(facts.id, facts.sector)


def _replacements(db: Database, variant: Variant) -> dict[str, Part]:
    out = {}
    for new in variant.material.values():
        m = registry.get_material(db, new)
        out[new] = Part(
            component="",
            material=m.id,
            category=m.category,
            lca_process=m.lca_process,
            mass_kg=1.0,
            process="none",
            country=m.country,
            recycled_share=m.recycled_share,
            bio_based_share=m.bio_based_share,
        )
    return out


def _walk(
    node: BomNode,
    prefix: str,
    leaves: list[tuple[str, BomNode]],
    assemblies: list[tuple[str, float, str]],
) -> None:
    for child in node.children:
        name = f"{prefix}{child.name}"
        if child.kind == "material":
            leaves.append((name, child))
        else:
            if child.process and child.process != "none":
                assemblies.append((name, child.mass_kg, child.process))
            _walk(child, f"{name} / ", leaves, assemblies)


def _check_seed(seed: int) -> None:
    """NumPy seeds its generator with a non-negative integer: refuse another before a run."""
    if not 0 <= seed < 2**32:
        raise InvalidInput(
            "bad seed", field="seed", value=seed, expected="a whole number, 0 <= seed < 2**32"
        )


def _check_iterations(value: int, field: str) -> None:
    if value != 0 and not 2 <= value <= MAX_ITERATIONS:
        raise InvalidInput(
            "Monte Carlo needs between 2 and 20,000 iterations (0 for none)",
            field=field,
            value=value,
            expected=f"0, or 2..{MAX_ITERATIONS}",
        )
