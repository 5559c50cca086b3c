"""The passport's public provenance timeline: drawn, in each language, from one walk.

``walk`` follows the subject's chain of custody (``passport.chain``: the slow
part, a genealogy walk and its events' bodies) and ``timeline`` draws the
passport's ``provenance`` from it in a language: date, step and its label,
place and country - no partner names or business transactions on the public
timeline. ``view.assemble_each`` draws every language from one walk.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from mics.db import Database
from mics.passport.chain import GS1, CitedEvent, Subject, custody
from mics.passport.languages import language_code
from mics.registry import reads as registry
from mics.trace import reads as trace_reads
from mics.trace.event_identifiers import identifiers

__all__ = [
    "Walk",
    "country_of_gln",
    "provenance",
    "short_step",
    "strings",
    "timeline",
    "walk",
]


@cache
def _data(name: str) -> Any:
    return json.loads(resources.files("mics.passport").joinpath("data", name).read_text("utf-8"))


def strings(lang: str) -> dict[str, Any]:
    """The page and label texts in ``lang`` (``en`` or ``it``)."""
    table: dict[str, Any] = _data("i18n.json")[language_code(lang)]
    return table


def country_of_gln(gln: str) -> str | None:
    """The country of the GS1 member organisation that issued the GLN's prefix."""
    prefix = gln[:3]
    for row in _data("gs1_prefixes.json")["ranges"]:
        if row["from"] <= prefix <= row["to"]:
            found: str = row["country"]
            return found
    return None


def _place(places: dict[str, str], location: str | None) -> dict[str, Any]:
    """City and country of an SGLN location, from the partner holding the GLN."""
    if not location or "/414/" not in location:
        return {"place": None, "country": None}
    gln = location.split("/414/", 1)[1].split("/", 1)[0]
    city = places.get(gln, "")
    return {"place": city or None, "country": country_of_gln(gln)}


@dataclass(frozen=True)
class Walk:
    """What a provenance timeline is drawn from, in any language: the chain of custody's
    cited events, their bodies and capturing partners, the places of GLNs, the unvouched
    events and every identifier the walk met."""

    cited: list[CitedEvent]
    unvouched: list[dict[str, Any]]
    bodies: dict[str, tuple[dict[str, Any], str]]
    places: dict[str, str]
    walked: frozenset[str]


def walk(db: Database, subject: Subject) -> Walk:
    """The subject's chain of custody and what its timeline shows of each event (slow:
    the genealogy walk; one per item however many languages are drawn from it)."""
    found = custody(db, subject)
    with db.read() as s:
        places = registry.places_by_gln(s)
        bodies = {
            event_id: (json.loads(body), partner)
            for event_id, (body, partner) in trace_reads.event_bodies(
                s, [e.event_id for e in found.cited]
            ).items()
        }
    return Walk(found.cited, found.unvouched, bodies, places, found.walked)


def provenance(db: Database, subject: Subject, lang: str) -> tuple[dict[str, Any], frozenset[str]]:
    """The public timeline (date, step, place, country), the full event list, the unvouched;
    and every identifier the walk met (a new event naming one may change the answer)."""
    walked = walk(db, subject)
    return timeline(walked, subject, lang), walked.walked


def timeline(walked: Walk, subject: Subject, lang: str) -> dict[str, Any]:
    """``provenance`` drawn in ``lang`` from a walk."""
    labels = strings(lang)["steps"]
    rows, full = [], []
    made: str | None = None
    for event in walked.cited:
        body, partner = walked.bodies[event.event_id]
        if made is None and _makes(body, subject):
            made = event.event_time[:10]
        location = (body.get("bizLocation") or {}).get("id") or (body.get("readPoint") or {}).get(
            "id"
        )
        step = short_step(event.biz_step)
        rows.append(
            {
                "date": event.event_time[:10],
                "step": step,
                "stepLabel": labels.get(step or "other", labels["other"]),
            }
            | _place(walked.places, location)
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
    return {"timeline": rows, "events": full, "unvouched": walked.unvouched, "madeOn": made}


MADE_ROLES = {"output", "output_quantity"}  # what a TransformationEvent makes


def _makes(event: dict[str, Any], subject: Subject) -> bool:
    """Whether ``event`` made the subject (or its lot): a transformation's output, or an
    ObjectEvent ADD that commissions it (CBV 2.0 §7.2: the object comes into being)."""
    names = {subject.digital_link}
    if subject.lot:
        names.add(f"{GS1}/01/{subject.gtin}/10/{subject.lot}")
    roles = {role for ident, role in identifiers(event) if ident in names}
    if roles & MADE_ROLES:
        return True
    commissioned = event.get("type") == "ObjectEvent" and event.get("action") == "ADD"
    return (
        commissioned
        and bool(roles & {"epc", "quantity"})
        and (short_step(event.get("bizStep")) in ("commissioning", None))
    )


def short_step(step: str | None) -> str | None:
    if not step:
        return None
    for prefix in ("https://ref.gs1.org/cbv/BizStep-", "urn:epcglobal:cbv:bizstep:"):
        step = step.removeprefix(prefix)
    return step
