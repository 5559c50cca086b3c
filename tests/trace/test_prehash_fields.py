"""The per-field pre-hash writer agrees with the general walk, and falls back when it must."""

from __future__ import annotations

import random
from typing import Any

import pytest

from mics.trace.event_hash import prehash
from mics.trace.prehash_fields import fast_prehash
from mics.trace.validate import validate_event

PREFIXES = {"mda": "https://example.org/mda/"}
CONTEXT: list[Any] = [{"mda": "https://example.org/mda/"}]
DL = "https://id.gs1.org"
SCALARS: list[Any] = [
    None, "", " ", True, 0, 3, 2.50, "5.0", "shipping", "po", "location", "active",
    "cbv:BizStep-shipping", "mda:bar", "urn:epcglobal:cbv:bizstep:receiving",
    "https://ref.gs1.org/cbv/Disp-shipping", "urn:epc:id:sgtin:8098765.000013.149000378",
    f"{DL}/01/08098765000139/21/1", "urn:epc:class:lgtin:8054321.000425.T0",
    "2024-01-07T11:32:10.0015+02:00", "bad time", "+01:00", "KGM", "BizStep-shipping",
]  # fmt: skip
KEYS = [
    "eventTimeZoneOffset",
    "certificationInfo",
    "parentID",
    "epcList",
    "inputEPCList",
    "childEPCs",
    "quantityList",
    "childQuantityList",
    "inputQuantityList",
    "outputEPCList",
    "outputQuantityList",
    "action",
    "transformationID",
    "bizStep",
    "disposition",
    "readPoint",
    "bizLocation",
    "bizTransactionList",
    "sourceList",
    "destinationList",
    "ilmd",
    "eventID",
    "recordTime",
    "mda:ext",
    "cbvmda:other",
    "zz:unknown",
    "comment",
    "rdfs:comment",
]
PAIRS = {"bizTransactionList": "bizTransaction", "sourceList": "source"}
PAIRS["destinationList"] = "destination"


def walk(event: dict[str, Any]) -> str:
    """The general walk: an ``ignore`` naming no field keeps the fast path out."""
    return prehash(event, CONTEXT, ignore=("example:nothing",))


def random_value(rng: random.Random, key: str) -> Any:
    def scalar() -> Any:
        return rng.choice(SCALARS)

    def some(make: Any) -> list[Any]:
        return [make() for _ in range(rng.randint(0, 3))]

    odd = rng.random() < 0.05  # a shape only the walk writes
    if key in ("epcList", "inputEPCList", "childEPCs", "outputEPCList"):
        return scalar() if odd else some(scalar)
    if key.endswith("uantityList"):
        fields = (
            ("epcClass", "quantity", "uom", "mda:x") if odd else ("epcClass", "quantity", "uom")
        )
        return some(lambda: {k: scalar() for k in fields if rng.random() < 0.7})
    if key in ("readPoint", "bizLocation"):
        return {"id": scalar(), "mda:door": "7"} if odd else {"id": scalar()}
    if key in PAIRS:
        pair = [("type", scalar()), (PAIRS[key], scalar())]
        return [
            dict(reversed(pair) if rng.random() < 0.3 else pair) for _ in range(rng.randint(0, 2))
        ]
    if key == "ilmd":
        names = ["mda:a", "cbvmda:b", "plain" if odd else "mda:c", "rdfs:comment"]
        return {rng.choice(names): scalar() if rng.random() < 0.8 else some(scalar) for _ in "ab"}
    return some(scalar) if odd else scalar()


def random_event(rng: random.Random) -> dict[str, Any]:
    event: dict[str, Any] = {"type": "ObjectEvent", "eventTime": "2024-01-01T00:00:00.5+01:00"}
    for key in rng.sample(KEYS, rng.randint(0, 10)):
        event[key] = random_value(rng, key)
    if rng.random() < 0.05:
        del event["eventTime"]  # then the walk writes extensions among the standard fields
    return event


def test_fast_writer_equals_the_walk_on_random_events() -> None:
    rng = random.Random(20261124)
    written = 0
    for _ in range(3000):
        event = random_event(rng)
        fast = fast_prehash(event, "ObjectEvent", PREFIXES)
        if fast is not None:
            written += 1
            assert fast == walk(event), event
    assert written > 1000  # most events take the fast path


def test_a_standard_event_takes_the_fast_path() -> None:
    event = {
        "type": "ObjectEvent",
        "eventTime": "2024-01-01T09:36:00.860+01:00",
        "eventTimeZoneOffset": "+01:00",
        "action": "OBSERVE",
        "bizStep": "shipping",
        "epcList": [f"{DL}/01/08098765000139/21/2", "urn:epc:id:sgtin:8098765.000013.1"],
        "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:1:PO-1"}],
        "ilmd": {"mda:lot": "R1"},
    }
    expected = (
        "eventType=ObjectEventeventTime=2024-01-01T08:36:00.860ZeventTimeZoneOffset=+01:00"
        f"epcListepc={DL}/01/08098765000139/21/1epc={DL}/01/08098765000139/21/2"
        "action=OBSERVEbizStep=https://ref.gs1.org/cbv/BizStep-shipping"
        "bizTransactionListtype=https://ref.gs1.org/cbv/BTT-pobizTransaction=urn:epcglobal:cbv:bt:1:PO-1"
        "ilmd{https://example.org/mda/}lot=R1"
    )
    assert fast_prehash(event, "ObjectEvent", PREFIXES) == expected
    assert prehash(event, CONTEXT) == expected == walk(event)


@pytest.mark.parametrize(
    "extra",
    [
        {"sensorElementList": [{"sensorReport": [{"type": "Temperature", "value": 3}]}]},
        {"errorDeclaration": {"declarationTime": "2024-01-02T00:00:00Z"}},
        {"mda:nested": {"mda:inner": "x"}},
        {"readPoint": {"id": "urn:epc:id:sgln:8054321.00021.0", "mda:door": "7"}},
        {"unknownField": "x"},
    ],
)
def test_unusual_shapes_fall_back_to_the_walk(extra: dict[str, Any]) -> None:
    event = {"type": "ObjectEvent", "eventTime": "2024-01-01T00:00:00Z", "action": "ADD"} | extra
    assert fast_prehash(event, "ObjectEvent", PREFIXES) is None
    assert prehash(event, CONTEXT) == walk(event)


def test_remembered_checks_still_report_every_bad_value() -> None:
    good = {
        "type": "ObjectEvent",
        "eventTime": "2024-01-01T00:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE",
        "epcList": ["urn:epc:id:sgtin:8098765.000013.7"],
        "bizStep": "shipping",
    }
    bad = good | {"epcList": ["urn:epc:id:sgtin:8098765.000013.7"] * 2, "bizStep": "shiping"}
    for _ in range(2):  # the second round answers the good values from memory
        assert validate_event(good, 0) == []
        pointers = [p.pointer for p in validate_event(bad, 1)]
        assert pointers == ["/epcisBody/eventList/1/epcList/1", "/epcisBody/eventList/1/bizStep"]
