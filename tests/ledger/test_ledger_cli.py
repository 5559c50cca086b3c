"""``mics ledger`` commands that use the database: proof, audit, witness keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from mics.cli.app import app
from mics.db import Database
from mics.errors import TamperDetected
from mics.ledger.note import ALG_COSIGNATURE_V1, Signer
from mics.ledger.store.signing_key import load_or_create_signer
from mics.registry.demo import ensure_instance
from mics.trace.capture import capture_events
from mics.trace.offline import verify_event

from .conftest import CONTEXT, OPERATOR, add_partner, events


def test_proof_then_audit_then_tamper_from_the_command_line(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ensure_instance(sqlite_db, OPERATOR)
    result = capture_events(sqlite_db, events(0, 3), CONTEXT, OPERATOR)
    monkeypatch.setenv("MICS_DATABASE_URL", sqlite_db.engine.url.render_as_string(False))
    monkeypatch.setenv("MICS_HOME", str(tmp_path / "var"))
    monkeypatch.setenv("MICS_INSTANCE", "mics.example/cli")
    # the instance's key, as `mics db upgrade` makes it (reading commands never do)
    signer = load_or_create_signer(tmp_path / "var", "mics.example/cli")
    runner = CliRunner()
    printed = runner.invoke(app, ["ledger", "proof", result.event_ids[1]])
    assert printed.exit_code == 0, printed.output
    proof = json.loads(printed.stdout)
    assert (proof["leaf_index"], proof["tree_size"]) == (1, 3)
    event = json.loads(json.dumps(next(events(1, 1))))
    assert verify_event(event, proof, signer.verifier).leaf_index == 1
    clean = runner.invoke(app, ["ledger", "audit"])
    assert clean.exit_code == 0, clean.output
    assert "ok: 3 events match 3 leaves and 1 signed checkpoints" in clean.stdout
    with sqlite_db.transaction() as s:
        s.execute(
            text(
                "UPDATE epcis_event SET partner_id = 'mics-operator', body = "
                "replace(body, 'OBSERVE', 'ADD') WHERE id = 3"
            )
        )
    tampered = runner.invoke(app, ["ledger", "audit"])
    assert tampered.exit_code != 0
    assert isinstance(tampered.exception, TamperDetected)
    assert "modified" in str(tampered.exception)
    assert "(leaf 2)" in str(tampered.exception)


def test_witness_key_then_add_witness(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ensure_instance(sqlite_db, OPERATOR)
    add_partner(sqlite_db, "witness-c")
    monkeypatch.setenv("MICS_DATABASE_URL", sqlite_db.engine.url.render_as_string(False))
    runner = CliRunner()
    made = runner.invoke(
        app, ["ledger", "witness-key", "w.example/c", "--key-file", str(tmp_path / "w.key")]
    )
    assert made.exit_code == 0, made.output
    signer = Signer.parse((tmp_path / "w.key").read_text().strip())
    assert signer.alg == ALG_COSIGNATURE_V1
    assert (tmp_path / "w.key").stat().st_mode & 0o077 == 0
    assert made.stdout.strip() == signer.verifier.vkey
    added = runner.invoke(app, ["ledger", "add-witness", "witness-c", made.stdout.strip()])
    assert added.exit_code == 0, added.output
    other = Signer.generate("w.example/c", ALG_COSIGNATURE_V1).verifier.vkey
    again = runner.invoke(app, ["ledger", "add-witness", "witness-c", other])
    assert again.exit_code != 0
    assert "keeps its key for life" in str(again.exception)


def test_audit_command_names_a_leaf_stored_as_text_without_a_traceback(tmp_path: Path) -> None:
    from tests.support import run_mics

    assert run_mics(tmp_path, "db", "upgrade").returncode == 0  # the database and its keys
    db = Database.from_url(f"sqlite:///{tmp_path / 'cli.db'}")
    ensure_instance(db, OPERATOR)
    capture_events(db, events(0, 3), CONTEXT, OPERATOR)
    with db.transaction() as s:
        s.execute(text("UPDATE ledger_leaf SET data = 'forged' WHERE idx = 2"))
    db.dispose()
    done = run_mics(tmp_path, "ledger", "audit")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: leaf: the log (leaf 2): ledger_leaf row 2: column data holds TEXT 'forged', "
        "expected bytes"
    ]
