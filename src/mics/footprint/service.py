"""Footprint services: read a product from the registry, assess it on a compiled inventory.

Each call reads the product, its bill of materials (sub-products expanded) and
its materials in one read transaction, then computes with the pure
:mod:`mics.footprint.assessment`. Compiling an inventory (checks, datapackages,
one SuperLU factorisation, adjoint vectors) is the costly step, so the compiled
:class:`~mics.footprint.lca.LcaSystem` is cached per dataset: the shipped one
once per process, an imported one for as long as its ``Dataset`` object lives.

    footprint(db, "borsa-aurora", monte_carlo=1000)     # -> Footprint
    circularity(db, "08012345000012")                    # GTIN or product id
    alternatives(db, "pinza-robotica", ["recycled-aluminium", "lifetime=10"])
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import cache

from mics import registry
from mics.db import Database
from mics.errors import InvalidInput
from mics.footprint import assessment
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
_lock = threading.Lock()
_compiled: dict[int, tuple[Dataset, LcaSystem]] = {}


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


def footprint(
    db: Database,
    ref: str,
    *,
    monte_carlo: int = 0,
    cutoff: float = 0.01,
    seed: int = 0,
    method: str = METHOD,
    dataset: Dataset | None = None,
) -> Footprint:
    """The product's life-cycle footprint; a seeded Monte Carlo when ``monte_carlo`` > 0."""
    _check_iterations(monte_carlo, "monte_carlo")
    facts = product_facts(db, ref)
    return assessment.footprint(
        facts,
        system_for(dataset),
        shipped_parameters(),
        _profile(facts),
        monte_carlo_iterations=monte_carlo,
        cutoff=cutoff,
        seed=seed,
        method=method,
    )


def circularity(db: Database, ref: str, *, dataset: Dataset | None = None) -> Circularity:
    facts = product_facts(db, ref)
    return assessment.circularity(facts, system_for(dataset), shipped_parameters(), _profile(facts))


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
    _check_iterations(iterations, "iterations")
    facts = product_facts(db, ref)
    chosen: Sequence[Variant] = (
        [resolve(v, facts.id) for v in variants] if variants else variants_for(facts.id)
    )
    resolved = [(v, _replacements(db, v)) for v in chosen]
    return assessment.alternatives(
        facts,
        resolved,
        system_for(dataset),
        shipped_parameters(),
        _profile(facts),
        iterations=iterations,
        seed=seed,
    )


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


def _check_iterations(value: int, field: str) -> None:
    if value != 0 and not 2 <= value <= MAX_ITERATIONS:
        raise InvalidInput(
            "Monte Carlo needs between 2 and 20,000 iterations (0 for none)",
            field=field,
            value=value,
            expected=f"0, or 2..{MAX_ITERATIONS}",
        )
