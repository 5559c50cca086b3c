"""The log's side of witnessing: registered witness keys and the cosignatures they send.

A partner holding an API key with role ``witness`` registers one cosignature/v1
note verifier (c2sp.org/tlog-cosignature, type 0x04). It then runs a witness
(:mod:`mics.ledger.witness`, ``mics ledger witness``) that checks each new
checkpoint against the last one it cosigned and sends back its cosignature line.
The log verifies that line against the registered key and the stored checkpoint
text before keeping it; ``cosigned_note`` serves the checkpoint with every known
cosignature appended (one signed note, several signatures: c2sp.org/signed-note).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mics.db import Database
from mics.errors import Conflict, InvalidInput, NotFound, VerificationError
from mics.ledger.note import ALG_COSIGNATURE_V1, Verifier, parse_note
from mics.ledger.store.tables import CheckpointRow, CosignatureRow, WitnessRow
from mics.registry import reads as registry


@dataclass(frozen=True)
class WitnessKey:
    """A partner's registered witness key."""

    partner: str
    vkey: str


def register_witness(db: Database, partner_id: str, vkey: str) -> WitnessKey:
    """Record ``partner_id``'s witness verifier key; the same key again is a no-op."""
    verifier = Verifier.parse(vkey.strip())
    if verifier.alg != ALG_COSIGNATURE_V1:
        raise InvalidInput(
            "a witness key must be a cosignature/v1 (type 0x04) verifier",
            field="vkey",
            value=vkey,
            expected="name+keyid+base64(0x04 || Ed25519 public key)",
        )
    with db.transaction() as s:
        if not registry.partner_exists(s, partner_id):
            raise NotFound(f"no partner {partner_id!r}", field="partner", value=partner_id)
        row = s.get(WitnessRow, partner_id)
        if row is not None and row.vkey != verifier.vkey:
            raise Conflict(
                f"partner {partner_id} already has witness key {row.vkey}; a witness keeps "
                "its key for life (its cosignatures are checked against it): use a new partner",
                field="vkey",
                value=verifier.vkey,
            )
        if row is None:
            s.add(
                WitnessRow(
                    partner_id=partner_id,
                    name=verifier.name,
                    key_id=verifier.key_id.hex(),
                    vkey=verifier.vkey,
                    created_at=datetime.now(UTC),
                )
            )
    return WitnessKey(partner_id, verifier.vkey)


def witnesses(db: Database) -> list[WitnessKey]:
    with db.read() as s:
        rows = s.execute(select(WitnessRow.partner_id, WitnessRow.vkey).order_by("partner_id"))
        return [WitnessKey(partner, vkey) for partner, vkey in rows]


def add_cosignature(db: Database, partner_id: str, tree_size: int, line: str) -> str:
    """Verify and keep ``partner_id``'s cosignature line on the checkpoint at ``tree_size``."""
    with db.transaction() as s:
        row = s.get(WitnessRow, partner_id)
        if row is None:
            raise NotFound(
                f"partner {partner_id} has no registered witness key: PUT /ledger/witness-key "
                "first",
                field="partner",
                value=partner_id,
            )
        checkpoint = s.get(CheckpointRow, tree_size)
        if checkpoint is None:
            raise NotFound(
                f"no checkpoint was signed at tree size {tree_size}",
                field="size",
                value=tree_size,
            )
        text, _ = parse_note(checkpoint.note)
        line = line.strip("\n") + "\n"
        _, signatures = parse_note(text + "\n" + line)
        verifier = Verifier.parse(row.vkey)
        if len(signatures) != 1 or (signatures[0].name, signatures[0].key_id) != (
            verifier.name,
            verifier.key_id,
        ):
            raise VerificationError(
                f"expected one cosignature line by {verifier.name}+{verifier.key_id.hex()}, "
                f"got {line[:80]!r}",
                field="cosignature",
            )
        verifier.check(text, signatures[0].signature)
        s.execute(
            delete(CosignatureRow).where(
                CosignatureRow.size == tree_size, CosignatureRow.witness == partner_id
            )
        )
        s.add(
            CosignatureRow(
                size=tree_size, witness=partner_id, line=line, created_at=datetime.now(UTC)
            )
        )
    return line


def cosigned_note(session: Session, checkpoint: CheckpointRow) -> str:
    """The checkpoint's note with every cosignature kept for it appended."""
    lines = session.scalars(
        select(CosignatureRow.line)
        .where(CosignatureRow.size == checkpoint.size)
        .order_by(CosignatureRow.witness)
    )
    return checkpoint.note + "".join(lines)


def note_with_cosignatures(db: Database, checkpoint: CheckpointRow) -> str:
    with db.read() as s:
        return cosigned_note(s, checkpoint)
