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

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import import_module, resources
from typing import Any

from sqlalchemy import select

from mics.db import Database
from mics.errors import InvalidInput, MicsError, NotFound
from mics.passport import access
from mics.passport.data_integrity import did_web
from mics.passport.ownership import item_status
from mics.registry import domain, get_partner, get_product, product_tree
from mics.registry.products import find_product
from mics.registry.schemas import BomNode, ItemOut
from mics.registry.store import ItemRow, MaterialRow, PartnerRow, SectorRow
from mics.trace.canonical_uri import canonical_uri
from mics.trace.epcs import identifiers
from mics.trace.genealogy import trace
from mics.trace.query import Viewer
from mics.trace.store import EventEpcRow, EventRow

CONTEXT = {"@vocab": "https://mics.example/ns/passport#", "schema": "https://schema.org/"}
LANGUAGES = ("en", "it")
GS1 = "https://id.gs1.org"
VERDICT_FIELD = "mics:verdict"  # the extension field of a tag-scan verdict event


@dataclass(frozen=True)
class CitedEvent:
    """An EPCIS event the passport cites: its store key, id and CBV 2.0 hash."""

    pk: int
    event_id: str
    event_hash: str
    event_time: str
    biz_step: str | None


@dataclass(frozen=True)
class Subject:
    """What a passport describes: a model (GTIN), a lot, or one serialised item."""

    gtin: str
    serial: str | None
    lot: str | None
    item: ItemOut | None

    @property
    def granularity(self) -> str:
        return "item" if self.serial else "batch" if self.lot else "model"

    @property
    def digital_link(self) -> str:
        uri = f"{GS1}/01/{self.gtin}"
        if self.lot and not self.serial:
            uri += f"/10/{self.lot}"
        if self.serial:
            uri += f"/21/{self.serial}"
        return uri


@cache
def _data(name: str) -> Any:
    return json.loads(resources.files("mics.passport").joinpath("data", name).read_text("utf-8"))


def strings(lang: str) -> dict[str, Any]:
    """The page and label texts in ``lang`` (``en`` or ``it``)."""
    table: dict[str, Any] = _data("i18n.json")[check_lang(lang)]
    return table


def check_lang(lang: str) -> str:
    if lang not in LANGUAGES:
        raise InvalidInput("unsupported language", field="lang", value=lang, expected="en or it")
    return lang


def country_of_gln(gln: str) -> str | None:
    """The country of the GS1 member organisation that issued the GLN's prefix."""
    prefix = gln[:3]
    for row in _data("gs1_prefixes.json")["ranges"]:
        if row["from"] <= prefix <= row["to"]:
            found: str = row["country"]
            return found
    return None


def find_subject(db: Database, gtin: str, serial: str | None, lot: str | None) -> Subject:
    """The item, lot or model a Digital Link names, or ``NotFound``."""
    gtin = domain.normalise_gtin(gtin)
    with db.read() as s:
        product = find_product(s, gtin)
        if serial is None:
            if (
                lot is not None
                and s.scalar(
                    select(ItemRow.id).where(ItemRow.product_id == product.id, ItemRow.lot == lot)
                )
                is None
            ):
                raise NotFound(f"no lot {lot!r} of GTIN {gtin}", field="lot", value=lot)
            return Subject(gtin, None, lot, None)
        row = s.scalar(
            select(ItemRow).where(ItemRow.product_id == product.id, ItemRow.serial == serial)
        )
        if row is None or (lot is not None and row.lot != lot):
            raise NotFound(
                f"no item {serial!r}" + (f" in lot {lot!r}" if lot else "") + f" of GTIN {gtin}",
                field="serial",
                value=serial,
            )
        item = ItemOut(
            id=row.id,
            product=row.product_id,
            gtin=gtin,
            serial=row.serial,
            lot=row.lot,
            created_at=row.created_at,
        )
        return Subject(gtin, serial, row.lot, item)


def cited_events(db: Database, subject: Subject, trail: set[str] | None = None) -> list[CitedEvent]:
    """Every supply-chain event upstream of the subject (and of its lot), in time order.

    Tag-scan verdicts (``passport.scans`` records each as an ObjectEvent carrying
    ``mics:verdict``) are not provenance: the passport's ``authenticity`` shows
    the last one, and listing every tap would grow the passport with each scan
    and publish when each owner's item was checked.

    Only events of the product's chain of custody are cited (``custody_chain``):
    any partner with a key can capture an event naming any EPC, and a passport
    must not let one write itself into another brand's provenance. The
    passport lists the others for authorities (``provenance.unvouched``).
    """
    return _cited(db, subject, trail)[0]


def _cited(
    db: Database, subject: Subject, trail: set[str] | None
) -> tuple[list[CitedEvent], list[dict[str, Any]]]:
    extra = [f"{GS1}/01/{subject.gtin}/10/{subject.lot}"] if subject.serial and subject.lot else []
    found = trace(db, subject.digital_link, "upstream", Viewer(partner=None), extra)
    bodies = {eid: body for eid, body in found.events.items() if VERDICT_FIELD not in body}
    names = {
        eid: {epc for epc, role in identifiers(body) if role in OBJECT_ROLES}
        for eid, body in bodies.items()
    }
    if trail is not None:  # a new event naming any of these may change the passport
        trail.update(found.nodes)
        trail.update(*names.values())
    if not bodies:
        return [], []
    roots = {node for node, about in found.nodes.items() if about.get("depth") == 0}
    with db.read() as s:
        brand = find_product(s, subject.gtin).brand_id
        # This instance's own operator (not a partnership member) runs the registry
        # and captures for partners without keys of their own (`mics epcis capture`).
        operators = set(s.scalars(select(PartnerRow.id).where(PartnerRow.member.is_(False))))
        rows = s.execute(
            select(
                EventRow.id,
                EventRow.event_id,
                EventRow.event_hash,
                EventRow.event_time,
                EventRow.biz_step,
                EventRow.partner_id,
            ).where(EventRow.event_id.in_(list(bodies)))
        ).all()
        glns = {
            str(gln): str(partner)
            for partner, gln in s.execute(
                select(PartnerRow.id, PartnerRow.gln).where(PartnerRow.gln.is_not(None))
            )
        }
        partner_of = {str(row[1]): str(row[5]) for row in rows}
        # Grow the chain and what it vouches for together, from the chain's own events
        # only: an outsider's event links nothing (no item, no case) into the chain.
        chain = {brand} | operators
        while True:
            reached = _reachable(roots, names, partner_of, chain)
            custody = [
                (str(partner), json.loads(body))
                for partner, body in s.execute(
                    select(EventRow.partner_id, EventRow.body)
                    .join(EventEpcRow, EventEpcRow.event == EventRow.id)
                    .where(
                        EventEpcRow.epc.in_(sorted(reached)),
                        EventRow.partner_id.in_(sorted(chain)),
                    )
                    .distinct()
                )
                if '"sourceList"' in body or '"destinationList"' in body
            ]
            grown = custody_chain(chain, custody, glns)
            if grown == chain:
                break
            chain = grown
    ordered = sorted(rows, key=lambda r: (r[3], r[0]))
    vouched = {eid for eid in bodies if partner_of.get(eid) in chain and names[eid] & reached}
    cited = [
        CitedEvent(pk, eid, digest, found.events[eid].get("eventTime", str(moment)), step)
        for pk, eid, digest, moment, step, _ in ordered
        if eid in vouched
    ]
    unvouched = [
        {"eventID": eid, "eventTime": found.events[eid].get("eventTime"), "partner": partner}
        for _, eid, _, _, _, partner in ordered
        if eid not in vouched
    ]
    return cited, unvouched


# Roles of the objects an event is about (not the places or parties it names).
OBJECT_ROLES = frozenset(
    ("epc", "parent", "input", "output", "quantity", "input_quantity", "output_quantity")
)


def _reachable(
    roots: set[str], names: dict[str, set[str]], partner_of: dict[str, str], chain: set[str]
) -> set[str]:
    """The objects linked to ``roots`` by events of ``chain`` partners (items, lots, cases)."""
    reached = set(roots)
    grew = True
    while grew:
        grew = False
        for eid, named in names.items():
            if partner_of.get(eid) in chain and named & reached and not named <= reached:
                reached |= named
                grew = True
    return reached


_PARTY = re.compile(r"^https://id\.gs1\.org/41[47]/(\d{13})")


def custody_chain(
    seeds: set[str], events: list[tuple[str, dict[str, Any]]], partner_by_gln: dict[str, str]
) -> set[str]:
    """The partners whose events a product's passport cites: its chain of custody.

    The ``seeds`` (the brand, the instance operator), then - transitively - every
    partner that an event captured by a partner already in the chain names in its
    ``sourceList`` or
    ``destinationList`` (owning or possessing party, or location, by GLN): the
    brand names the workshop it received from and the shop it shipped to, the
    workshop names its tannery, and so on up and down. A partner nobody in the
    chain names stays out, whatever its events claim.
    """
    chain = set(seeds)
    grew = True
    while grew:
        grew = False
        for partner, body in events:
            if partner not in chain:
                continue
            for named in _parties(body):
                member = partner_by_gln.get(named)
                if member is not None and member not in chain:
                    chain.add(member)
                    grew = True
    return chain


def _parties(event: dict[str, Any]) -> list[str]:
    """GLNs of the parties and places an event's source and destination lists name."""
    found = []
    for key, field in (("sourceList", "source"), ("destinationList", "destination")):
        for entry in event.get(key) or []:
            value = entry.get(field) if isinstance(entry, dict) else None
            canonical = canonical_uri(value) if isinstance(value, str) else None
            match = _PARTY.match(canonical or "")
            if match:
                found.append(match.group(1))
    return found


def _place(places: dict[str, str], location: str | None) -> dict[str, Any]:
    """City and country of an SGLN location, from the partner holding the GLN."""
    if not location or "/414/" not in location:
        return {"place": None, "country": None}
    gln = location.split("/414/", 1)[1].split("/", 1)[0]
    city = places.get(gln, "")
    return {"place": city or None, "country": country_of_gln(gln)}


def provenance(
    db: Database, subject: Subject, lang: str, trail: set[str] | None = None
) -> dict[str, Any]:
    """The public timeline (date, step, place, country), the full event list, the unvouched."""
    events, unvouched = _cited(db, subject, trail)
    labels = strings(lang)["steps"]
    with db.read() as s:
        places = {
            str(gln): city
            for gln, city in s.execute(
                select(PartnerRow.gln, PartnerRow.city).where(PartnerRow.gln.is_not(None))
            )
        }
        bodies = {
            r.event_id: (json.loads(r.body), r.partner_id)
            for r in s.scalars(
                select(EventRow).where(EventRow.event_id.in_([e.event_id for e in events]))
            )
        }
    timeline, full = [], []
    for event in events:
        body, partner = bodies[event.event_id]
        location = (body.get("bizLocation") or {}).get("id") or (body.get("readPoint") or {}).get(
            "id"
        )
        step = short_step(event.biz_step)
        timeline.append(
            {
                "date": event.event_time[:10],
                "step": step,
                "stepLabel": labels.get(step or "other", labels["other"]),
            }
            | _place(places, location)
        )
        full.append(
            {
                "eventID": event.event_id,
                "eventHash": event.event_hash,
                "eventTime": event.event_time,
                "type": body.get("type"),
                "bizStep": step,
                "location": location,
                "partner": partner,
            }
        )
    return {"timeline": timeline, "events": full, "unvouched": unvouched}


def short_step(step: str | None) -> str | None:
    if not step:
        return None
    for prefix in ("https://ref.gs1.org/cbv/BizStep-", "urn:epcglobal:cbv:bizstep:"):
        step = step.removeprefix(prefix)
    return step


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


def _footprint(db: Database, product_id: str) -> tuple[dict[str, Any], float | None]:
    """GWP100 by stage and the MCI from ``mics.footprint.service`` when it is installed."""
    try:
        service = import_module("mics.footprint.service")
        result = service.footprint(db, product_id)
        stages = {str(k): round(float(v), 6) for k, v in result.by_stage.items()}
        total = float(result.total)
    except (ImportError, AttributeError, TypeError, ValueError, MicsError):
        return {"available": False, "note": "footprint not available"}, None
    try:
        mci: float | None = float(service.circularity(db, product_id).mci.mci)
    except (AttributeError, TypeError, ValueError, MicsError):
        mci = None
    return {"available": True, "gwp100KgCO2e": round(total, 6), "byStage": stages}, mci


def _authenticity(db: Database, item_id: int | None) -> dict[str, Any]:
    """The last verdict of a scan whose MAC checked (``mics.passport.store``)."""
    unknown = {"verdict": None, "checkedAt": None, "counter": None}
    if item_id is None:
        return unknown
    try:
        scan_row = import_module("mics.passport.store").TagScanRow
    except (ImportError, AttributeError):
        return unknown
    with db.read() as s:
        # Only scans whose MAC checked speak for the item: anyone can send a random e/c
        # for its URL, and that must not brand a genuine item as counterfeit for everyone.
        last = s.scalar(
            select(scan_row)
            .where(scan_row.item_id == item_id, scan_row.verdict != "not_authentic")
            .order_by(scan_row.scanned_at.desc(), scan_row.id.desc())
            .limit(1)
        )
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

    Unfiltered; ``full_passport`` takes it as ``shared`` so that a cache can assemble
    it once per product rather than once per item (``passport.passport_cache``).
    """
    check_lang(lang)
    product = get_product(db, domain.normalise_gtin(gtin))
    brand = get_partner(db, product.brand)
    with db.read() as s:
        sector = s.get(SectorRow, product.sector)
        materials = {m.id: m for m in s.scalars(select(MaterialRow))}
    footprint, mci = _footprint(db, product.id)
    mix = _materials(product_tree(db, product.id))
    recycled = sum(m["massShare"] * materials[m["ref"]].recycled_share for m in mix)
    bio = sum(m["massShare"] * materials[m["ref"]].bio_based_share for m in mix)
    return {
        "product": {
            "name": product.name,
            "description": product.description,
            "sector": product.sector,
            "sectorName": sector.name if sector else product.sector,
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
        "materials": [
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
            for m in mix
        ],
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
        "repair": {"instructions": product.repair_notes},
        "endOfLife": {"instructions": product.end_of_life_notes},
    }


def full_passport(
    db: Database,
    gtin: str,
    serial: str | None,
    lot: str | None,
    *,
    lang: str = "en",
    base_url: str,
    shared: dict[str, Any] | None = None,
    trail: set[str] | None = None,
) -> dict[str, Any]:
    """Every field of the passport, unfiltered (the authority view).

    ``shared`` is ``product_part`` of the subject's product when the caller has it;
    ``trail``, when given, receives every identifier the provenance walked (a new
    event naming one of them may change the passport).
    """
    check_lang(lang)
    subject = find_subject(db, gtin, serial, lot)
    if shared is None:
        shared = product_part(db, subject.gtin, lang=lang)
    item = subject.item
    status = item_status(db, item.id) if item is not None else None
    base = base_url.rstrip("/")
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
            "producedOn": item.created_at.date().isoformat() if item and item.created_at else None,
            "page": page,
        },
        "manufacturer": shared["manufacturer"]
        | {"did": did_web(base, "partners", shared["manufacturer"]["id"])},
        "materials": shared["materials"],
        "components": shared["components"],
        "provenance": provenance(db, subject, lang, trail),
        "footprint": shared["footprint"],
        "circularity": shared["circularity"],
        "repair": shared["repair"],
        "endOfLife": shared["endOfLife"],
        "authenticity": _authenticity(db, item.id if item else None),
        "ownership": ownership_block(status),
    }


def passport_json(
    db: Database,
    gtin: str,
    serial: str | None,
    lot: str | None,
    *,
    tier: str = "public",
    lang: str = "en",
    base_url: str,
    shared: dict[str, Any] | None = None,
    trail: set[str] | None = None,
) -> dict[str, Any]:
    """The passport as JSON-LD with only the fields ``tier`` may see (``full_passport``)."""
    access.check_tier(tier)
    full = full_passport(
        db, gtin, serial, lot, lang=lang, base_url=base_url, shared=shared, trail=trail
    )
    return access.filter_to_tier(full, tier) | {"tier": tier}
