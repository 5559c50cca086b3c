"""Custody end to end through the API: balances, a claim (201), an over-claim (409 with
what is available), and the claim in the passport leading to events whose inclusion
proofs verify against the log's key."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mics.api import create_app
from mics.config import Settings
from mics.db import Database
from mics.ledger.verify import verify_event_inclusion
from mics.passport.credential import verify_credential
from mics.registry import find_item
from mics.registry.api_keys import create_key

pytestmark = pytest.mark.anyio
RING = "https://id.gs1.org/01/08012345000708/21/AF0008"
CLAIM = {
    "site": "orafi-aretini",
    "material": "gold",
    "characteristic": "recycled",
    "kg": 0.0028,
    "period": "2026Q3",
    "items": [RING],
}


@pytest.fixture
async def client(demo_db: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url="sqlite://", home=tmp_path / "var", base_url="https://m.test")
    app = create_app(settings, demo_db)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://m.test"
    ) as c:
        yield c


def _bearer(db: Database, partner: str, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_key(db, partner, role)}"}


async def test_claim_over_claim_and_the_passport_evidence(
    client: httpx.AsyncClient, demo_db: Database
) -> None:
    site = _bearer(demo_db, "orafi-aretini", "partner")
    other = _bearer(demo_db, "maison-aurora", "partner")
    authority = _bearer(demo_db, "agenzia-spazio", "authority")

    public = (await client.get("/api/custody/sites/orafi-aretini/balances?period=2026Q3")).json()
    gold = public["accounts"][0]
    assert (gold["scheme"], gold["model"]) == ("rjc-coc", "controlled_blending")
    assert "inputs" not in gold  # certificates and events are for the site and authorities
    assert all("eventID" not in c for c in gold["claims"])

    refused = await client.post("/api/custody/claims", json=CLAIM, headers=other)
    assert refused.status_code == 403
    over = await client.post("/api/custody/claims", json=CLAIM | {"kg": 0.003}, headers=site)
    assert over.status_code == 409
    assert over.headers["content-type"] == "application/problem+json"
    assert over.json()["available_kg"] == pytest.approx(0.0028125)
    assert over.json()["short_kg"] == pytest.approx(0.0001875)

    made = await client.post("/api/custody/claims", json=CLAIM, headers=site)
    assert made.status_code == 201, made.text
    claim = made.json()
    assert claim["text"].startswith("RJC Chain-of-Custody: 74.6% recycled gold")
    again = await client.post("/api/custody/claims", json=CLAIM, headers=site)
    assert again.status_code == 409

    after = await client.get(
        "/api/custody/sites/orafi-aretini/balances?period=2026Q3", headers=site
    )
    closing = after.json()["accounts"][0]["closingKg"]
    assert closing == pytest.approx(gold["closingKg"] - 0.0028)
    assert after.json()["accounts"][0]["inputs"][0]["evidence"]["certificate"].endswith("0417")

    passport = await client.get("/api/passport/08012345000708/AF0008")
    shown = passport.json()["custody"]["claims"]
    assert [c["text"] for c in shown] == [claim["text"]]
    assert "evidence" not in shown[0]  # event ids are the authority tier's
    full = await client.get("/api/passport/08012345000708/AF0008?tier=authority", headers=authority)
    evidence = full.json()["custody"]["claims"][0]["evidence"]
    assert [e["eventID"] for e in evidence] == claim["evidence"]
    key = (await client.get("/ledger/key")).text.strip()
    for link in evidence:
        proof: dict[str, Any] = (await client.get(link["proof"], headers=authority)).json()
        leaf = bytes.fromhex(proof["leaf_data"])
        checkpoint = verify_event_inclusion(leaf, proof, proof["checkpoint"], key)
        assert checkpoint.size >= proof["leaf_index"] + 1
        assert proof["event_id"] == link["eventID"]


async def test_bad_claims_are_problems_never_server_errors(
    client: httpx.AsyncClient, demo_db: Database
) -> None:
    operator = _bearer(demo_db, "mics-operator", "operator")
    for changes, status in (
        ({"site": "nobody"}, 404),
        ({"material": "platinum"}, 404),
        ({"kg": -1}, 422),
        ({"unit": "lb"}, 422),
        ({"period": "2026H2"}, 422),
        ({"items": []}, 422),
        ({"items": ["urn:epc:id:sgtin:0614141.107346.2018"]}, 422),
    ):
        answer = await client.post("/api/custody/claims", json=CLAIM | changes, headers=operator)
        assert answer.status_code == status, (changes, answer.text)
        assert answer.json()["status"] == status


async def test_the_ring_credential_carries_the_claim_as_a_untp_conformity_claim(
    client: httpx.AsyncClient, demo_db: Database, shared: Any
) -> None:
    folder = shared.path("untp", "data-models", "untp-dpp", "artefacts")
    schema = json.loads((folder / "untp-dpp-schema.json").read_text("utf-8"))
    ring = find_item(demo_db, "08012345000708", "AF0001").id
    authority = _bearer(demo_db, "agenzia-spazio", "authority")
    credential = (
        await client.get(f"/api/items/{ring}/credential?tier=authority", headers=authority)
    ).json()
    verify_credential(credential, schema=schema)
    claims = [c for c in credential["credentialSubject"]["conformityClaim"] if "custody" in c["id"]]
    assert len(claims) == 1
    assert claims[0]["description"].startswith("RJC Chain-of-Custody: 75% recycled gold")
    assert claims[0]["declaredValue"][0]["metricValue"] == {"value": 75.0, "unit": "P1"}
    assert claims[0]["conformityEvidence"]["linkURL"].endswith("/proof")
