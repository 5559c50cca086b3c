"""Issue a signed passport credential: the passport, its cited events' log proofs, a proof.

The events are proven against a checkpoint signed now (``mics.ledger.store.log``), so
the credential carries everything an offline verifier needs: the leaf of each
event, its inclusion path, the signed checkpoint note and the log's vkey.

It cites the events its tier's passport lists (``provenance.events``, which
``passport.access`` keeps for authorities): an event id, its hash and the log
leaf naming the partner that captured it tie the item to its supply chain, so
the public credential carries none of them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mics.config import Settings
from mics.db import Database
from mics.errors import InvalidInput
from mics.ledger.note import Signer
from mics.ledger.store import log
from mics.ledger.store.signing_key import load_or_create_signer
from mics.passport.credential import EventProof, Issuer, build_credential, sign_credential
from mics.passport.digital_link import parse_digital_link
from mics.passport.issuer_keys import load_or_create_partner_key
from mics.passport.view import cited_events, find_subject, passport_json, short_step
from mics.registry.domain import normalise_gtin


def parse_item(text: str) -> tuple[str, str | None, str | None]:
    """``(gtin, serial, lot)`` from a Digital Link URI (or path) or ``GTIN/serial``."""
    text = text.strip()
    if text.startswith(("http://", "https://", "/01/")):
        link = parse_digital_link(text)
        return link.gtin, link.serial, link.lot
    gtin, slash, serial = text.partition("/")
    if not slash or not serial:
        raise InvalidInput(
            "not an item reference",
            field="ITEM",
            value=text,
            expected="a GS1 Digital Link such as https://id.gs1.org/01/08012345000012/21/BA00001 "
            "or GTIN/serial such as 08012345000012/BA00001",
        )
    return normalise_gtin(gtin, "ITEM"), serial, None


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def issue_credential(
    db: Database,
    settings: Settings,
    gtin: str,
    serial: str | None,
    lot: str | None = None,
    *,
    tier: str = "public",
    log_signer: Signer | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The passport of an item as a signed UNTP DPP verifiable credential."""
    moment = now or datetime.now(UTC)
    base = settings.base_url.rstrip("/")
    passport = passport_json(db, gtin, serial, lot, tier=tier, base_url=base)
    subject = find_subject(db, gtin, serial, lot)
    listed = {e["eventID"] for e in (passport.get("provenance") or {}).get("events", [])}
    events = [e for e in cited_events(db, subject) if e.event_id in listed]
    signer = log_signer or load_or_create_signer(settings.home, settings.instance)
    proofs: list[EventProof] = []
    if events:
        signed = log.checkpoint(db, signer, settings.instance)
        for event in events:
            proof = log.inclusion_by_event(db, event.pk, signed.size)
            proofs.append(
                EventProof(
                    event_id=event.event_id,
                    event_hash=event.event_hash,
                    biz_step=short_step(event.biz_step),
                    proof=proof.as_json(),
                    checkpoint=signed.note,
                    log_key=signer.verifier.vkey,
                )
            )
    maker = passport["manufacturer"]
    key = load_or_create_partner_key(settings.home, maker["id"])
    credential = build_credential(
        passport,
        issuer=Issuer(did=maker["did"], name=maker["name"]),
        base_url=base,
        valid_from=_stamp(moment),
        events=proofs,
    )
    return sign_credential(credential, key.sign, key.public_key, _stamp(moment))
