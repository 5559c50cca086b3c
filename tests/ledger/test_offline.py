"""Offline proof checks of captured events: functions and the ``mics ledger`` command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mics.cli.app import app
from mics.db import Database
from mics.errors import InvalidInput, VerificationError
from mics.ledger.note import ALG_COSIGNATURE_V1, Signer, cosign_note
from mics.ledger.offline import verify_checkpoints
from mics.ledger.store import log
from mics.registry.demo import ensure_instance
from mics.trace import proofs, query
from mics.trace.capture import capture_events
from mics.trace.offline import verify_event

from .conftest import CONTEXT, OPERATOR, ORIGIN, events

SIGNER = Signer(ORIGIN, bytes(range(32)))


@pytest.fixture
def captured(sqlite_db: Database) -> tuple[Database, dict[str, Any], dict[str, Any]]:
    """A log of 9 events; the served form of event 5 and its proof (size 9)."""
    ensure_instance(sqlite_db, OPERATOR)
    capture_events(sqlite_db, events(0, 6), CONTEXT, OPERATOR)
    log.checkpoint(sqlite_db, SIGNER, ORIGIN)
    capture_events(sqlite_db, events(6, 3), CONTEXT, OPERATOR)
    log.checkpoint(sqlite_db, SIGNER, ORIGIN)
    page = query.run(sqlite_db, {"EQ_bizStep": "inspecting"}, query.Viewer(partner=None))
    row = next(
        r for r in page.events if r["epcList"] == ["https://id.gs1.org/01/08012345000012/21/S5"]
    )
    stored = query.get_event(sqlite_db, row["eventID"], query.Viewer(partner=None))
    assert stored is not None
    served = query.as_event(stored) | {"@context": [CONTEXT[1]]}  # as GET /epcis/events/{id}
    return sqlite_db, served, proofs.event_proof(sqlite_db, SIGNER, ORIGIN, stored)


def test_captured_event_verifies_against_the_proofs_checkpoint(captured: Any) -> None:
    _, event, proof = captured
    proven = verify_event(event, proof, SIGNER.verifier.vkey)
    assert (proven.leaf_index, proven.checkpoint.size) == (5, 9)
    assert proven.event_hash == proof["event_hash"]
    assert proven.leaf.partner == OPERATOR


def test_one_event_document_verifies_with_its_own_context(captured: Any) -> None:
    _, event, proof = captured
    document = {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-03-01T10:00:00Z",
        "epcisBody": {"eventList": [event]},
    }
    assert verify_event(document, proof, SIGNER.verifier).leaf_index == 5
    # without the capture document's prefix, example:batch hashes differently
    bare = document | {"@context": CONTEXT[1:]}
    with pytest.raises(VerificationError, match="the event differs from the one logged"):
        verify_event(bare, proof | {"event_context": None}, SIGNER.verifier)


def test_one_changed_byte_anywhere_fails(captured: Any) -> None:
    _, event, proof = captured
    with pytest.raises(VerificationError, match="recomputed from the event"):
        verify_event(
            event | {"eventTime": event["eventTime"].replace("10:", "11:")}, proof, SIGNER.verifier
        )
    flipped = proof["hashes"][0][:-1] + ("0" if proof["hashes"][0][-1] != "0" else "1")
    with pytest.raises(VerificationError):
        verify_event(event, proof | {"hashes": [flipped, *proof["hashes"][1:]]}, SIGNER.verifier)
    note = proof["checkpoint"].replace("\n9\n", "\n8\n")
    with pytest.raises(VerificationError, match="invalid"):
        verify_event(event, proof, SIGNER.verifier, note)
    leaf = bytes.fromhex(proof["leaf_data"]).replace(b"mics-operator", b"mics-operatoR").hex()
    with pytest.raises(VerificationError):
        verify_event(event, proof | {"leaf_data": leaf}, SIGNER.verifier)


def test_wrong_log_key_and_bad_proof_shape_fail(captured: Any) -> None:
    _, event, proof = captured
    other = Signer(ORIGIN, bytes(32))
    with pytest.raises(VerificationError, match="expected a signature by a trusted key"):
        verify_event(event, proof, other.verifier)
    with pytest.raises(InvalidInput, match="no leaf_data"):
        verify_event(event, {k: v for k, v in proof.items() if k != "leaf_data"}, SIGNER.verifier)


def test_witness_quorum_is_demanded_on_the_checkpoint(captured: Any) -> None:
    _, event, proof = captured
    witnesses = [Signer(f"w{i}.example", bytes([i]) * 32, ALG_COSIGNATURE_V1) for i in (1, 2)]
    note = cosign_note(proof["checkpoint"], witnesses[0], 1_760_000_000)
    keys = [w.verifier for w in witnesses]
    proven = verify_event(event, proof, SIGNER.verifier, note, keys, 1)
    assert [c.name for c in proven.cosignatures] == ["w1.example"]
    with pytest.raises(VerificationError, match="at least 2 of 2"):
        verify_event(event, proof, SIGNER.verifier, note, keys, 2)
    with pytest.raises(InvalidInput, match="quorum 3 of 2"):
        verify_event(event, proof, SIGNER.verifier, note, keys, 3)


def test_consistency_between_two_signed_checkpoints(captured: Any) -> None:
    db, _, _ = captured
    old, new = log.checkpoint_at(db, 6).note, log.checkpoint_at(db, 9).note
    hashes = [h.hex() for h in log.consistency(db, 6, 9)]
    proof: dict[str, Any] = {"first": 6, "second": 9, "hashes": hashes}
    first, second, _ = verify_checkpoints(proof, old, new, SIGNER.verifier.vkey)
    assert (first.size, second.size) == (6, 9)
    with pytest.raises(VerificationError):
        verify_checkpoints(proof | {"hashes": hashes[:-1]}, old, new, SIGNER.verifier)


def _mics(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"MICS_DATABASE_URL": "sqlite:///nowhere/absent.db"}  # never opened
    return subprocess.run(
        [sys.executable, "-m", "mics", "ledger", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
        check=False,
    )


def test_cli_verifies_offline_and_fails_with_one_line(captured: Any, tmp_path: Path) -> None:
    db, event, proof = captured
    (tmp_path / "event.json").write_text(json.dumps(event))
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    (tmp_path / "log.vkey").write_text(SIGNER.verifier.vkey + "\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        ok = CliRunner().invoke(
            app, ["ledger", "verify-event", "event.json", "proof.json", "--key", "log.vkey"]
        )
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.startswith(f"ok: event {proof['event_hash']} is leaf 5 of 9 in {ORIGIN}")
    (tmp_path / "cp.txt").write_text(proof["checkpoint"])
    raw = (tmp_path / "event.json").read_bytes()
    (tmp_path / "event.json").write_bytes(raw.replace(b"S5", b"S6", 1))  # one byte changed
    bad = _mics(
        tmp_path,
        "verify-event",
        "event.json",
        "proof.json",
        "--checkpoint",
        "cp.txt",
        "--key",
        SIGNER.verifier.vkey,
    )
    assert bad.returncode == 1
    assert bad.stderr.count("\n") == 1
    assert bad.stderr.startswith("error: expected the event hash")
    (tmp_path / "old.txt").write_text(log.checkpoint_at(db, 6).note)
    (tmp_path / "new.txt").write_text(log.checkpoint_at(db, 9).note)
    hashes = [h.hex() for h in log.consistency(db, 6, 9)]
    (tmp_path / "c.json").write_text(json.dumps({"first": 6, "second": 9, "hashes": hashes}))
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        same = CliRunner().invoke(
            app,
            [
                "ledger",
                "verify-consistency",
                "c.json",
                "--old",
                "old.txt",
                "--new",
                "new.txt",
                "--key",
                "log.vkey",
            ],
        )
    assert same.exit_code == 0, same.output
    assert "size 9 extends size 6 (0 witness cosignatures)" in same.stdout
