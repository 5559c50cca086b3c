"""The passport of an item, a lot or a model, as JSON-LD, filtered to an access tier.

Assembled from the registry (product, maker, materials with origin, recycled
and bio-based shares), the traceability repository (a public provenance
timeline: date, step, place and country - no partner names, no business
transactions), the footprint (when ``mics.footprint.service`` is installed),
repair and end-of-life guidance, the last authenticity verdict (when
``mics.passport.scans`` records them) and the ownership status. ESPR
(Reg. (EU) 2024/1781) Art. 9-11 tiers are applied by ``mics.passport.access``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mics.db import Database
from mics.errors import MicsError
from mics.footprint import service as footprint_service
from mics.passport import access
from mics.passport.chain import (
    GS1,
    VERDICT_FIELD,
    CitedEvent,
    Subject,
    cited_events,
    custody_chain,
    find_subject,
)
from mics.passport.data_integrity import did_web
from mics.passport.languages import language_code
from mics.passport.ownership import item_status
from mics.passport.store import LAST_CHECKED_SCAN
from mics.passport.timeline import (
    country_of_gln,
    provenance,
    short_step,
    strings,
    timeline,
    walk,
)
from mics.registry import domain, get_partner, get_product, product_tree
from mics.registry import reads as registry
from mics.registry.schemas import BomNode, ProductOut

__all__ = [  # the chain of custody is mics.passport.chain's, the timeline
    # mics.passport.timeline's: named here as before
    "GS1",
    "VERDICT_FIELD",
    "Assembled",
    "CitedEvent",
    "Subject",
    "assemble",
    "assemble_each",
    "cited_events",
    "country_of_gln",
    "custody_chain",
    "find_subject",
    "full_passport",
    "passport_json",
    "product_part",
    "provenance",
    "short_step",
    "strings",
]

CONTEXT = {"@vocab": "https://mics.example/ns/passport#", "schema": "https://schema.org/"}


def _materials(tree: BomNode) -> list[dict[str, Any]]:
    """Materials of the whole BOM (sub-products expanded), mass summed per material."""
    mass: dict[str, float] = defaultdict(float)
    nodes: dict[str, BomNode] = {}
    stack = [tree]
    while stack:
        node = stack.pop()
        if node.kind == "material":
            mass[node.ref] += node.mass_kg
            nodes.setdefault(node.ref, node)
        stack.extend(node.children)
    total = sum(mass.values()) or 1.0
    return [
        {"ref": ref, "massKg": round(m, 6), "massShare": round(m / total, 4)}
        for ref, m in sorted(mass.items(), key=lambda kv: -kv[1])
    ]


def material_mix(db: Database, product_id: str) -> list[dict[str, Any]]:
    """The passport's ``materials``: each material of the whole BOM, its mass and share
    of the product, origin, recycled and bio-based shares (unfiltered: ``access``)."""
    with db.read() as s:
        materials = registry.materials(s)
    return [
        {
            "name": materials[m["ref"]].name,
            "category": materials[m["ref"]].category,
            "originCountry": materials[m["ref"]].country,
            "massKg": m["massKg"],
            "massShare": m["massShare"],
            "recycledShare": materials[m["ref"]].recycled_share,
            "bioBasedShare": materials[m["ref"]].bio_based_share,
            "densityKgM3": materials[m["ref"]].density_kg_m3,
            "supplier": materials[m["ref"]].supplier_id,
        }
        for m in _materials(product_tree(db, product_id))
    ]


def _footprint(db: Database, product_id: str) -> tuple[dict[str, Any], float | None]:
    """GWP100 by stage and the MCI from :mod:`mics.footprint.service`."""
    # A product the footprint cannot assess (no factor for a material, no BOM) says so
    # with a MicsError: "not available". Any other failure is a bug and surfaces.
    try:
        result = footprint_service.footprint(db, product_id)
    except MicsError:
        return {"available": False, "note": "footprint not available"}, None
    stages = {str(k): round(float(v), 6) for k, v in result.by_stage.items()}
    total = float(result.total)
    try:
        mci: float | None = float(footprint_service.circularity(db, product_id).mci.mci)
    except MicsError:
        mci = None
    return {"available": True, "gwp100KgCO2e": round(total, 6), "byStage": stages}, mci


def _authenticity(db: Database, item_id: int | None) -> dict[str, Any]:
    """The last verdict of a scan whose MAC checked (``store.LAST_CHECKED_SCAN``)."""
    unknown = {"verdict": None, "checkedAt": None, "counter": None}
    if item_id is None:
        return unknown
    with db.read() as s:
        last = s.execute(LAST_CHECKED_SCAN, {"item": item_id}).first()
    if last is None:
        return unknown
    return authenticity_block(last.verdict, last.scanned_at, last.counter)


def authenticity_block(verdict: str, scanned_at: datetime, counter: int | None) -> dict[str, Any]:
    """The passport's ``authenticity``: a scan's verdict, when, and the tag counter."""
    return {
        "verdict": verdict,
        "checkedAt": scanned_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "counter": counter,
    }


def ownership_block(status: dict[str, Any] | None) -> dict[str, Any]:
    """The passport's ``ownership`` from ``ownership.item_status`` (None: not an item)."""
    return {
        "owners": status["owners"] if status else None,
        "since": status["since"] if status else None,
        "ownedSince": status["owned_since"] if status else [],
        "lostOrStolen": status["lost_or_stolen"] if status else False,
        "report": status["status"] if status else None,
        "claimable": status["claimable"] if status else False,
    }


def product_part(db: Database, gtin: str, *, lang: str = "en") -> dict[str, Any]:
    """The parts of a passport every item of a product shares (the slow ones: BOM, footprint).

    Unfiltered; ``assemble`` takes it as ``shared`` so that a cache can assemble
    it once per product rather than once per item (``passport.passport_cache``).
    """
    lang = language_code(lang)
    product = get_product(db, domain.normalise_gtin(gtin))
    brand = get_partner(db, product.brand)
    with db.read() as s:
        sector = registry.sector_name(s, product.sector)
    footprint, mci = _footprint(db, product.id)
    mix = material_mix(db, product.id)
    recycled = sum(m["massShare"] * m["recycledShare"] for m in mix)
    bio = sum(m["massShare"] * m["bioBasedShare"] for m in mix)
    text, untranslated = product_texts(product, lang)
    return {
        "product": {
            "name": text["name"],
            "description": text["description"],
            "untranslated": untranslated,
            "sector": product.sector,
            "sectorName": sector or product.sector,
            "lifetimeYears": product.lifetime_years,
            "massKg": product.mass_kg,
        },
        "manufacturer": {
            "id": brand.id,
            "name": brand.name,
            "city": brand.city,
            "website": brand.website,
            "gln": brand.gln,
        },
        "materials": mix,
        "components": [
            {
                "name": c.name,
                "material": c.material,
                "subproduct": c.product,
                "massKg": c.mass_kg,
                "process": c.process,
            }
            for c in product.components
        ],
        "footprint": footprint,
        "circularity": {
            "recycledContent": round(recycled, 4),
            "bioBasedContent": round(bio, 4),
            "mci": None if mci is None else round(mci, 4),
        },
        "repair": {"instructions": text["repair_notes"]},
        "endOfLife": {"instructions": text["end_of_life_notes"]},
    }


TEXT_FIELDS = ("name", "description", "repair_notes", "end_of_life_notes")


def product_texts(product: ProductOut, lang: str) -> tuple[dict[str, str], list[str]]:
    """The product's texts in ``lang`` where the maker gave them, else the main (English)
    ones; and which non-empty texts fell back to English, so the reader is told."""
    given = product.texts.get(lang)
    chosen = {field: str(getattr(product, field)) for field in TEXT_FIELDS}
    untranslated = []
    for field in TEXT_FIELDS:
        value = getattr(given, field) if given is not None else None
        if value:
            chosen[field] = value
        elif lang != "en" and chosen[field]:
            untranslated.append(field)
    return chosen, untranslated


@dataclass(frozen=True)
class Assembled:
    """A passport without its volatile parts (``authenticity``, ``ownership``), unfiltered.

    ``walked`` holds every identifier its provenance walked: a new event naming
    one of them may change it.
    """

    body: dict[str, Any]
    item_id: int | None
    walked: frozenset[str]


VOLATILE = ("authenticity", "ownership")  # the parts any scan or resale changes


def assemble(
    db: Database, subject: Subject, shared: dict[str, Any], *, lang: str, base_url: str
) -> Assembled:
    """The slow part of the subject's passport, from its product's ``product_part``.

    Everything but ``VOLATILE``, in ``full_passport``'s order: a cache keeps this
    (``passport.passport_cache``) and adds the volatile parts read fresh.
    """
    lang = language_code(lang)
    return assemble_each(db, subject, {lang: shared}, base_url=base_url)[lang]


def assemble_each(
    db: Database, subject: Subject, shared: dict[str, dict[str, Any]], *, base_url: str
) -> dict[str, Assembled]:
    """``assemble`` in each language of ``shared`` (language -> its ``product_part``), from
    one walk of the chain of custody and one read of the custody claims (neither depends
    on the language): what ``passport.prebuild`` writes for every language at once."""
    walked = walk(db, subject)
    base = base_url.rstrip("/")
    claims = custody_claims(db, subject, base)
    item_id = subject.item.id if subject.item is not None else None
    found = {}
    for lang, part in shared.items():
        code = language_code(lang)
        body = _slow_body(subject, part, timeline(walked, subject, code), code, base, claims)
        found[code] = Assembled(body, item_id, walked.walked)
    return found


def _slow_body(
    subject: Subject,
    shared: dict[str, Any],
    made: dict[str, Any],
    lang: str,
    base: str,
    claims: dict[str, Any],
) -> dict[str, Any]:
    page = f"{base}/01/{subject.gtin}" + (f"/21/{subject.serial}" if subject.serial else "")
    return {
        "@context": CONTEXT,
        "@type": "ProductPassport",
        "@id": subject.digital_link,
        "granularity": subject.granularity,
        "language": lang,
        "product": {"gtin": subject.gtin, "serial": subject.serial, "lot": subject.lot}
        | shared["product"]
        | {
            # when its events say it was made (not when the registry row was written)
            "producedOn": made.pop("madeOn"),
            "page": page,
        },
        "manufacturer": shared["manufacturer"]
        | {"did": did_web(base, "partners", shared["manufacturer"]["id"])},
        "materials": shared["materials"],
        "components": shared["components"],
        "provenance": made,
        "footprint": shared["footprint"],
        "circularity": shared["circularity"],
        "repair": shared["repair"],
        "endOfLife": shared["endOfLife"],
        "custody": claims,
    }


def full_passport(
    db: Database, gtin: str, serial: str | None, lot: str | None, *, lang: str = "en", base_url: str
) -> dict[str, Any]:
    """Every field of the passport, unfiltered (the authority view)."""
    lang = language_code(lang)
    subject = find_subject(db, gtin, serial, lot)
    shared = product_part(db, subject.gtin, lang=lang)
    slow = assemble(db, subject, shared, lang=lang, base_url=base_url)
    status = item_status(db, slow.item_id) if slow.item_id is not None else None
    return slow.body | {
        "authenticity": _authenticity(db, slow.item_id),
        "ownership": ownership_block(status),
    }


def custody_claims(db: Database, subject: Subject, base: str) -> dict[str, Any]:
    """The chain-of-custody claims on the item or its lot (``mics.custody``, issue 18)."""
    from mics.custody.passport import passport_block

    names = [subject.digital_link]
    if subject.lot:
        names.append(f"{GS1}/01/{subject.gtin}/10/{subject.lot}")
    return passport_block(db, names, base)


def passport_json(
    db: Database,
    gtin: str,
    serial: str | None,
    lot: str | None,
    *,
    tier: str = "public",
    lang: str = "en",
    base_url: str,
) -> dict[str, Any]:
    """The passport as JSON-LD with only the fields ``tier`` may see (``full_passport``)."""
    access.check_tier(tier)
    full = full_passport(db, gtin, serial, lot, lang=lang, base_url=base_url)
    return access.filter_to_tier(full, tier) | {"tier": tier}
