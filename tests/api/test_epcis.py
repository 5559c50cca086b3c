"""The EPCIS 2.0 REST binding and genealogy API end to end (httpx ASGITransport)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from tests.support import EPCIS_CONTEXT, app_client, epcis_document

from mics.db import Database
from mics.registry.api_keys import create_key
from mics.trace.event_hash import event_hash
from mics.trace.xml_binding import parse_xml

pytestmark = pytest.mark.anyio
CONTEXT = EPCIS_CONTEXT


@pytest.fixture
async def client(demo_db: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(demo_db, tmp_path / "var") as c:
        c.headers["authorization"] = "Bearer " + create_key(demo_db, "conceria-del-brenta")
        c.headers["x-operator"] = create_key(demo_db, "mics-operator", "operator")
        yield c


def document(events: list[dict[str, Any]]) -> dict[str, Any]:
    return epcis_document(events, creationDate="2026-03-01T10:00:00Z")


EVENT: dict[str, Any] = {
    "type": "ObjectEvent",
    "action": "OBSERVE",
    "bizStep": "inspecting",
    "eventTime": "2026-06-01T10:00:00.000+02:00",
    "eventTimeZoneOffset": "+02:00",
    "epcList": ["urn:epc:id:sgtin:8012345.000001.BA00002"],
    "readPoint": {"id": "https://id.gs1.org/414/8012345900015"},
}


async def test_capture_then_job_then_query_back_equal(client: httpx.AsyncClient) -> None:
    response = await client.post("/epcis/capture", json=document([EVENT]))
    assert response.status_code == 202
    assert response.headers["GS1-EPCIS-Capture-Limit"] == "100000"
    job = await client.get(response.headers["Location"])
    assert (job.json()["success"], job.json()["captured"]) == (True, 1)
    digest = event_hash(EVENT, CONTEXT)
    got = await client.get("/epcis/events/" + quote(digest, safe=""))
    assert got.status_code == 200
    body = got.json()
    assert body["eventID"] == digest
    assert (
        event_hash({k: v for k, v in body.items() if k not in ("@context", "recordTime")}, CONTEXT)
        == digest
    )
    by_epc = await client.get("/epcis/epcs/" + quote(str(EVENT["epcList"][0]), safe="") + "/events")
    found = by_epc.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert digest in [e["eventID"] for e in found]


async def test_capture_of_gs1_examples_queries_back_with_equal_hashes(
    client: httpx.AsyncClient, shared: Any
) -> None:
    folder = shared.path("gs1-epcis", "JSON")
    operator = {"authorization": "Bearer " + client.headers["x-operator"]}
    for name in (
        "Example_9.6.1-ObjectEvent.jsonld",
        "Example_9.6.3-AggregationEvent.jsonld",
        "Example_9.6.4-TransformationEvent.jsonld",
    ):
        raw = (folder / name).read_bytes()
        source = json.loads(raw)
        response = await client.post(
            "/epcis/capture",
            content=raw,
            headers=operator | {"content-type": "application/ld+json"},
        )
        assert response.status_code == 202, response.text
        for event in source["epcisBody"]["eventList"]:
            ident = event.get("eventID") or event_hash(event, source["@context"])
            got = await client.get("/epcis/events/" + quote(ident, safe=""), headers=operator)
            stored = {k: v for k, v in got.json().items() if k not in ("@context", "recordTime")}
            assert event_hash(stored, source["@context"]) == event_hash(event, source["@context"])


async def test_invalid_document_is_a_400_problem_naming_event_and_field(
    client: httpx.AsyncClient,
) -> None:
    bad = EVENT | {"eventTime": "2026-02-30T10:00:00+01:00"}
    response = await client.post("/epcis/capture", json=document([EVENT, bad]))
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["field"] == "/epcisBody/eventList/1/eventTime"
    assert problem["problems"][0]["eventIndex"] == 1
    listed = await client.get("/epcis/events", params={"MATCH_epc": str(EVENT["epcList"][0])})
    assert listed.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"] == []


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"<epcis:EPCISDocument", "application/xml"),
        (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
            "application/xml",
        ),
        (b"", "application/json"),
        (b"[1, 2]", "application/json"),
    ],
)
async def test_bad_documents_are_4xx_problems(
    client: httpx.AsyncClient, body: bytes, content_type: str
) -> None:
    response = await client.post(
        "/epcis/capture", content=body, headers={"content-type": content_type}
    )
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"] == "application/problem+json"


async def test_proceed_header_keeps_valid_events(client: httpx.AsyncClient) -> None:
    bad = EVENT | {"action": "JUMP"}
    response = await client.post(
        "/epcis/capture",
        json=document([EVENT, bad]),
        headers={"GS1-Capture-Error-Behaviour": "proceed"},
    )
    assert response.status_code == 202
    assert response.json()["captured"] == 1
    assert response.json()["errors"][0]["eventIndex"] == 1


async def test_capture_needs_a_key_and_partners_see_only_their_events(
    client: httpx.AsyncClient, demo_db: Database
) -> None:
    anonymous = await client.post(
        "/epcis/capture", json=document([EVENT]), headers={"authorization": ""}
    )
    assert anonymous.status_code == 401
    await client.post("/epcis/capture", json=document([EVENT]))
    other = {"authorization": "Bearer " + create_key(demo_db, "design-quercia")}
    seen = await client.get("/epcis/events", params={"perPage": 100}, headers=other)
    events = seen.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert all("8012345000012" not in json.dumps(e) for e in events)
    assert len(events) == 2  # the chairs shipped to, and received by, the showroom


async def test_xml_out_when_asked_and_discovery(client: httpx.AsyncClient) -> None:
    await client.post("/epcis/capture", json=document([EVENT]))
    xml = await client.get(
        "/epcis/events", params={"EQ_bizStep": "inspecting"}, headers={"accept": "application/xml"}
    )
    assert xml.headers["content-type"].startswith("application/xml")
    parsed = parse_xml(xml.content)
    events = parsed["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert [event_hash(e, parsed.get("@context")) for e in events] == [event_hash(EVENT, CONTEXT)]
    options = await client.options("/epcis")
    assert options.headers["GS1-EPCIS-Version"] == "2.0.0"


async def test_pagination_links_walk_every_event_once(client: httpx.AsyncClient) -> None:
    operator = {"authorization": "Bearer " + client.headers["x-operator"]}
    seen: list[str] = []
    url = "/epcis/events?perPage=7"
    while url:
        page = await client.get(url, headers=operator)
        seen += [
            e["eventID"]
            for e in page.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        ]
        link = page.headers.get("link")
        url = link.split(">")[0].lstrip("<") if link else ""
    everything = await client.get("/epcis/events?perPage=1000", headers=operator)
    whole = everything.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert len(whole) >= 24  # at least the demo supply chains
    assert seen == [e["eventID"] for e in whole]


async def test_genealogy_api_recall_and_bad_direction(client: httpx.AsyncClient) -> None:
    operator = {"authorization": "Bearer " + client.headers["x-operator"]}
    hides = quote("urn:epc:class:lgtin:8012345.000040.H26-011", safe="")
    down = await client.get(f"/api/trace/{hides}/downstream", headers=operator)
    assert down.status_code == 200
    bags = [n["id"] for n in down.json()["nodes"] if "/21/BA" in n["id"]]
    assert len(bags) == 5
    assert down.json()["timeline"][0]["bizStep"] == "receiving"
    sideways = await client.get(f"/api/trace/{hides}/sideways", headers=operator)
    assert sideways.status_code == 422


async def test_named_query_and_subscription_over_rest(client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/epcis/queries", json={"name": "Inspections", "query": {"EQ_bizStep": ["inspecting"]}}
    )
    assert created.status_code == 201
    assert created.headers["Location"] == "/epcis/queries/Inspections"
    await client.post("/epcis/capture", json=document([EVENT]))
    events = await client.get("/epcis/queries/Inspections/events")
    found = events.json()["epcisBody"]["queryResults"]
    assert found["queryName"] == "Inspections"
    assert [e["bizStep"] for e in found["resultsBody"]["eventList"]] == ["inspecting"]
    token = "tok-never-returned-7c1e"
    sub = await client.post(
        "/epcis/queries/Inspections/subscriptions",
        json={"dest": "https://client.example/cb", "signatureToken": token, "stream": True},
    )
    assert sub.status_code == 201
    assert sub.headers["Location"].endswith(sub.json()["subscriptionID"])
    listed = await client.get("/epcis/queries/Inspections/subscriptions")
    assert [s["subscriptionID"] for s in listed.json()] == [sub.json()["subscriptionID"]]
    assert token not in sub.text + listed.text
    bad = await client.post("/epcis/queries", json={"name": "X", "query": {"EQ_nope": "1"}})
    assert (bad.status_code, bad.json()["field"]) == (422, "EQ_nope")
    gone = await client.delete("/epcis/queries/Inspections")
    assert gone.status_code == 204
    assert (await client.get("/epcis/queries/Inspections")).status_code == 404


async def test_xml_capture_stores_the_same_hashes_as_the_parsed_document(
    client: httpx.AsyncClient,
) -> None:
    from mics.trace.event_hash import document_hashes
    from mics.trace.xml_binding import to_xml

    xml = to_xml(document([EVENT, EVENT | {"bizStep": "shipping"}]))
    response = await client.post(
        "/epcis/capture", content=xml, headers={"content-type": "application/xml"}
    )
    assert response.status_code == 202, response.text
    expected = document_hashes(parse_xml(xml))
    for digest in expected:
        got = await client.get("/epcis/events/" + quote(digest, safe=""))
        assert got.status_code == 200
    assert expected == [
        event_hash(EVENT, CONTEXT),
        event_hash(EVENT | {"bizStep": "shipping"}, CONTEXT),
    ]


async def test_partner_keys_get_genealogy_of_what_they_may_see(
    client: httpx.AsyncClient,
) -> None:
    bag = quote("https://id.gs1.org/01/08012345000012/21/BA00001", safe="")
    tannery = await client.get(f"/api/trace/{bag}/upstream")  # the fixture's partner key
    assert tannery.status_code == 200
    # the tannery sees its own tanning, not the workshop's private sewing event
    steps = {t["bizStep"] for t in tannery.json()["timeline"]}
    assert "assembling" not in steps


@pytest.mark.parametrize(
    "token",
    [
        "eyJxIjp7Im9yZGVyQnkiOiJldmVudFRpbWUifSwiYWZ0ZXIiOlsxLDJdfQ",  # orderBy, bad position
        "eyJxIjp7fSwiYWZ0ZXIiOltdfQ",  # empty position
        "eyJxIjp7IkVRX2FjdGlvbiI6NX0sImFmdGVyIjpbMV19",  # a number where a string belongs
        "not-base64!",
    ],
)
async def test_forged_page_tokens_are_problems_not_errors(
    client: httpx.AsyncClient, token: str
) -> None:
    response = await client.get("/epcis/events", params={"nextPageToken": token})
    assert (response.status_code, response.json()["field"]) == (422, "nextPageToken")


async def test_keys_roles_and_sizes_at_the_edges(
    client: httpx.AsyncClient, demo_db: Database
) -> None:
    witness = {"authorization": "Bearer " + create_key(demo_db, "cnr-materiali", "witness")}
    refused = await client.post("/epcis/capture", json=document([EVENT]), headers=witness)
    assert refused.status_code == 403
    anonymous = await client.get("/epcis/events", headers={"authorization": ""})
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    huge = await client.get("/api/items/99999999999999999999999")
    assert huge.status_code == 422
    assert huge.headers["content-type"] == "application/problem+json"


async def test_two_partners_hold_a_query_of_the_same_name(client: httpx.AsyncClient) -> None:
    operator = {"authorization": "Bearer " + client.headers["x-operator"]}
    mine = {"name": "Recent", "query": {"EQ_bizStep": ["inspecting"]}}
    theirs = {"name": "Recent", "query": {"EQ_bizStep": ["shipping"]}}
    assert (await client.post("/epcis/queries", json=theirs, headers=operator)).status_code == 201
    assert (await client.post("/epcis/queries", json=mine)).status_code == 201
    got = await client.get("/epcis/queries/Recent")
    assert got.json()["query"] == {"EQ_bizStep": ["inspecting"]}
    got = await client.get("/epcis/queries/Recent", headers=operator)
    assert got.json()["query"] == {"EQ_bizStep": ["shipping"]}
    assert [q["query"] for q in (await client.get("/epcis/queries")).json()] == [mine["query"]]
    assert (await client.delete("/epcis/queries/Recent")).status_code == 204
    assert (await client.get("/epcis/queries/Recent", headers=operator)).status_code == 200
