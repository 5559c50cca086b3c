"""Design variants: a product with one or more choices changed, compared with the original.

A :class:`Variant` swaps materials (registry ids), moves a material's supplier
to another country, replaces a shaping process, or changes the lifetime or the
use-phase energy. Demo variants ship in ``data/variants.json``; any variant can
also be written inline, e.g. on the command line::

    material:leather-chrome=leather-vegetable
    country:servo-motor=IT,lifetime=12
    process:cnc_machining=lpbf_printing
    use=20

Variants are compared per year of service (the functional unit), so a longer
life shows as a lower yearly footprint (ISO 14044 §4.2.3.2 functional unit).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib.resources import files
from typing import Any

from mics.errors import InvalidInput, NotFound
from mics.footprint.inventory import Part
from mics.footprint.profile import Profile

_COUNTRY = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True)
class Variant:
    id: str
    product: str
    label: str
    material: Mapping[str, str] = field(default_factory=dict)  # old material id -> new
    country: Mapping[str, str] = field(default_factory=dict)  # material id -> ISO country
    process: Mapping[str, str] = field(default_factory=dict)  # old process name -> new
    lifetime_years: float | None = None
    use_kwh_per_year: float | None = None

    def describe(self) -> list[str]:
        changes = [f"material {a} -> {b}" for a, b in self.material.items()]
        changes += [f"{m} supplied from {c}" for m, c in self.country.items()]
        changes += [f"process {a} -> {b}" for a, b in self.process.items()]
        if self.lifetime_years is not None:
            changes.append(f"lifetime {self.lifetime_years:g} years")
        if self.use_kwh_per_year is not None:
            changes.append(f"use {self.use_kwh_per_year:g} kWh/year")
        return changes


@cache
def demo_variants() -> tuple[Variant, ...]:
    text = files("mics.footprint").joinpath("data", "variants.json").read_text("utf-8")
    return tuple(
        variant_from(v, f"variants.json variants[{k}]")
        for k, v in enumerate(json.loads(text)["variants"])
    )


def variants_for(product: str) -> tuple[Variant, ...]:
    return tuple(v for v in demo_variants() if v.product == product)


def resolve(ref: str, product: str) -> Variant:
    """A demo variant of ``product`` by id, or an inline variant written as in the docstring."""
    for variant in variants_for(product):
        if variant.id == ref:
            return variant
    if "=" not in ref:
        known = ", ".join(v.id for v in variants_for(product)) or "none"
        raise NotFound(
            f"no variant {ref!r} for product {product!r}; demo variants: {known}; or write one "
            "inline, e.g. 'material:OLD=NEW', 'country:MATERIAL=IT', 'process:OLD=NEW', "
            "'lifetime=20', 'use=10' (comma-separated)",
            field="variant",
            value=ref,
        )
    return parse(ref, product)


def parse(text: str, product: str) -> Variant:
    raw: dict[str, Any] = {"id": text, "product": product, "label": text}
    for token in (t.strip() for t in text.split(",") if t.strip()):
        key, sep, value = token.partition("=")
        kind, _, target = key.partition(":")
        if not sep or not value:
            raise _bad(token)
        if kind in ("material", "country", "process") and target:
            raw.setdefault(kind, {})[target] = value
        elif kind in ("lifetime", "use") and not target:
            try:
                raw["lifetime_years" if kind == "lifetime" else "use_kwh_per_year"] = float(value)
            except ValueError:
                raise _bad(token) from None
        else:
            raise _bad(token)
    return variant_from(raw, "variant")


def variant_from(raw: Mapping[str, Any], where: str) -> Variant:
    variant = Variant(
        id=str(raw.get("id", "")),
        product=str(raw.get("product", "")),
        label=str(raw.get("label", raw.get("id", ""))),
        material=dict(raw.get("material", {})),
        country=dict(raw.get("country", {})),
        process=dict(raw.get("process", {})),
        lifetime_years=raw.get("lifetime_years"),
        use_kwh_per_year=raw.get("use_kwh_per_year"),
    )
    for material, country in variant.country.items():
        if not _COUNTRY.match(country):
            raise InvalidInput(
                "a country is an ISO 3166-1 alpha-2 code",
                field=f"{where}.country.{material}",
                value=country,
                expected="two upper-case letters such as IT",
            )
    if variant.lifetime_years is not None and not (
        isinstance(variant.lifetime_years, (int, float))
        and math.isfinite(variant.lifetime_years)
        and variant.lifetime_years > 0
    ):
        raise InvalidInput(
            "the lifetime must be > 0 years",
            field=f"{where}.lifetime_years",
            value=variant.lifetime_years,
            expected="a number of years > 0, e.g. lifetime=20",
        )
    if variant.use_kwh_per_year is not None and not variant.use_kwh_per_year >= 0:
        raise InvalidInput(
            "use-phase energy cannot be negative",
            field=f"{where}.use_kwh_per_year",
            value=variant.use_kwh_per_year,
            expected=">= 0 kWh per year",
        )
    return variant


def apply(
    variant: Variant,
    parts: Sequence[Part],
    lifetime_years: float,
    profile: Profile,
    replacements: Mapping[str, Part],
) -> tuple[tuple[Part, ...], float, Profile]:
    """The variant's parts, lifetime and profile; ``replacements`` holds the new materials.

    Each replacement is a :class:`Part` carrying the new material's registry facts
    (category, lca_process, country, shares); mass, component and process stay.
    """
    used = {p.material for p in parts}
    processes = {p.process for p in parts}
    for old in (*variant.material, *variant.country):
        if old not in used:
            raise InvalidInput(
                f"variant {variant.id!r}: the product has no material {old!r}",
                field="variant.material",
                value=old,
                expected="one of " + ", ".join(sorted(used)),
            )
    for old in variant.process:
        if old not in processes:
            raise InvalidInput(
                f"variant {variant.id!r}: no component is shaped by {old!r}",
                field="variant.process",
                value=old,
                expected="one of " + ", ".join(sorted(processes)),
            )
    out = []
    for part in parts:
        new = part
        if part.material in variant.material:
            facts = replacements[variant.material[part.material]]
            new = replace(
                facts, component=part.component, mass_kg=part.mass_kg, process=part.process
            )
        if part.material in variant.country:
            new = replace(new, country=variant.country[part.material])
        if part.process in variant.process:
            new = replace(new, process=variant.process[part.process])
        out.append(new)
    if variant.use_kwh_per_year is not None:
        note = f"use_kwh_per_year = {variant.use_kwh_per_year} (variant {variant.id!r})"
        profile = replace(
            profile,
            use_kwh_per_year=variant.use_kwh_per_year,
            assumptions=(*profile.assumptions, note),
        )
    return tuple(out), variant.lifetime_years or lifetime_years, profile


def _bad(token: str) -> InvalidInput:
    return InvalidInput(
        f"cannot read variant change {token!r}",
        field="variant",
        value=token,
        expected="material:OLD=NEW, country:MATERIAL=IT, process:OLD=NEW, lifetime=YEARS "
        "or use=KWH_PER_YEAR",
    )
