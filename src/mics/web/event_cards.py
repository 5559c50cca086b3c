"""An EPCIS 2.0 event as a person reads it: what, when, where, why (EPCIS 2.0 §7.3.1).

The four dimensions of an event, in the standard's words: *what* objects (EPC lists,
quantity lists, parent, inputs and outputs), *when* (``eventTime`` with its
``eventTimeZoneOffset``), *where* (``readPoint``, ``bizLocation``, the source and
destination lists) and *why* (``bizStep``, ``disposition``, business transactions).
Identifiers are shown with the registry's names (``mics.cli.trace_view.Labels``: products
by GTIN, partners by GLN) and keep their URI for a link or a tooltip.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from mics.cli.trace_view import Labels
from mics.trace.cbv import bare_term

# (event key, how the objects take part) in the order a reader expects them
WHAT = (
    ("parentID", "parent"),
    ("epcList", "object"),
    ("childEPCs", "child"),
    ("inputEPCList", "input"),
    ("outputEPCList", "output"),
)
QUANTITIES = (
    ("quantityList", "object"),
    ("childQuantityList", "child"),
    ("inputQuantityList", "input"),
    ("outputQuantityList", "output"),
)
_STAMP = re.compile(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d)(?::\d\d(?:\.\d+)?)?(Z|[+-]\d\d:\d\d)?$")


@dataclass(frozen=True)
class Thing:
    """One object of an event: its role, a readable name, the URI, and a quantity if any."""

    role: str
    label: str
    uri: str
    quantity: str = ""


@dataclass(frozen=True)
class Card:
    event_id: str
    kind: str  # ObjectEvent, ...
    action: str
    when: str
    things: tuple[Thing, ...]
    read_point: tuple[str, str] | None  # (label, uri)
    location: tuple[str, str] | None
    sources: tuple[tuple[str, str, str], ...]  # (type, label, uri): source and destination
    biz_step: str
    disposition: str
    transactions: tuple[tuple[str, str], ...]
    json_ld: str


def when(stamp: str | None) -> str:
    """``2026-02-03T08:00:00.000+01:00`` -> ``2026-02-03 08:00 +01:00`` (UTC for Z)."""
    found = _STAMP.match(stamp or "")
    if found is None:
        return stamp or ""
    day, minute, zone = found.groups()
    return f"{day} {minute} {'UTC' if zone in ('Z', '+00:00', None) else zone}"


def _place(labels: Labels, value: Any) -> tuple[str, str] | None:
    uri = value.get("id") if isinstance(value, dict) else value
    if not isinstance(uri, str) or not uri:
        return None
    return labels.place(uri), uri


def _things(event: dict[str, Any], labels: Labels) -> list[Thing]:
    found: list[Thing] = []
    for key, role in WHAT:
        value = event.get(key)
        for uri in [value] if isinstance(value, str) else value or []:
            if isinstance(uri, str):
                found.append(Thing(role, labels.thing(uri), uri))
    for key, role in QUANTITIES:
        for entry in event.get(key) or []:
            if not isinstance(entry, dict) or not isinstance(entry.get("epcClass"), str):
                continue
            amount = entry.get("quantity")
            shown = "" if amount is None else f"{amount:g} {entry.get('uom') or ''}".strip()
            uri = entry["epcClass"]
            found.append(Thing(role, labels.thing(uri), uri, shown))
    return found


def card(event: dict[str, Any], labels: Labels) -> Card:
    """The card of one event (a JSON-LD event as ``mics.trace.query`` answers it)."""
    sources: list[tuple[str, str, str]] = []
    for key, end in (("sourceList", "from"), ("destinationList", "to")):
        for entry in event.get(key) or []:
            if isinstance(entry, dict) and isinstance(entry.get(key[:-4]), str):
                uri = entry[key[:-4]]
                kind = bare_term(str(entry.get("type", "")))
                sources.append((f"{end} ({kind})" if kind else end, labels.place(uri), uri))
    transactions = tuple(
        (bare_term(str(t.get("type", ""))), str(t.get("bizTransaction", "")))
        for t in event.get("bizTransactionList") or []
        if isinstance(t, dict)
    )
    return Card(
        event_id=str(event.get("eventID", "")),
        kind=str(event.get("type", "")),
        action=str(event.get("action") or ""),
        when=when(event.get("eventTime")),
        things=tuple(_things(event, labels)),
        read_point=_place(labels, event.get("readPoint")),
        location=_place(labels, event.get("bizLocation")),
        sources=tuple(sources),
        biz_step=bare_term(str(event.get("bizStep") or "")),
        disposition=bare_term(str(event.get("disposition") or "")),
        transactions=transactions,
        json_ld=json.dumps(event, indent=2, ensure_ascii=False),
    )
