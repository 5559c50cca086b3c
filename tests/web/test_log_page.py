"""The transparency-log page: checkpoint, witnesses' cosignatures, size over time, proofs."""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from tests.web.test_signin import sign_in

from mics.api import create_app
from mics.config import Settings
from mics.db import Database
from mics.ledger.note import ALG_COSIGNATURE_V1, Signer
from mics.ledger.store.history import checkpoint_history
from mics.ledger.verify import verify_event_inclusion
from mics.ledger.witness_client import witness_once
from mics.registry.api_keys import create_key
from mics.trace.query import Viewer, run

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def app(demo_db: Database, tmp_path: Path) -> FastAPI:
    return create_app(Settings(database_url="sqlite://", home=tmp_path / "var"), demo_db)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mics.test") as c:
        yield c


async def test_the_log_page_shows_a_witness_cosignature_and_the_size_over_time(
    client: httpx.AsyncClient, demo_db: Database, tmp_path: Path
) -> None:
    first = await client.get("/log")
    assert "No witness has registered a key yet" in first.text
    witness = create_key(demo_db, "maison-aurora", "witness")
    cosigner = Signer("aurora-witness.example", b"a" * 32, ALG_COSIGNATURE_V1)
    done = await witness_once(client, cosigner, tmp_path / "witness.json", witness)
    assert done.line is not None
    operator = {"Authorization": "Bearer " + create_key(demo_db, "mics-operator", "operator")}
    document = {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-07-01T10:00:00Z",
        "epcisBody": {
            "eventList": [
                {
                    "type": "ObjectEvent",
                    "eventTime": "2026-07-01T10:00:00+02:00",
                    "eventTimeZoneOffset": "+02:00",
                    "epcList": ["https://id.gs1.org/01/08012345000012/21/BA00002"],
                    "action": "OBSERVE",
                    "bizStep": "inspecting",
                }
            ]
        },
    }
    demo_size = checkpoint_history(demo_db)[-1].size  # the demo's events, cosigned once
    captured = await client.post("/epcis/capture", json=document, headers=operator)
    assert captured.status_code == 202
    grown = await client.post("/ledger/checkpoint", headers=operator)
    assert grown.status_code == 200
    page = await client.get("/log")  # the latest checkpoint: not yet cosigned
    text = html.unescape(page.text)
    assert re.search(rf'id="tree-size">{demo_size + 1}<', text)
    assert "has not cosigned this checkpoint" in text
    history = checkpoint_history(demo_db)
    assert [h.size for h in history] == [demo_size, demo_size + 1]
    assert [h.cosignatures for h in history] == [1, 0]
    assert '<svg class="size-chart"' in page.text
    assert f"<option selected>{demo_size}</option>" in page.text  # consistency: from the first
    rows = re.findall(r'<td class="num" data-label="Size">(\d+)</td>', page.text)
    assert rows == [str(demo_size + 1), str(demo_size)]


async def test_the_log_page_hands_a_signed_in_reader_the_proof_the_verifier_accepts(
    client: httpx.AsyncClient, app: FastAPI, demo_db: Database
) -> None:
    event_id = run(demo_db, {"perPage": "1"}, Viewer(None)).events[0]["eventID"]
    anonymous = await client.get(f"/log?event={quote(event_id, safe='')}")
    assert "Sign in to load this event" in anonymous.text
    assert event_id not in html.unescape(anonymous.text)
    await sign_in(client, create_key(demo_db, "conceria-del-brenta", "partner"))
    page = await client.get(f"/log?event={quote(event_id, safe='')}")
    found = re.search(r'<textarea id="proof"[^>]*>(.*?)</textarea>', page.text, re.S)
    assert found is not None
    proof = json.loads(html.unescape(found.group(1)))
    assert proof["event_id"] == event_id
    vkey = re.search(r'<input id="vkey" value="([^"]+)"', page.text)
    assert vkey is not None
    checkpoint = verify_event_inclusion(
        bytes.fromhex(proof["leaf_data"]), proof, proof["checkpoint"], html.unescape(vkey.group(1))
    )
    assert checkpoint.size == checkpoint_history(demo_db)[-1].size  # the latest, cosigned
    other = create_key(demo_db, "design-quercia", "partner")
    await sign_in(client, other)  # furniture: not the tannery's event
    refused = await client.get(f"/log?event={quote(event_id, safe='')}")
    assert "that your key may see" in html.unescape(refused.text)
    assert '"leaf_data"' not in refused.text
