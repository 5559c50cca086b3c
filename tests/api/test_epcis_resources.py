"""The EPCIS 2.0 REST binding's top-level resources, POST /events, one subscription, and
the page-token release, end to end through the API (issue 20)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from tests.support import EPCIS_CONTEXT, app_client, epcis_document

from mics.db import Database
from mics.registry.api_keys import create_key

pytestmark = pytest.mark.anyio
OWN, OTHER = "conceria-del-brenta", "maison-aurora"
OWN_SPOT = "urn:epc:id:sgln:8012345.77701.0"
OTHER_SPOT = "urn:epc:id:sgln:8012345.77702.0"


@pytest.fixture
async def client(demo_db: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(demo_db, tmp_path / "var") as c:
        c.headers["authorization"] = "Bearer " + create_key(demo_db, OWN)
        c.headers["x-other"] = "Bearer " + create_key(demo_db, OTHER)
        c.headers["x-operator"] = "Bearer " + create_key(demo_db, "mics-operator", "operator")
        yield c


def _event(serial: str, spot: str, step: str, disposition: str) -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "action": "OBSERVE",
        "eventTime": "2026-06-01T10:00:00.000+02:00",
        "eventTimeZoneOffset": "+02:00",
        "epcList": [f"urn:epc:id:sgtin:8012345.000001.{serial}"],
        "bizStep": step,
        "disposition": disposition,
        "readPoint": {"id": spot},
        "bizLocation": {"id": spot},
    }


def _as(client: httpx.AsyncClient, who: str) -> dict[str, str]:
    return {"authorization": client.headers[who]}


async def _capture_both(client: httpx.AsyncClient) -> None:
    own = epcis_document([_event("R1", OWN_SPOT, "repairing", "damaged")])
    other = epcis_document([_event("R2", OTHER_SPOT, "void_shipping", "recalled")])
    for body, headers in ((own, {}), (other, _as(client, "x-other"))):
        answer = await client.post("/epcis/capture", json=body, headers=headers)
        assert answer.status_code == 202, answer.text


async def _all(client: httpx.AsyncClient, url: str, **headers: str) -> list[list[str]]:
    pages: list[list[str]] = []
    link: str | None = url
    while link is not None:
        page = await client.get(link, headers=headers)
        assert page.status_code == 200, page.text
        body = page.json()
        assert (body["type"], body["@context"]) == ("Collection", EPCIS_CONTEXT[0])
        pages.append(body["member"])
        found = re.fullmatch(r'<([^>]+)>; rel="next"', page.headers.get("link", ""))
        link = found.group(1) if found else None
    return pages


DL_R1 = "https://id.gs1.org/01/08012345000012/21/R1"
DL_R2 = "https://id.gs1.org/01/08012345000012/21/R2"


@pytest.mark.parametrize(
    ("resource", "mine", "theirs"),
    [
        ("epcs", DL_R1, DL_R2),
        ("bizSteps", "repairing", "void_shipping"),
        ("dispositions", "damaged", "recalled"),
        ("readPoints", OWN_SPOT, OTHER_SPOT),
        ("bizLocations", OWN_SPOT, OTHER_SPOT),
    ],
)
async def test_lists_hold_the_values_of_the_callers_events_only(
    client: httpx.AsyncClient, resource: str, mine: str, theirs: str
) -> None:
    await _capture_both(client)
    pages = await _all(client, f"/epcis/{resource}?perPage=1")
    listed = [value for page in pages for value in page]
    assert all(len(page) <= 1 for page in pages)
    assert listed == sorted(set(listed))  # in value order, none twice across pages
    assert mine in listed
    assert theirs not in listed  # another partner's data does not leak into a list
    if resource == "epcs":
        listed_page = await client.get("/epcis/epcs")
        assert listed_page.headers["GS1-EPC-Format"] == "Always_GS1_Digital_Link"
    every = await _all(client, f"/epcis/{resource}", **_as(client, "x-operator"))
    assert {mine, theirs} <= set(every[0])


async def test_a_value_is_found_only_by_those_whose_events_name_it(
    client: httpx.AsyncClient,
) -> None:
    await _capture_both(client)
    spot = quote(OTHER_SPOT, safe="")
    mine = await client.get(f"/epcis/bizLocations/{quote(OWN_SPOT, safe='')}")
    assert (mine.status_code, mine.json()["member"]) == (200, ["events"])
    hidden = await client.get(f"/epcis/bizLocations/{spot}")
    assert hidden.status_code == 404
    assert hidden.headers["content-type"] == "application/problem+json"
    theirs = await client.get(f"/epcis/bizLocations/{spot}", headers=_as(client, "x-other"))
    assert theirs.status_code == 200
    # an EPC in either form: the URN finds the Digital Link the repository keeps
    urn = quote("urn:epc:id:sgtin:8012345.000001.R1", safe="")
    assert (await client.get(f"/epcis/epcs/{urn}")).status_code == 200
    assert (await client.get("/epcis/bizSteps/urn:epcglobal:cbv:bizstep:repairing")).is_success
    assert (await client.get("/epcis/bizSteps/void_shipping")).status_code == 404
    events = await client.get(f"/epcis/epcs/{urn}/events")
    found = events.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert [e["epcList"] for e in found] == [["urn:epc:id:sgtin:8012345.000001.R1"]]


async def test_a_forged_or_foreign_page_token_is_refused(client: httpx.AsyncClient) -> None:
    await _capture_both(client)
    first = await client.get("/epcis/bizSteps?perPage=1")
    token = re.search(r"nextPageToken=([^&>]+)", first.headers["link"])
    assert token is not None
    foreign = await client.get(f"/epcis/dispositions?nextPageToken={token.group(1)}")
    assert foreign.status_code == 422
    assert foreign.json()["field"] == "nextPageToken"
    forged = await client.get("/epcis/epcs", params={"nextPageToken": "not-a-token"})
    assert forged.status_code == 422


async def test_event_types_and_the_top_level_are_the_same_for_everyone(
    client: httpx.AsyncClient,
) -> None:
    types = await client.get("/epcis/eventTypes", headers={"authorization": ""})
    assert types.json()["member"] == sorted(
        ["AggregationEvent", "AssociationEvent", "ObjectEvent", "TransactionEvent",
         "TransformationEvent"]
    )  # fmt: skip
    paged = await _all(client, "/epcis/eventTypes?perPage=2")
    assert [len(page) for page in paged] == [2, 2, 1]
    assert (await client.get("/epcis/eventTypes/ObjectEvent")).json()["member"] == ["events"]
    unknown = await client.get("/epcis/eventTypes/SensorEvent")
    assert unknown.status_code == 404
    top = (await client.get("/epcis/", headers={"authorization": ""})).json()["member"]
    assert set(top) == {
        "queries", "capture", "events", "eventTypes", "epcs", "readPoints", "bizLocations",
        "dispositions", "bizSteps",
    }  # fmt: skip


async def test_post_events_captures_one_event_synchronously(client: httpx.AsyncClient) -> None:
    event = {"@context": EPCIS_CONTEXT, **_event("P1", OWN_SPOT, "inspecting", "active")}
    made = await client.post("/epcis/events", json=event)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["eventID"].startswith("ni:///sha-256;")
    assert made.headers["location"] == "/epcis/events/" + quote(body["eventID"], safe="")
    again = await client.get(made.headers["location"])
    assert again.json()["eventID"] == body["eventID"]
    assert again.json()["epcList"] == event["epcList"]
    twice = await client.post("/epcis/events", json=event)
    assert twice.status_code == 409
    assert twice.json()["value"] == body["eventID"]
    jobs = (await client.get("/epcis/capture?perPage=1000")).json()
    # each POST is a capture job: the second stored nothing, its event a duplicate
    assert [(j["captured"], j["duplicates"]) for j in jobs[-2:]] == [(1, 0), (0, 1)]


async def test_post_events_names_what_is_wrong_in_the_event(client: httpx.AsyncClient) -> None:
    wrong = _event("P2", OWN_SPOT, "inspecting", "active") | {"epcList": ["not an epc"]}
    refused = await client.post("/epcis/events", json=wrong)
    assert refused.status_code == 400
    assert refused.json()["field"] == "/epcList/0"
    assert refused.json()["value"] == "not an epc"
    document = await client.post("/epcis/events", json=epcis_document([wrong]))
    assert document.status_code == 422
    assert document.json()["field"] == "type"
    listed = await client.get(f"/epcis/epcs/{quote('not an epc', safe='')}")
    assert listed.status_code == 404  # nothing half-stored
    xml = await client.post(
        "/epcis/events", content=b"<ObjectEvent/>", headers={"content-type": "application/xml"}
    )
    assert (xml.status_code, xml.json()["field"]) == (422, "Content-Type")
    anonymous = await client.post("/epcis/events", json=wrong, headers={"authorization": ""})
    assert anonymous.status_code == 401


async def test_one_subscription_is_shown_to_its_querys_owner(client: httpx.AsyncClient) -> None:
    made = await client.post(
        "/epcis/queries", json={"name": "repairs", "query": {"EQ_bizStep": "repairing"}}
    )
    assert made.status_code == 201
    subscribed = await client.post(
        "/epcis/queries/repairs/subscriptions",
        json={"dest": "https://93.184.215.14/cb", "signatureToken": "t", "stream": True},
    )
    sid = subscribed.json()["subscriptionID"]
    shown = await client.get(f"/epcis/queries/repairs/subscriptions/{sid}")
    assert shown.status_code == 200
    assert (shown.json()["subscriptionID"], shown.json()["queryName"]) == (sid, "repairs")
    assert shown.json()["dest"] == "https://93.184.215.14/cb"
    assert "signatureToken" not in shown.json()
    other = await client.get(
        f"/epcis/queries/repairs/subscriptions/{sid}", headers=_as(client, "x-other")
    )
    assert other.status_code == 404
    missing = await client.get("/epcis/queries/repairs/subscriptions/nope")
    assert missing.status_code == 404


async def test_releasing_a_page_token_is_the_bindings_not_implemented(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.delete("/epcis/nextPageToken/abc")
    assert answer.status_code == 501
    assert answer.json()["type"] == "epcisException:ImplementationException"


@pytest.mark.parametrize(
    "path",
    ["/epcis/epcs", "/epcis/bizSteps/x", "/epcis/readPoints/x/events", "/epcis/eventTypes/x"],
)
async def test_options_on_the_new_resources_says_what_they_allow(
    client: httpx.AsyncClient, path: str
) -> None:
    answer = await client.options(path)
    assert answer.status_code == 204
    assert "GET" in answer.headers["allow"]
