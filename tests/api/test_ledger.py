"""Witnesses, cosigned checkpoints and the audit over HTTP (httpx.ASGITransport)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import text
from tests.ledger.conftest import CONTEXT, OPERATOR, add_partner, events

from mics.api import create_app
from mics.config import Settings
from mics.db import Database
from mics.errors import Forbidden, MicsError
from mics.ledger.note import ALG_COSIGNATURE_V1, Signer, Verifier, verify_cosignatures
from mics.ledger.witness_client import witness_once
from mics.registry.api_keys import create_key
from mics.registry.demo import ensure_instance
from mics.trace.capture import capture_events
from mics.trace.offline import verify_event

pytestmark = pytest.mark.anyio
ORIGIN = "mics.example/api"


class Site:
    """The app, its database, and keys for two witnesses and the operator."""

    def __init__(self, db: Database, home: Path) -> None:
        ensure_instance(db, OPERATOR)
        self.db = db
        self.app = create_app(Settings(database_url="sqlite://", home=home, instance=ORIGIN), db)
        self.log_key: Verifier = self.app.state.signer.verifier
        self.operator_key = create_key(db, OPERATOR, role="operator")
        self.witnesses = {}
        for name in ("witness-a", "witness-b"):
            add_partner(db, name)
            cosigner = Signer(f"{name}.example", name.encode().ljust(32, b"."), ALG_COSIGNATURE_V1)
            self.witnesses[name] = (cosigner, create_key(db, name, role="witness"))

    def operator_headers(self) -> dict[str, str]:
        """A signed tree head on demand needs an operator (or witness) key."""
        return {"Authorization": f"Bearer {self.operator_key}"}

    def capture(self, start: int, count: int) -> None:
        capture_events(self.db, events(start, count), CONTEXT, OPERATOR)


@pytest.fixture
async def site(db: Database, tmp_path: Path) -> AsyncIterator[tuple[Site, httpx.AsyncClient]]:
    made = Site(db, tmp_path / "var")
    transport = httpx.ASGITransport(app=made.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mics.test") as client:
        yield made, client


async def _round(site: Site, client: httpx.AsyncClient, name: str, tmp: Path) -> int:
    cosigner, key = site.witnesses[name]
    done = await witness_once(client, cosigner, tmp / f"{name}.json", key)
    await client.post("/ledger/checkpoint", headers=site.operator_headers())
    return done.size


async def test_witnesses_cosign_and_the_checkpoint_carries_their_lines(
    site: tuple[Site, httpx.AsyncClient], tmp_path: Path
) -> None:
    s, client = site
    s.capture(0, 6)
    assert await _round(s, client, "witness-a", tmp_path) == 6
    assert await _round(s, client, "witness-b", tmp_path) == 6
    note = (await client.get("/ledger/checkpoint")).text
    keys = [c.verifier for c, _ in s.witnesses.values()]
    assert {c.name for c in verify_cosignatures(note, keys, 2)} == {
        "witness-a.example",
        "witness-b.example",
    }
    listed = (await client.get("/ledger/witnesses")).json()
    assert [w["partner"] for w in listed] == ["witness-a", "witness-b"]
    # the log grows; a witness checks consistency from 6 and cosigns 10
    s.capture(6, 4)
    await client.post("/ledger/checkpoint", headers=s.operator_headers())
    cosigner, key = s.witnesses["witness-a"]
    done = await witness_once(client, cosigner, tmp_path / "witness-a.json", key)
    assert (done.old_size, done.size) == (6, 10)
    again = await witness_once(client, cosigner, tmp_path / "witness-a.json", key)
    assert again.line is None  # nothing new: no second cosignature
    # an event proof carries the cosigned checkpoint: demand 1 of 2 witnesses offline
    event = (
        await client.get(
            "/epcis/events",
            params={"perPage": 1},
            headers={"Authorization": f"Bearer {s.operator_key}"},
        )
    ).json()
    first = event["epcisBody"]["queryResults"]["resultsBody"]["eventList"][0]
    proof = (
        await client.get(
            f"/epcis/events/{quote(first['eventID'], safe='')}/proof",
            headers={"Authorization": f"Bearer {s.operator_key}"},
        )
    ).json()
    proven = verify_event(first, proof, s.log_key, witnesses=keys, quorum=1)
    assert proven.checkpoint.size == 10
    assert [c.name for c in proven.cosignatures] == ["witness-a.example"]


async def test_witness_refuses_a_log_that_rewrote_history(
    site: tuple[Site, httpx.AsyncClient], tmp_path: Path
) -> None:
    s, client = site
    s.capture(0, 5)
    await _round(s, client, "witness-a", tmp_path)
    state_file = tmp_path / "witness-a.json"
    state = json.loads(state_file.read_text())
    state["checkpoint"]["root"] = "00" * 32  # what it cosigned before differs from the log now
    state["sent"] = None
    state_file.write_text(json.dumps(state))
    s.capture(5, 3)
    await client.post("/ledger/checkpoint", headers=s.operator_headers())
    cosigner, key = s.witnesses["witness-a"]
    with pytest.raises(MicsError, match="not consistent with size 5"):
        await witness_once(client, cosigner, state_file, key)
    assert json.loads(state_file.read_text())["checkpoint"]["size"] == 5  # state kept


async def test_witness_refuses_a_changed_log_key(
    site: tuple[Site, httpx.AsyncClient], tmp_path: Path
) -> None:
    s, client = site
    s.capture(0, 2)
    cosigner, key = s.witnesses["witness-b"]
    other = Signer(ORIGIN, bytes(32)).verifier.vkey
    with pytest.raises(Forbidden, match="refusing to cosign"):
        await witness_once(client, cosigner, tmp_path / "b.json", key, log_key=other)


async def test_cosignature_endpoint_checks_role_key_and_signature(
    site: tuple[Site, httpx.AsyncClient],
) -> None:
    s, client = site
    s.capture(0, 3)
    size = int(
        (await client.post("/ledger/checkpoint", headers=s.operator_headers())).text.split("\n")[1]
    )
    cosigner, key = s.witnesses["witness-a"]
    auth = {"Authorization": f"Bearer {key}"}
    unregistered = await client.post(
        "/ledger/cosignatures", json={"size": size, "cosignature": "— x AAAAAAA="}, headers=auth
    )
    assert unregistered.status_code == 404
    put = await client.put(
        "/ledger/witness-key", json={"vkey": cosigner.verifier.vkey}, headers=auth
    )
    assert put.status_code == 200
    wrong = Signer(cosigner.name, bytes(32), ALG_COSIGNATURE_V1)
    from mics.ledger.note import cosign_note

    note = (await client.get(f"/ledger/checkpoints/{size}")).text
    forged = cosign_note(note, wrong, 1).splitlines()[-1]
    refused = await client.post(
        "/ledger/cosignatures", json={"size": size, "cosignature": forged}, headers=auth
    )
    assert refused.status_code == 422
    assert refused.json()["type"].endswith("VerificationError")
    operator = {"Authorization": f"Bearer {s.operator_key}"}
    assert (
        await client.put(
            "/ledger/witness-key", json={"vkey": cosigner.verifier.vkey}, headers=operator
        )
    ).status_code == 403


async def test_audit_endpoint_is_for_operators_and_reports_tampering(
    site: tuple[Site, httpx.AsyncClient],
) -> None:
    s, client = site
    s.capture(0, 4)
    await client.post("/ledger/checkpoint", headers=s.operator_headers())
    _, witness_key = s.witnesses["witness-a"]
    forbidden = await client.get(
        "/ledger/audit", headers={"Authorization": f"Bearer {witness_key}"}
    )
    assert forbidden.status_code == 403
    operator = {"Authorization": f"Bearer {s.operator_key}"}
    clean = (await client.get("/ledger/audit", headers=operator)).json()
    assert (clean["ok"], clean["events"], clean["checkpoints"]) == (True, 4, 1)
    with s.db.transaction() as session:
        session.execute(text("UPDATE epcis_event SET body = replace(body, '\"B2\"', '\"B9\"')"))
    tampered = await client.get("/ledger/audit", headers=operator)
    assert tampered.status_code == 409
    assert (tampered.json()["kind"], tampered.json()["leaf_index"]) == ("modified", 2)


async def test_audit_endpoint_names_a_leaf_stored_as_text(
    site: tuple[Site, httpx.AsyncClient],
) -> None:
    s, client = site
    if s.db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's bytea cannot hold TEXT")
    s.capture(0, 4)
    with s.db.transaction() as session:
        session.execute(text("UPDATE ledger_leaf SET data = 'forged' WHERE idx = 1"))
    operator = {"Authorization": f"Bearer {s.operator_key}"}
    tampered = await client.get("/ledger/audit", headers=operator)
    assert tampered.status_code == 409
    body = tampered.json()
    assert (body["kind"], body["leaf_index"]) == ("leaf", 1)
    assert "ledger_leaf row 1: column data holds TEXT 'forged', expected bytes" in body["detail"]
