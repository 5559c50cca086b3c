"""Hostile EPCIS requests end to end: 4xx problems naming where, never a 500 (issue 13).

Items 1, 2 and 10: nesting, bytes that are not UTF-8 and repeated keys in capture documents
and the other JSON the EPCIS routes read, through httpx ASGITransport.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from xml.parsers import expat

import httpx
import pytest
from sqlalchemy import func, select
from tests.support import EPCIS_CONTEXT, app_client, epcis_document

from mics.db import Database
from mics.ledger.store import log
from mics.registry.api_keys import create_key
from mics.trace import capture
from mics.trace.event_hash import event_hash
from mics.trace.json_text import MAX_DEPTH
from mics.trace.store import EventRow
from mics.trace.xml_binding import parse_xml

pytestmark = pytest.mark.anyio
EXAMPLE = {"example": "https://ns.example.com/epcis/"}
EVENT: dict[str, Any] = {
    "type": "ObjectEvent",
    "action": "ADD",
    "bizStep": "commissioning",
    "eventTime": "2026-06-01T10:00:00.000+02:00",
    "eventTimeZoneOffset": "+02:00",
    "epcList": ["urn:epc:id:sgtin:8012345.000001.BA00777"],
    "ilmd": {"example:lot": "HERE"},
}
JSON = {"content-type": "application/ld+json"}


@pytest.fixture
async def client(demo_db: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(demo_db, tmp_path / "var", raise_app_exceptions=False) as c:
        c.headers["authorization"] = "Bearer " + create_key(demo_db, "conceria-del-brenta")
        yield c


def text(value: str, event: dict[str, Any] = EVENT) -> bytes:
    """A capture document whose ``example:lot`` holds the JSON text ``value``."""
    document = epcis_document([event], **{"@context": [*EPCIS_CONTEXT, EXAMPLE]})
    return json.dumps(document).replace('"HERE"', value).encode()


def stored(db: Database) -> tuple[int, int]:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(EventRow)) or 0), log.size(s)


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


# --- items 1 and 2: nesting ------------------------------------------------------------------


async def test_a_document_nested_100000_deep_is_a_413_naming_the_level_too_deep(
    client: httpx.AsyncClient, demo_db: Database
) -> None:
    before = stored(demo_db)
    levels = 100_000  # 1.4 MB of this drove the server past 24 GB (issue 13)
    data = text("[" * levels + "]" * levels)
    body = problem(await client.post("/epcis/capture", content=data, headers=JSON), 413)
    assert body["field"] == "/epcisBody/eventList/0/ilmd/example:lot" + "/0" * (MAX_DEPTH - 5)
    assert body["value"] == MAX_DEPTH + 1
    assert stored(demo_db) == before


@pytest.mark.parametrize("levels", [600, 1000])
async def test_objects_and_arrays_hundreds_deep_are_413s_not_500s(
    client: httpx.AsyncClient, levels: int
) -> None:
    for value in ('{"a": ' * levels + "1" + "}" * levels, "[" * levels + "]" * levels):
        response = await client.post("/epcis/capture", content=text(value), headers=JSON)
        assert problem(response, 413)["field"].startswith("/epcisBody/eventList/0/ilmd/")


async def test_an_xml_document_500_deep_is_a_413_naming_line_and_column(
    client: httpx.AsyncClient, demo_db: Database
) -> None:
    before = stored(demo_db)
    data = (
        '<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0" '
        'creationDate="2026-01-01T10:00:00Z"><EPCISBody><EventList><ObjectEvent>'
        "<eventTime>2026-01-01T10:00:00Z</eventTime><eventTimeZoneOffset>+00:00"
        "</eventTimeZoneOffset><epcList/><action>ADD</action><ilmd>"
        + "<a>" * 500
        + "</a>" * 500
        + "</ilmd></ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>"
    ).encode()
    response = await client.post(
        "/epcis/capture", content=data, headers={"content-type": "application/xml"}
    )
    body = problem(response, 413)
    assert body["field"] == "xml"
    assert body["value"].startswith("line 1, column ")
    assert stored(demo_db) == before


# --- item 2: bytes that are not UTF-8 --------------------------------------------------------


@pytest.mark.parametrize("raw", [b"\xc0\xaf", b"\xed\xa0\x80"])
async def test_overlong_and_cesu8_bytes_are_422s_naming_the_byte(
    client: httpx.AsyncClient, demo_db: Database, raw: bytes
) -> None:
    before = stored(demo_db)
    data = text('"lot-X"').replace(b"lot-X", b"lot-" + raw)
    body = problem(await client.post("/epcis/capture", content=data, headers=JSON), 422)
    assert body["field"] == "body"
    assert body["value"] == f"byte {data.index(raw)} (line 1, column {data.index(raw) + 1})"
    assert stored(demo_db) == before


# --- item 10: repeated keys ------------------------------------------------------------------


async def test_two_epcis_bodies_are_a_422_naming_the_second(
    client: httpx.AsyncClient, demo_db: Database
) -> None:
    before = stored(demo_db)
    other = json.dumps({"eventList": [EVENT | {"ilmd": {"example:lot": "hidden"}}]})
    data = text('"L1"').replace(b'"epcisBody"', f'"epcisBody": {other}, "epcisBody"'.encode())
    body = problem(await client.post("/epcis/capture", content=data, headers=JSON), 422)
    assert (body["field"], body["value"]) == ("/epcisBody", "epcisBody")
    assert stored(demo_db) == before


async def test_a_key_twice_deep_in_an_event_is_a_422_naming_its_pointer(
    client: httpx.AsyncClient,
) -> None:
    data = text('{"n": 1, "m": [{"k": 1, "k": 2}]}')
    body = problem(await client.post("/epcis/capture", content=data, headers=JSON), 422)
    assert body["field"] == "/epcisBody/eventList/0/ilmd/example:lot/m/0/k"


# --- item 2: the other JSON bodies and the page token ----------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b'{"name": "deep", "query": ' + b"[" * 5000 + b"]" * 5000 + b"}", 413, "/query"),
        (b'{"name": "twice", "name": "again", "query": {}}', 422, "/name"),
        (b'{"name": "bad\xc0\xaf", "query": {}}', 422, "body"),
        (b'{"name": "nested", "query": {"EQ_bizStep": [["shipping"]]}}', 422, "query.EQ_bizStep"),
        (b'{"name": "empty", "query": {"GE_eventTime": []}}', 422, "query.GE_eventTime"),
        (b'{"name": "numbers", "query": {"EQ_bizStep": [1]}}', 422, "query.EQ_bizStep"),
    ],
)
async def test_named_query_bodies_are_checked_as_captures_are(
    client: httpx.AsyncClient, body: bytes, status: int, field: str
) -> None:
    response = await client.post("/epcis/queries", content=body, headers=JSON)
    found = problem(response, status)
    assert found["field"].startswith(field)


async def test_a_page_token_nested_deep_is_a_422(client: httpx.AsyncClient) -> None:
    token = base64.urlsafe_b64encode(b"[" * 5000 + b"]" * 5000).decode()  # RecursionError before
    response = await client.get("/epcis/events", params={"nextPageToken": token})
    assert problem(response, 422)["field"] == "nextPageToken"


# --- item 8: one partner's extension must not break another's XML answers -------------------


def well_formed(xml: bytes) -> None:
    """Parse with namespaces: an undeclared prefix or a bad name is an error here."""
    parser = expat.ParserCreate(namespace_separator="\x01")  # a character no XML text holds
    parser.Parse(xml, True)


async def test_an_undeclared_prefix_is_refused_at_capture_naming_the_key(
    client: httpx.AsyncClient, demo_db: Database
) -> None:
    before = stored(demo_db)
    event = EVENT | {"ilmd": {"example:lot": "L1", "foo:bar": "x"}}
    response = await client.post("/epcis/capture", content=text('"L1"', event), headers=JSON)
    body = problem(response, 400)
    assert body["field"] == "/epcisBody/eventList/0/ilmd/foo:bar"
    assert body["value"] == "foo:bar"
    assert stored(demo_db) == before


async def test_xml_answers_carry_the_prefixes_the_capture_declared(
    client: httpx.AsyncClient,
) -> None:
    """A prefix declared in the capture document's @context (not in the event) was lost."""
    response = await client.post("/epcis/capture", content=text('"L7"'), headers=JSON)
    assert response.status_code == 202, response.text
    xml = await client.get(
        "/epcis/events",
        params={"EQ_bizStep": "commissioning"},
        headers={"accept": "application/xml"},
    )
    assert xml.status_code == 200, xml.text
    well_formed(xml.content)
    parsed = parse_xml(xml.content)
    events = parsed["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    mine = [e for e in events if "urn:epc:id:sgtin:8012345.000001.BA00777" in e.get("epcList", [])]
    sent = EVENT | {"ilmd": {"example:lot": "L7"}}
    assert [event_hash(e, parsed["@context"]) for e in mine] == [
        event_hash(sent, [*EPCIS_CONTEXT, EXAMPLE])
    ]
    as_json = await client.get("/epcis/events", params={"EQ_bizStep": "commissioning"})
    found = as_json.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert [e.get("@context") for e in found if e.get("epcList") == EVENT["epcList"]] == [[EXAMPLE]]


async def test_an_event_stored_with_an_undeclared_prefix_never_fails_an_xml_reader(
    client: httpx.AsyncClient, demo_db: Database
) -> None:
    """Stored before capture refused it (here: unvalidated), for whoever may see it."""
    quercia = "https://id.gs1.org/417/8012345900077"  # design-quercia's GLN
    legacy = {
        "type": "ObjectEvent",
        "action": "OBSERVE",
        "bizStep": "shipping",
        "eventTime": "2026-06-02T10:00:00.000+02:00",
        "eventTimeZoneOffset": "+02:00",
        "epcList": ["urn:epc:id:sgtin:8012345.000001.BA00778"],
        "destinationList": [{"type": "owning_party", "destination": quercia, "foo:d": "x"}],
        "foo:bar": {"a b": "<&>", "@id": "\x01", "1st": [1, {"xmlns": "y"}]},
        "https://ns.example.com/epcis/x": 1,
        "sensorElementList": [{"sensorReport": [{"type": "Length", "foo:r": 2, "p:r": 3}]}],
    }
    with demo_db.transaction() as s:
        capture.capture_built_in(
            s, [legacy], [*EPCIS_CONTEXT, {"p": "foo:"}], "conceria-del-brenta"
        )
    partner = {"authorization": "Bearer " + create_key(demo_db, "design-quercia")}
    for headers in ({}, partner):
        xml = await client.get(
            "/epcis/events",
            params={"EQ_bizStep": "shipping", "perPage": 1000},
            headers={"accept": "application/xml"} | headers,
        )
        assert xml.status_code == 200, xml.text
        well_formed(xml.content)
        assert b"<foo:bar" in xml.content
        assert b"BA00778" in xml.content
