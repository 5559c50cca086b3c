"""The tag registry: which NTAG 424 DNA sits on which item, and the keys behind it.

Keys follow NXP AN10922 §2.2 (AES-128 diversification, ``sun.SunMasterKey``):
the instance keeps one master key in ``$MICS_HOME/tags.key`` (created on first
use, owner-only 0600 in a 0700 folder, like the log's key); each tag's keys are
derived from it and the tag's UID whenever they are needed, so no tag key is
ever stored, returned or logged. The file holds the master key and the system
identifier (AN10922's diversification constant) as hex in a small JSON object.

``simulate_scan_url`` plays the tag: it writes the SUN URL a tapped tag would
produce (AN12196 §3.3-3.4), for the demo, the CLI and the benchmark.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mics.db import Database
from mics.errors import Conflict, InvalidInput, NotFound
from mics.passport.authenticity import GeoPoint
from mics.passport.digital_link import DigitalLink
from mics.passport.store import NEVER_READ, NfcTagRow, ReadPointRow
from mics.passport.sun import UID_LENGTH, SunMasterKey, simulate_sun
from mics.registry import reads as registry
from mics.registry.domain import check_gln
from mics.secret_file import create_once, private_folder, read_private

KEY_FILE = "tags.key"
_UID_HEX = re.compile(r"[0-9A-Fa-f]{14}")
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,79}")


@dataclass(frozen=True)
class TagOut:
    """A registered tag as anyone may see it: never a key."""

    id: int
    uid: str
    item_id: int
    gtin: str
    serial: str
    counter: int | None  # the last accepted SDMReadCtr, None before the first scan
    registered_at: datetime | None

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "uid": self.uid,
            "item": self.item_id,
            "gtin": self.gtin,
            "serial": self.serial,
            "counter": self.counter,
            "registered_at": None if self.registered_at is None else self.registered_at.isoformat(),
        }


def load_or_create_master_key(home: Path, instance: str) -> SunMasterKey:
    """The instance's tag master key under ``home``, created (owner-only) when absent.

    Only the commands that own the key call this (``mics db upgrade``, ``mics demo``,
    ``mics serve``); a command that only reads uses :func:`load_master_key`."""
    return _master_key(home, instance, create=True)


def load_master_key(home: Path, instance: str) -> SunMasterKey:
    """The instance's tag master key under ``home``; NotFound naming the fix when absent."""
    return _master_key(home, instance, create=False)


def _master_key(home: Path, instance: str, *, create: bool) -> SunMasterKey:
    path = home / KEY_FILE
    if not path.exists() and not create:
        raise NotFound(
            f"no tag master key at {path.absolute()}; run `mics db upgrade` (or `mics serve`) "
            "with this MICS_HOME first, or set MICS_HOME to the folder that holds tags.key"
        )
    if not path.exists():
        private_folder(home)
        # The system identifier only has to be stable and distinct per instance.
        system = hashlib.sha256(instance.encode("utf-8")).digest()[:16]
        body = {"master_key": secrets.token_bytes(16).hex(), "system_identifier": system.hex()}
        create_once(path, json.dumps(body) + "\n")  # or another process did: use theirs
    try:
        data = json.loads(read_private(path))
        return SunMasterKey(
            key=bytes.fromhex(data["master_key"]),
            system_identifier=bytes.fromhex(data["system_identifier"]),
        )
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        # Never echo the file: it is the secret.
        raise InvalidInput(
            f"{path} is not a MICS tag key file",
            field="MICS_HOME",
            value=str(path),
            expected='{"master_key": 32 hex digits, "system_identifier": hex}',
        ) from None


def parse_uid(text: str) -> bytes:
    """A 7-byte NTAG UID from hex (spaces and colons allowed), or InvalidInput."""
    cleaned = re.sub(r"[\s:]", "", text)
    if not _UID_HEX.fullmatch(cleaned):
        raise InvalidInput(
            f"{text!r} is not a {UID_LENGTH}-byte tag UID",
            field="uid",
            value=text,
            expected=f"{UID_LENGTH * 2} hex digits, e.g. 04DE5F1EACC040",
        )
    return bytes.fromhex(cleaned)


def register_tag(db: Database, item_id: int, uid_hex: str) -> TagOut:
    """Bind the tag ``uid_hex`` to item ``item_id``; one tag per item, one item per tag."""
    uid = parse_uid(uid_hex).hex().upper()
    with db.transaction() as s:
        item, gtin = _item(s, item_id)
        taken = s.scalar(select(NfcTagRow).where(NfcTagRow.uid == uid))
        if taken is not None:
            raise Conflict(
                f"tag {uid} is already registered to item {taken.item_id}",
                field="uid",
                value=uid,
            )
        if s.scalar(select(NfcTagRow.id).where(NfcTagRow.item_id == item_id)) is not None:
            raise Conflict(
                f"item {item_id} already has a tag; each item carries one",
                field="item",
                value=item_id,
            )
        row = NfcTagRow(uid=uid, item_id=item_id, counter=NEVER_READ)
        s.add(row)
        try:
            s.flush()
        except IntegrityError as error:  # a concurrent registration won
            raise Conflict(
                f"tag {uid} or item {item_id} was registered meanwhile", field="uid", value=uid
            ) from error
        s.refresh(row)
        return _tag_out(row, gtin, item.serial)


def tag_of_item(db: Database, item_id: int) -> TagOut:
    with db.read() as s:
        item, gtin = _item(s, item_id)
        row = s.scalar(select(NfcTagRow).where(NfcTagRow.item_id == item_id))
        if row is None:
            raise NotFound(
                f"item {item_id} has no NFC tag; register one with `mics tag register`",
                field="item",
                value=item_id,
            )
        return _tag_out(row, gtin, item.serial)


def simulate_scan_url(
    db: Database,
    master: SunMasterKey,
    item_id: int,
    base_url: str,
    *,
    counter: int | None = None,
) -> str:
    """The URL the item's tag writes when tapped: its Digital Link with ``?e=..&c=..``.

    ``counter`` defaults to one above the last accepted one, as a real tap would.
    """
    tag = tag_of_item(db, item_id)
    with db.read() as s:
        item, _ = _item(s, item_id)
    tap = counter if counter is not None else (tag.counter or 0) + 1
    uid = bytes.fromhex(tag.uid)
    message = simulate_sun(uid, tap, master.meta_read_key, master.file_read_key(uid))
    link = DigitalLink(gtin=tag.gtin, serial=item.serial)
    return f"{link.uri(base_url)}?{message.query()}"


def put_read_point(
    db: Database, point_id: str, name: str, place: GeoPoint, gln: str | None = None
) -> None:
    """Register (or move) a read point: a place where tags are read, with coordinates."""
    if not _SLUG.fullmatch(point_id):
        raise InvalidInput(
            f"{point_id!r} is not a read point id",
            field="read_point",
            value=point_id,
            expected="lower-case letters, digits and '-', up to 80",
        )
    if gln is not None:
        check_gln(gln)  # it becomes the readPoint of every verdict event recorded there
    with db.transaction() as s:
        s.merge(
            ReadPointRow(
                id=point_id,
                name=name,
                latitude=place.latitude,
                longitude=place.longitude,
                gln=gln,
            )
        )


def _item(s: Session, item_id: int) -> tuple[registry.Item, str]:
    found = registry.labelled_item(s, item_id)
    if found is None:
        raise NotFound(f"no item {item_id}", field="item", value=item_id)
    return found.item, found.gtin


def _tag_out(row: NfcTagRow, gtin: str, serial: str) -> TagOut:
    return TagOut(
        id=row.id,
        uid=row.uid,
        item_id=row.item_id,
        gtin=gtin,
        serial=serial,
        counter=None if row.counter == NEVER_READ else row.counter,
        registered_at=row.registered_at,
    )


def load_tag_demo(db: Database) -> dict[str, int]:
    """A tag on every item that has none (demo; idempotent), UIDs derived from the serials.

    NXP UIDs start with the manufacturer code 0x04 (ISO/IEC 7816-6); the other six
    bytes are a hash of the item, so every run gives each item the same tag.
    """
    with db.read() as s:
        tagged = set(s.scalars(select(NfcTagRow.item_id)))
        untagged = [
            (found.item.id, found.gtin, found.item.serial)
            for found in registry.labelled_items(s)
            if found.item.id not in tagged
        ]
    added = 0
    for item_id, gtin, serial in untagged:
        uid = "04" + hashlib.sha256(f"mics-demo-tag:{gtin}/{serial}".encode()).hexdigest()[:12]
        try:
            register_tag(db, item_id, uid)
        except Conflict:
            continue
        added += 1
    return {"tags_added": added}
