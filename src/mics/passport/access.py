"""Who sees which passport field: the ESPR access tiers, field by field.

ESPR (Reg. (EU) 2024/1781) Art. 9(2)(d) and 10-11 let the Commission split
passport data by who may read it; the Battery Regulation (EU) 2023/1542 Annex
XIII shows the split in practice: information for the public, for persons with
a legitimate interest (repairers, remanufacturers, recyclers), and for the
Commission and national authorities. MICS uses the three tiers, ordered::

    public  <  legitimate_interest  <  authority

Every leaf of a passport has a path such as ``materials[].supplier`` (list
indexes written ``[]``, ``*`` matches any one key); ``FIELD_TIERS`` gives each
path the lowest tier that may read it. A path the table does not name is
``authority`` only (fail closed): a new field stays hidden until someone
decides who may see it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from mics.errors import InvalidInput

TIERS = ("public", "legitimate_interest", "authority")
RANK = {tier: rank for rank, tier in enumerate(TIERS)}

FIELD_TIERS: dict[str, str] = {
    "@context.*": "public",
    "@type": "public",
    "@id": "public",
    "tier": "public",
    "granularity": "public",
    "language": "public",
    # the product as printed on its label
    "product.gtin": "public",
    "product.serial": "public",
    "product.lot": "public",
    "product.name": "public",
    "product.description": "public",
    "product.untranslated[]": "public",
    "product.sector": "public",
    "product.sectorName": "public",
    "product.lifetimeYears": "public",
    "product.massKg": "public",
    "product.producedOn": "public",
    "product.page": "public",
    # the maker is named on the product anyway
    "manufacturer.id": "public",
    "manufacturer.name": "public",
    "manufacturer.city": "public",
    "manufacturer.website": "public",
    "manufacturer.gln": "public",
    "manufacturer.did": "public",
    # composition (ESPR Annex I (e), (f)): what and from where is public ...
    "materials[].name": "public",
    "materials[].category": "public",
    "materials[].originCountry": "public",
    "materials[].massKg": "public",
    "materials[].massShare": "public",
    "materials[].recycledShare": "public",
    "materials[].bioBasedShare": "public",
    # ... technical detail is for repairers and recyclers, supplier identity for authorities
    "materials[].densityKgM3": "legitimate_interest",
    "materials[].supplier": "authority",
    "components[].name": "legitimate_interest",
    "components[].material": "legitimate_interest",
    "components[].subproduct": "legitimate_interest",
    "components[].massKg": "legitimate_interest",
    "components[].process": "legitimate_interest",
    # provenance: places and steps for everyone, the events themselves for authorities
    "provenance.timeline[].date": "public",
    "provenance.timeline[].step": "public",
    "provenance.timeline[].stepLabel": "public",
    "provenance.timeline[].place": "public",
    "provenance.timeline[].country": "public",
    "provenance.events[].eventID": "authority",
    "provenance.events[].eventHash": "authority",
    "provenance.events[].eventTime": "authority",
    "provenance.events[].type": "authority",
    "provenance.events[].bizStep": "authority",
    "provenance.events[].location": "authority",
    "provenance.events[].partner": "authority",
    # events naming the item from partners outside its chain of custody (view.custody_chain)
    "provenance.unvouched[].eventID": "authority",
    "provenance.unvouched[].eventTime": "authority",
    "provenance.unvouched[].partner": "authority",
    # environmental performance (ESPR Art. 7(2)(b))
    "footprint.available": "public",
    "footprint.note": "public",
    "footprint.gwp100KgCO2e": "public",
    "footprint.byStage.*": "public",
    "circularity.recycledContent": "public",
    "circularity.bioBasedContent": "public",
    "circularity.mci": "public",
    "repair.instructions": "public",
    "endOfLife.instructions": "public",
    # authenticity and resale
    "authenticity.verdict": "public",
    "authenticity.checkedAt": "public",
    "authenticity.counter": "authority",
    "ownership.owners": "public",
    "ownership.since": "public",
    "ownership.ownedSince[]": "public",
    "ownership.lostOrStolen": "public",
    "ownership.report": "public",
    "ownership.claimable": "public",
}


def check_tier(tier: str) -> str:
    if tier not in RANK:
        raise InvalidInput(
            "unknown access tier", field="tier", value=tier, expected=" or ".join(TIERS)
        )
    return tier


def _compile(pattern: str) -> re.Pattern[str]:
    parts = [re.escape(p) if p != "*" else r"[^.\[\]]+" for p in re.split(r"(\*)", pattern)]
    return re.compile("".join(parts))


_PATTERNS = [(_compile(p), tier) for p, tier in FIELD_TIERS.items()]


def rule_for(path: str) -> str | None:
    """The tier ``FIELD_TIERS`` gives the leaf at ``path``, or None when no rule names it."""
    generic = re.sub(r"\[\d+\]", "[]", path)
    for pattern, tier in _PATTERNS:
        if pattern.fullmatch(generic):
            return tier
    return None


def tier_of(path: str) -> str:
    """The lowest tier that may read the leaf at ``path`` (``authority`` when unlisted)."""
    return rule_for(path) or "authority"


def _container_tier(path: str) -> str:
    """The lowest tier that may see anything under ``path`` (for empty lists and objects)."""
    generic = re.sub(r"\[\d+\]", "[]", path)
    tiers = [
        tier
        for pattern, tier in FIELD_TIERS.items()
        if pattern.startswith(generic + ".") or pattern.startswith(generic + "[]")
    ]
    return min(tiers, key=RANK.__getitem__) if tiers else "authority"


def leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every ``(path, scalar)`` of a JSON value, ``a.b[0].c`` style."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield from leaves(child, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from leaves(child, f"{path}[{index}]")
    else:
        yield path, value


def filter_to_tier(passport: dict[str, Any], tier: str) -> dict[str, Any]:
    """A copy of ``passport`` holding only what ``tier`` may read."""
    check_tier(tier)
    kept = _filter(passport, "", RANK[tier])
    return kept if isinstance(kept, dict) else {}


_DROP = object()


def _filter(value: Any, path: str, rank: int) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, child in value.items():
            kept = _filter(child, f"{path}.{key}" if path else str(key), rank)
            if kept is not _DROP:
                out[key] = kept
        if not out and (value or RANK[_container_tier(path)] > rank) and path:
            return _DROP
        return out
    if isinstance(value, list):
        items = [_filter(child, f"{path}[{i}]", rank) for i, child in enumerate(value)]
        kept_items = [x for x in items if x is not _DROP]
        if not kept_items and (value or RANK[_container_tier(path)] > rank):
            return _DROP
        return kept_items
    return value if RANK[tier_of(path)] <= rank else _DROP
