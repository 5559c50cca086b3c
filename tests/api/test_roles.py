"""A key does what its role is for: a brand's witness, repairer or authority key is no writer."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.support import bearer, epcis_document

from mics.db import Database
from mics.registry import find_item

pytestmark = pytest.mark.anyio
BRAND, BAG = "maison-aurora", "08012345000012"


def _product(suffix: str) -> dict[str, Any]:
    return {
        "id": f"borsa-{suffix}",
        "gtin": {"w": "08012345000302", "l": "08012345000319", "a": "08012345000326"}[suffix],
        "name": "Borsa",
        "sector": "fashion",
        "brand": BRAND,
        "lifetime_years": 3,
    }


@pytest.mark.parametrize("role", ["witness", "legitimate_interest", "authority"])
async def test_a_brands_non_partner_keys_change_nothing_and_read_no_tag(
    client: httpx.AsyncClient, demo_db: Database, role: str
) -> None:
    key = bearer(demo_db, BRAND, role)
    item = find_item(demo_db, BAG, "BA00001").id
    before = (await client.get(f"/api/partners/{BRAND}")).json()
    attempts = [
        client.patch(f"/api/partners/{BRAND}", json={"city": "Elsewhere"}, headers=key),
        client.post("/api/products", json=_product(role[0]), headers=key),
        client.patch("/api/products/borsa-aurora", json={"name": "Mine"}, headers=key),
        client.post("/api/items", json={"product": "borsa-aurora", "serial": "X1"}, headers=key),
        client.get(f"/api/items/{item}/tag", headers=key),
        client.post(f"/api/items/{item}/tag", json={"uid": "04AABBCCDDEEFF"}, headers=key),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code == 403, (response.request.url, response.text)
        assert response.json()["detail"].startswith("this needs a key with role partner")
        assert "uid" not in response.text
    assert (await client.get(f"/api/partners/{BRAND}")).json() == before
    assert (await client.get("/api/products/borsa-aurora")).json()["name"] != "Mine"


async def test_the_brands_partner_key_still_writes_its_own_records(
    client: httpx.AsyncClient, demo_db: Database
) -> None:
    key = bearer(demo_db, BRAND)
    patched = await client.patch(f"/api/partners/{BRAND}", json={"city": "Firenze"}, headers=key)
    assert (patched.status_code, patched.json()["city"]) == (200, "Firenze")
    created = await client.post("/api/products", json=_product("w"), headers=key)
    assert created.status_code == 201
    item = find_item(demo_db, BAG, "BA00001").id
    tag = await client.get(f"/api/items/{item}/tag", headers=key)
    assert (tag.status_code, len(tag.json()["uid"])) == (200, 14)


async def test_checkpoints_on_demand_need_an_operator_or_witness_key(
    client: httpx.AsyncClient, demo_db: Database
) -> None:
    assert (await client.post("/ledger/checkpoint")).status_code == 401
    partner = bearer(demo_db, BRAND)
    assert (await client.post("/ledger/checkpoint", headers=partner)).status_code == 403
    for role in ("operator", "witness"):
        key = bearer(demo_db, "mics-operator", role)
        signed = await client.post("/ledger/checkpoint", headers=key)
        assert signed.status_code == 200
        assert signed.text.startswith("mics.example/")  # the origin line of the note


async def test_authority_keys_read_every_event_repairers_and_witnesses_none(
    client: httpx.AsyncClient, demo_db: Database
) -> None:
    """Market surveillance reads the supply chain (Reg. (EU) 2019/1020 Art. 14(4)(a))."""
    event = {
        "type": "ObjectEvent",
        "eventTime": "2026-05-02T10:00:00+01:00",
        "eventTimeZoneOffset": "+01:00",
        "epcList": [f"https://id.gs1.org/01/{BAG}/21/BA00001"],
        "action": "OBSERVE",
        "bizStep": "inspecting",
    }
    brand = bearer(demo_db, BRAND)
    captured = await client.post("/epcis/capture", json=epcis_document([event]), headers=brand)
    assert captured.status_code == 202
    params = {"EQ_bizStep": "inspecting", "MATCH_epc": event["epcList"][0]}
    for partner, role, status, seen in (
        ("enea-sostenibilita", "authority", 200, 1),
        ("segheria-cadore", "partner", 200, 0),  # another partner: not its event
        (BRAND, "legitimate_interest", 403, None),
        (BRAND, "witness", 403, None),
    ):
        key = bearer(demo_db, partner, role)
        response = await client.get("/epcis/events", params=params, headers=key)
        assert response.status_code == status, role
        if seen is not None:
            events = response.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
            assert len(events) == seen, role
