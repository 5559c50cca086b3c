"""Ledger entries from GS1 EPCIS 2.0 events, and the events MICS writes for them.

Every entry of a custody account is an EPCIS event in the repository (and so a
leaf of the transparency log). The event says what it is for the ledger with
extension fields in the ``custody`` namespace (EPCIS 2.0 §7.1.4 user extensions):

- ``custody:entry``: ``receipt`` (ObjectEvent, bizStep ``receiving``),
  ``certificate`` (book and claim: a certificate bought without the material),
  ``transformation`` (TransformationEvent: a process step, inputs and outputs in
  kilograms), ``shipment`` (ObjectEvent, bizStep ``shipping``), ``stock_count``
  (ObjectEvent, bizStep ``cycle_counting``) or ``claim``;
- ``custody:material``, and on receipts ``custody:shares`` (characteristic ->
  certified share in [0, 1]) and ``custody:category`` (RJC: mined, recycled,
  grandfathered); on transformations ``custody:step``, ``custody:productGroup`` and
  ``custody:itemKg`` (material per output EPC).

Quantities are ``quantityList`` elements (EPCIS 2.0 §7.3.3.3) in ``KGM`` or ``GRM``
(UN/CEFACT Rec. 20). The evidence of a receipt is the event's ``certificationInfo``
(EPCIS 2.0 §7.3.8, the certificate), its ``bizTransactionList`` (the supplier's
transaction documents, CBV 2.0 §8.5) and ``custody:assay``.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from mics.custody.model import ENTRY_KINDS, Entry, Flow
from mics.errors import InvalidInput
from mics.trace.canonical_uri import canonical

NAMESPACE = "https://mics.example/ns/custody#"
CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"custody": NAMESPACE}]
DL = "https://id.gs1.org"
KIND = "custody:entry"
UNITS = {"KGM": 1.0, "GRM": 0.001}  # UN/CEFACT Rec. 20 codes -> kilograms
STEPS = {
    "receipt": "receiving",
    "certificate": "receiving",
    "shipment": "shipping",
    "stock_count": "cycle_counting",
    "claim": "inspecting",
}
EXPECTED_TYPE = {"transformation": "TransformationEvent"}


def kind_of(event: Mapping[str, Any]) -> str | None:
    """The ledger kind of an event (None: not a custody event)."""
    value = event.get(KIND)
    return value if isinstance(value, str) else None


def site_gln(event: Mapping[str, Any], where: str) -> str:
    """The GLN of the event's business location (the site whose ledger it enters)."""
    location = event.get("bizLocation")
    place = location.get("id") if isinstance(location, dict) else None
    if not isinstance(place, str) or "/414/" not in place:
        raise InvalidInput(
            "a custody event names its site",
            field=f"{where}.bizLocation",
            value=place,
            expected="the site's SGLN as a Digital Link, https://id.gs1.org/414/{GLN}",
        )
    return place.split("/414/", 1)[1].split("/", 1)[0]


def entry_of(event: Mapping[str, Any], site: str, where: str = "event") -> Entry:
    """The ledger entry ``event`` records for ``site``; ``InvalidInput`` names what is wrong."""
    kind = kind_of(event)
    if kind not in ENTRY_KINDS:
        raise InvalidInput(
            "unknown custody entry",
            field=f"{where}.{KIND}",
            value=kind,
            expected=", ".join(ENTRY_KINDS),
        )
    wanted = EXPECTED_TYPE.get(kind, "ObjectEvent")
    if event.get("type") != wanted:
        raise InvalidInput(
            f"a {kind} is an EPCIS {wanted}",
            field=f"{where}.type",
            value=event.get("type"),
            expected=wanted,
        )
    material = event.get("custody:material")
    if not isinstance(material, str) or not material:
        raise InvalidInput(
            "missing",
            field=f"{where}.custody:material",
            value=material,
            expected="the material, e.g. gold",
        )
    event_id = event.get("eventID")
    if not isinstance(event_id, str):
        raise InvalidInput(
            "missing",
            field=f"{where}.eventID",
            value=event_id,
            expected="an eventID (urn:uuid:...)",
        )
    common: dict[str, Any] = {
        "kind": kind,
        "event_id": event_id,
        "time": _time(event.get("eventTime"), f"{where}.eventTime"),
        "site": site,
        "material": material,
    }
    if kind in ("receipt", "certificate"):
        flows = _quantities(event.get("quantityList"), f"{where}.quantityList", required=True)
        return Entry(
            outputs=flows,
            shares=_shares(event.get("custody:shares"), f"{where}.custody:shares"),
            category=_text(event.get("custody:category")),
            evidence=_evidence(event),
            **common,
        )
    if kind == "transformation":
        inputs = _quantities(
            event.get("inputQuantityList"), f"{where}.inputQuantityList", required=True
        )
        outputs = list(_quantities(event.get("outputQuantityList"), f"{where}.outputQuantityList"))
        items = [canonical(e) for e in event.get("outputEPCList") or () if isinstance(e, str)]
        if items:
            each = _kg(event.get("custody:itemKg"), f"{where}.custody:itemKg")
            outputs += [Flow(i, each) for i in items]
        made, used = sum(f.kg for f in outputs), sum(f.kg for f in inputs)
        if not outputs or made > used * (1 + 1e-9):
            raise InvalidInput(
                f"quantities do not add up: {made:.6g} kg out of {used:.6g} kg in",
                field=f"{where}.outputQuantityList",
                value=round(made, 9),
                expected=f"output between 0 and the {used:.6g} kg of input "
                "(conversion factor in (0, 1])",
            )
        return Entry(
            inputs=inputs,
            outputs=tuple(outputs),
            product_group=_text(event.get("custody:productGroup")) or "general",
            step=_text(event.get("custody:step")),
            **common,
        )
    flows = _quantities(
        event.get("quantityList"), f"{where}.quantityList", required=kind == "stock_count"
    )
    flows += tuple(
        Flow(canonical(e), 0.0) for e in event.get("epcList") or () if isinstance(e, str)
    )
    return Entry(outputs=flows, evidence=_evidence(event), **common)


def _time(value: Any, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            "not a time", field=field, value=value, expected="an ISO 8601 time with offset"
        ) from None
    if moment.tzinfo is None:
        raise InvalidInput("no time zone", field=field, value=value, expected="an offset")
    return moment.astimezone(UTC)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _kg(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInput("not a number", field=field, value=value, expected="kilograms > 0")
    if not math.isfinite(value) or value <= 0:
        raise InvalidInput("must be positive", field=field, value=value, expected="kg > 0")
    return float(value)


def _quantities(value: Any, field: str, *, required: bool = False) -> tuple[Flow, ...]:
    if value is None and not required:
        return ()
    if not isinstance(value, list) or (required and not value):
        raise InvalidInput(
            "missing", field=field, value=value, expected="a list of {epcClass, quantity, uom: KGM}"
        )
    flows = []
    for n, element in enumerate(value):
        here = f"{field}[{n}]"
        if not isinstance(element, dict) or not isinstance(element.get("epcClass"), str):
            raise InvalidInput(
                "not a quantity element",
                field=here,
                value=element,
                expected="{epcClass, quantity, uom}",
            )
        unit = element.get("uom")
        if unit not in UNITS:
            raise InvalidInput(
                "wrong unit for a mass balance",
                field=f"{here}.uom",
                value=unit,
                expected="KGM or GRM (UN/CEFACT Rec. 20)",
            )
        kg = _kg(element.get("quantity"), f"{here}.quantity") * UNITS[unit]
        flows.append(Flow(canonical(element["epcClass"]), kg))
    return tuple(flows)


def _shares(value: Any, field: str) -> dict[str, float]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput("not an object", field=field, value=value, expected='{"recycled": 0.6}')
    shares = {}
    for key, share in value.items():
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
            raise InvalidInput(
                "share outside [0, 1]",
                field=f"{field}.{key}",
                value=share,
                expected="a share between 0 and 1",
            )
        shares[str(key)] = float(share)
    return shares


def _evidence(event: Mapping[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if event.get("certificationInfo"):
        found["certificate"] = event["certificationInfo"]
    documents = [
        b.get("bizTransaction")
        for b in event.get("bizTransactionList") or ()
        if isinstance(b, dict)
    ]
    if documents:
        found["transactionDocuments"] = documents
    if event.get("custody:assay") is not None:
        found["assay"] = event["custody:assay"]
    if isinstance(event.get("custody:stockDate"), str):  # grandfathered stock (RJC)
        found["stockDate"] = event["custody:stockDate"]
    return found


# --- the events MICS writes ----------------------------------------------------------------


def new_event_id() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def location(gln: str) -> dict[str, str]:
    return {"id": f"{DL}/414/{gln}"}


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def quantity(identifier: str, kg: float) -> dict[str, Any]:
    return {"epcClass": identifier, "quantity": round(kg, 9), "uom": "KGM"}


def object_event(
    kind: str, gln: str, material: str, when: datetime, **fields: Any
) -> dict[str, Any]:
    """An ObjectEvent for a receipt, certificate, shipment, stock count or claim."""
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventID": new_event_id(),
        "eventTime": stamp(when),
        "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE",
        "bizStep": STEPS[kind],
        "readPoint": location(gln),
        "bizLocation": location(gln),
        KIND: kind,
        "custody:material": material,
    }
    return event | {k: v for k, v in fields.items() if v is not None}


def transformation_event(
    gln: str,
    material: str,
    when: datetime,
    inputs: Sequence[tuple[str, float]],
    outputs: Sequence[tuple[str, float]],
    *,
    step: str,
    product_group: str,
    items: Sequence[str] = (),
    item_kg: float | None = None,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "TransformationEvent",
        "eventID": new_event_id(),
        "eventTime": stamp(when),
        "eventTimeZoneOffset": "+00:00",
        "bizStep": "commissioning",
        "readPoint": location(gln),
        "bizLocation": location(gln),
        "inputQuantityList": [quantity(i, kg) for i, kg in inputs],
        KIND: "transformation",
        "custody:material": material,
        "custody:step": step,
        "custody:productGroup": product_group,
    }
    if outputs:
        event["outputQuantityList"] = [quantity(i, kg) for i, kg in outputs]
    if items:
        event["outputEPCList"] = list(items)
        event["custody:itemKg"] = item_kg
    return event


def document(events: Sequence[dict[str, Any]], created: datetime | None = None) -> dict[str, Any]:
    return {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": stamp(created or datetime.now(UTC)),
        "epcisBody": {"eventList": list(events)},
    }
