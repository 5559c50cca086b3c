"""The chain of custody of an item, a lot or a model: whose events speak for it.

Any partner with a key can capture an EPCIS event naming any EPC. What a
passport cites as provenance, and whether an item is recalled, must not be
written by whoever wants to: only the product's chain of custody speaks for it
(``custody_chain``) - the brand, the instance's operator, then every partner
that an event of a partner already in the chain names in its ``sourceList``
or ``destinationList`` (GS1 EPCIS 2.0 §7.3.5.4, by GLN). ``custody`` answers
the chain with the events it vouches for and those it does not (the passport
lists those for authorities, ``provenance.unvouched``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from mics.db import Database
from mics.errors import NotFound
from mics.registry import domain
from mics.registry import reads as registry
from mics.registry.schemas import ItemOut
from mics.trace import reads as events
from mics.trace.canonical_uri import canonical_uri
from mics.trace.event_identifiers import identifiers
from mics.trace.genealogy import trace
from mics.trace.query import Viewer

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


@dataclass(frozen=True)
class Custody:
    """The chain of custody of a subject and the events naming it, vouched for or not."""

    chain: frozenset[str]
    cited: list[CitedEvent]
    unvouched: list[dict[str, Any]]
    walked: frozenset[str] = frozenset()  # every identifier the walk met


def find_subject(db: Database, gtin: str, serial: str | None, lot: str | None) -> Subject:
    """The item, lot or model a Digital Link names, or ``NotFound``."""
    gtin = domain.normalise_gtin(gtin)
    with db.read() as s:
        product = registry.product_ref(s, gtin)
        if serial is None:
            if lot is not None and not registry.lot_exists(s, product.id, lot):
                raise NotFound(f"no lot {lot!r} of GTIN {gtin}", field="lot", value=lot)
            return Subject(gtin, None, lot, None)
        row = registry.item_by_serial(s, product.id, serial)
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


def cited_events(db: Database, subject: Subject) -> list[CitedEvent]:
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
    return custody(db, subject).cited


def custody(db: Database, subject: Subject) -> Custody:
    """The subject's chain of custody, the events it vouches for and those it does not.

    ``Custody.walked`` holds every identifier the walk met: a new event naming
    one of them may change the answer (``passport_cache`` watches them).
    """
    extra = [f"{GS1}/01/{subject.gtin}/10/{subject.lot}"] if subject.serial and subject.lot else []
    found = trace(db, subject.digital_link, "upstream", Viewer(partner=None), extra)
    bodies = {eid: body for eid, body in found.events.items() if VERDICT_FIELD not in body}
    names = {
        eid: {epc for epc, role in identifiers(body) if role in OBJECT_ROLES}
        for eid, body in bodies.items()
    }
    walked = frozenset(found.nodes).union(*names.values())
    roots = {node for node, about in found.nodes.items() if about.get("depth") == 0}
    with db.read() as s:
        brand = registry.product_ref(s, subject.gtin).brand_id
        # This instance's own operator (not a partnership member) runs the registry
        # and captures for partners without keys of their own (`mics epcis capture`).
        operators = registry.operator_ids(s)
        if not bodies:
            return Custody(frozenset({brand} | operators), [], [], walked)
        rows = events.event_summaries(s, bodies)
        glns = registry.partner_ids_by_gln(s)
        partner_of = {row.event_id: row.partner_id for row in rows}
        # Grow the chain and what it vouches for together, from the chain's own events
        # only: an outsider's event links nothing (no item, no case) into the chain.
        chain = {brand} | operators
        while True:
            reached = _reachable(roots, names, partner_of, chain)
            links = [
                (partner, json.loads(body))
                for partner, body in events.linking_bodies(s, reached, chain)
                if '"sourceList"' in body or '"destinationList"' in body
            ]
            grown = custody_chain(chain, links, glns)
            if grown == chain:
                break
            chain = grown
    ordered = sorted(rows, key=lambda r: (r.event_time, r.pk))
    vouched = {eid for eid in bodies if partner_of.get(eid) in chain and names[eid] & reached}
    cited = [
        CitedEvent(
            r.pk,
            r.event_id,
            r.event_hash,
            found.events[r.event_id].get("eventTime", str(r.event_time)),
            r.biz_step,
        )
        for r in ordered
        if r.event_id in vouched
    ]
    unvouched = [
        {
            "eventID": r.event_id,
            "eventTime": found.events[r.event_id].get("eventTime"),
            "partner": r.partner_id,
        }
        for r in ordered
        if r.event_id not in vouched
    ]
    return Custody(frozenset(chain), cited, unvouched, walked)


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
