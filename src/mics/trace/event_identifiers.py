"""Which identifiers an EPCIS event names, and in what role (for queries and genealogy).

Identifiers are indexed in canonical GS1 Digital Link form (``canonical_uri``),
so that ``urn:epc:id:sgtin:...`` and ``https://id.gs1.org/01/.../21/...`` find
the same object; other URIs are kept as they are.
"""

from __future__ import annotations

from typing import Any

from mics.trace.canonical_uri import canonical


def _id(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return canonical(value) if isinstance(value, str) and value else None


def identifiers(event: dict[str, Any]) -> list[tuple[str, str]]:
    """``(canonical identifier, role)`` pairs, without repeats, in a stable order."""
    found: list[tuple[str, str]] = []
    kind = event.get("type")
    child_role = "epc"
    for key, role in (
        ("epcList", "epc"),
        ("childEPCs", child_role),
        ("inputEPCList", "input"),
        ("outputEPCList", "output"),
    ):
        for epc in event.get(key) or ():
            if isinstance(epc, str):
                found.append((canonical(epc), role))
    for key, role in (
        ("quantityList", "quantity"),
        ("childQuantityList", "quantity"),
        ("inputQuantityList", "input_quantity"),
        ("outputQuantityList", "output_quantity"),
    ):
        for element in event.get(key) or ():
            if isinstance(element, dict) and isinstance(element.get("epcClass"), str):
                found.append((canonical(element["epcClass"]), role))
    parent = event.get("parentID")
    if isinstance(parent, str) and kind != "TransformationEvent":
        found.append((canonical(parent), "parent"))
    for key, role in (("sourceList", "source"), ("destinationList", "destination")):
        for entry in event.get(key) or ():
            if isinstance(entry, dict):
                ident = _id(entry.get(role))
                if ident:
                    found.append((ident, role))
    for key, role in (("readPoint", "read_point"), ("bizLocation", "biz_location")):
        ident = _id(event.get(key))
        if ident:
            found.append((ident, role))
    seen: set[tuple[str, str]] = set()
    unique = []
    for pair in found:
        if pair not in seen:
            seen.add(pair)
            unique.append(pair)
    return unique


def biz_transactions(event: dict[str, Any]) -> list[tuple[str, str]]:
    """``(type, value)`` for each business transaction (type '' when none is given)."""
    out = []
    for entry in event.get("bizTransactionList") or ():
        if isinstance(entry, dict) and isinstance(entry.get("bizTransaction"), str):
            kind = entry.get("type")
            out.append((kind if isinstance(kind, str) else "", entry["bizTransaction"]))
    return out
