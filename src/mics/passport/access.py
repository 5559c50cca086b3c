"""Who sees which passport field: the ESPR access tiers, field by field.

ESPR (Reg. (EU) 2024/1781) Art. 9(2)(d) and 10-11 let the Commission split
passport data by who may read it; the Battery Regulation (EU) 2023/1542 Annex
XIII shows the split in practice: information for the public, for persons with
a legitimate interest (repairers, remanufacturers, recyclers), and for the
Commission and national authorities. MICS uses the three tiers, ordered::

    public  <  legitimate_interest  <  authority

Every leaf of a passport has a path such as ``materials[].supplier`` (list
indexes written ``[]``, ``*`` matches any one key, ``**`` anything below);
``FIELD_TIERS`` gives each path the lowest tier that may read it. A path the
table does not name is ``authority`` only (fail closed): a new field stays
hidden until someone decides who may see it.

The same rules decide every other answer that carries the same facts: the
registry's materials, products and bills of materials, the footprint and
circularity figures, a tag scan's verdict (``VIEWS``, one table per kind of
record, each row saying which passport field it mirrors). ``reader_tier``
says which tier a caller's key reads at; every route filters what it serves
with ``filter_view`` (``mics.api``), and the tests walk every route as the
public.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import cache, lru_cache
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
    # chain-of-custody claims (mics.custody): the claim is public, the events behind it
    # are the provenance events' tier
    "custody.claims[].text": "public",
    "custody.claims[].material": "public",
    "custody.claims[].characteristic": "public",
    "custody.claims[].scheme": "public",
    "custody.claims[].schemeVersion": "public",
    "custody.claims[].model": "public",
    "custody.claims[].period": "public",
    "custody.claims[].share": "public",
    "custody.claims[].site": "public",
    "custody.claims[].evidenceEvents": "public",
    "custody.claims[].evidence[].eventID": "authority",
    "custody.claims[].evidence[].event": "authority",
    "custody.claims[].evidence[].proof": "authority",
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


# --- the same facts in the registry's records and the footprint (snake_case, as the API serves)

MATERIAL_TIERS: dict[str, str] = {
    "id": "public",
    "name": "public",
    "category": "public",
    "country": "public",  # materials[].originCountry
    "recycled_share": "public",
    "bio_based_share": "public",
    "lca_process": "public",  # the open dataset's process: the footprint is public
    "density_kg_m3": "legitimate_interest",  # materials[].densityKgM3
    "supplier": "authority",  # materials[].supplier
}

PRODUCT_TIERS: dict[str, str] = {
    "id": "public",
    "gtin": "public",
    "name": "public",
    "sector": "public",
    "brand": "public",  # manufacturer.id
    "lifetime_years": "public",
    "mass_kg": "public",
    "description": "public",
    "repair_notes": "public",  # repair.instructions
    "end_of_life_notes": "public",  # endOfLife.instructions
    "texts.*.*": "public",  # the same texts in other languages (product.name, ...)
    # the bill of materials line by line: components[].*
    "components[].*": "legitimate_interest",
}

# A bill of materials drawn as a tree: the product itself, then its components.
BOM_TIERS: dict[str, str] = {
    "name": "public",
    "kind": "public",
    "ref": "public",
    "mass_kg": "public",
    "process": "public",
    "recycled_share": "public",
    "bio_based_share": "public",
    "country": "public",
    "children[].**": "legitimate_interest",  # components[].*
}

FOOTPRINT_TIERS: dict[str, str] = {
    "product": "public",
    "gtin": "public",
    "name": "public",
    "dataset": "public",
    "method": "public",
    "unit": "public",
    "gwp100": "public",  # footprint.gwp100KgCO2e
    "by_stage.*": "public",  # footprint.byStage
    "by_material.*": "public",  # materials are public, summed over the components
    "by_process.*": "public",
    "lifetime_years": "public",
    "per_year": "public",
    "mass_kg": "public",
    "indicators.*.value": "public",
    "indicators.*.unit": "public",
    "data_quality": "public",  # share of the GWP emitted by figures checked in their source
    "data_quality_chain": "public",  # the same, every figure on the way checked
    "contributions.**": "public",  # the open dataset's supply chains, no component named
    "assumptions[]": "public",
    "gwp100_interval[]": "public",
    "monte_carlo.*": "public",
    "monte_carlo.sampled[]": "public",
    "grid_scenario": "public",
    "biogenic_carbon.*": "public",  # totals of the open dataset's waste families
    "biogenic_carbon.materials[].*": "legitimate_interest",  # per component: components[].*
    "lines[].*": "legitimate_interest",  # one line per component: components[].*
}

CIRCULARITY_TIERS: dict[str, str] = {
    "product": "public",
    "mci": "public",  # circularity.mci
    "linear_flow_index": "public",
    "utility": "public",
    "utility_factor": "public",
    "mass_kg": "public",
    "recycled_content": "public",  # circularity.recycledContent
    "reused_content": "public",
    "bio_based_content": "public",
    "sustained_content": "public",
    "mci_method": "public",  # which MCI methodology (EMF 2019)
    "assumptions[]": "public",
    "materials[].*": "legitimate_interest",  # one row per component: components[].*
    "cff.method": "public",
    "cff.unit": "public",
    "cff.total": "public",
    "cff.materials[].material": "public",
    "cff.materials[].category": "public",
    "cff.materials[].parameters.*": "public",
    "cff.materials[].terms.*": "public",
    "cff.materials[].recycling_process": "public",
    "cff.materials[].component": "legitimate_interest",  # components[].name
    "cff.materials[].mass_kg": "legitimate_interest",  # components[].massKg
}

# A tag scan's answer (``passport.scans.ScanResult``): the verdict is the point of a scan.
SCAN_TIERS: dict[str, str] = {
    "verdict": "public",  # authenticity.verdict
    "reason": "public",
    "item.id": "public",
    "item.gtin": "public",
    "item.serial": "public",
    "scanned_at": "public",  # authenticity.checkedAt
    "distance_km": "public",  # why a verdict is possible_clone
    "speed_kmh": "public",
    "counter": "authority",  # authenticity.counter
    "uid": "authority",  # the tag's serial number: follows the item from scan to scan
}

VIEWS: dict[str, dict[str, str]] = {
    "passport": FIELD_TIERS,
    "material": MATERIAL_TIERS,
    "product": PRODUCT_TIERS,
    "bom": BOM_TIERS,
    "footprint": FOOTPRINT_TIERS,
    "circularity": CIRCULARITY_TIERS,
    "scan": SCAN_TIERS,
}

# The highest tier each key role reads at; a partner reads its own records whole.
ROLE_TIERS: dict[str, str] = {
    "partner": "public",
    "witness": "public",
    "legitimate_interest": "legitimate_interest",
    "authority": "authority",
    "operator": "authority",
}


def check_tier(tier: str) -> str:
    if tier not in RANK:
        raise InvalidInput(
            "unknown access tier", field="tier", value=tier, expected=" or ".join(TIERS)
        )
    return tier


def reader_tier(role: str, *, owns: bool = False) -> str:
    """The tier a key of ``role`` reads at; ``owns``: the record is the key's partner's own."""
    if owns and role == "partner":
        return "authority"  # a brand reads its own products whole: it wrote them
    return ROLE_TIERS.get(role, "public")


def may_read(reader: str, tier: str) -> bool:
    """Whether a caller reading at tier ``reader`` may ask for tier ``tier``."""
    return RANK[check_tier(tier)] <= RANK[check_tier(reader)]


def _compile(pattern: str) -> re.Pattern[str]:
    parts = []
    for part in re.split(r"(\*\*|\*)", pattern):
        if part == "**":
            parts.append(r".*")
        elif part == "*":
            parts.append(r"[^.\[\]]+")
        else:
            parts.append(re.escape(part))
    return re.compile("".join(parts))


_PATTERNS = {
    view: [(_compile(p), tier) for p, tier in table.items()] for view, table in VIEWS.items()
}


def _view(view: str) -> str:
    if view not in VIEWS:
        raise InvalidInput(
            "unknown view", field="view", value=view, expected=" or ".join(sorted(VIEWS))
        )
    return view


def _generic(path: str) -> str:
    return re.sub(r"\[\d+\]", "[]", path)


@cache
def _rule(view: str, generic: str) -> str | None:
    for pattern, tier in _PATTERNS[view]:
        if pattern.fullmatch(generic):
            return tier
    return None


def rule_for(path: str, view: str = "passport") -> str | None:
    """The tier ``view``'s table gives the leaf at ``path``, or None when no rule names it."""
    return _rule(_view(view), _generic(path))


def tier_of(path: str, view: str = "passport") -> str:
    """The lowest tier that may read the leaf at ``path`` (``authority`` when unlisted)."""
    return rule_for(path, view) or "authority"


# Every answer of a kind has the same few paths (a tag scan's, on the hot path, ~10):
# remember each one's rank rather than match the table again (bounded: list indexes vary).
@lru_cache(maxsize=16384)
def _leaf_rank(view: str, path: str) -> int:
    return RANK[tier_of(path, view)]


@cache
def _container_tier(view: str, generic: str) -> str:
    """The lowest tier that may see anything under ``path`` (for empty lists and objects)."""
    below = (f"{generic}.\0", f"{generic}[]", f"{generic}[].\0")  # any key, any index
    tiers = [
        tier
        for (pattern, tier), (compiled, _) in zip(VIEWS[view].items(), _PATTERNS[view], strict=True)
        if pattern.startswith((f"{generic}.", f"{generic}[]"))
        or any(compiled.fullmatch(probe) for probe in below)
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
    return filter_view("passport", passport, tier)


def filter_view(view: str, record: Mapping[str, Any], tier: str) -> dict[str, Any]:
    """A copy of ``record`` (of kind ``view``, e.g. ``material``) with what ``tier`` may read."""
    check_tier(tier)
    kept = _filter(_view(view), record, "", RANK[tier])
    return kept if isinstance(kept, dict) else {}


_DROP = object()


def _filter(view: str, value: Any, path: str, rank: int) -> Any:
    if isinstance(value, Mapping):
        out = {}
        for key, child in value.items():
            kept = _filter(view, child, f"{path}.{key}" if path else str(key), rank)
            if kept is not _DROP:
                out[key] = kept
        if not out and path and (value or RANK[_container_tier(view, _generic(path))] > rank):
            return _DROP
        return out
    if isinstance(value, list):
        items = [_filter(view, child, f"{path}[{i}]", rank) for i, child in enumerate(value)]
        kept_items = [x for x in items if x is not _DROP]
        if not kept_items and (value or RANK[_container_tier(view, _generic(path))] > rank):
            return _DROP
        return kept_items
    return value if _leaf_rank(view, path) <= rank else _DROP
