"""Ownership on resale: claim with the packaging secret, transfer with a one-time code.

- Each item gets a secret printed inside its packaging (``issue_secrets``,
  shown once; only its SHA-256 is kept). The first buyer claims the item with
  it and receives an *owner token*, the only proof of ownership.
- The owner asks for a one-time *transfer code* (valid ``TRANSFER_VALIDITY``)
  and hands it to the buyer, who accepts it and receives a new owner token; the
  previous token stops working.
- The owner may mark the item lost or stolen (and found again); scans then
  say so (``item_status``).

The passport shows how many owners an item had and since when the current one
owns it - never who: no name, address or account is stored, only periods.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mics.db import Database
from mics.errors import Conflict, InvalidInput, NotFound, Unauthorized
from mics.passport.store import OwnershipRow, PassportItemRow, TransferRow
from mics.registry import reads as registry
from mics.registry.products import find_product

TRANSFER_VALIDITY = timedelta(days=7)
# Crockford base32 without I, L, O, U: readable on a printed card, typed without confusion.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SECRET_GROUPS = 4  # 4 groups of 4 characters: 80 bits
CODE_GROUPS = 3  # 60 bits, valid for a week and used once
TOKEN_PREFIX = "mics_owner_"
REPORTS = ("lost", "stolen", None)


@dataclass(frozen=True)
class IssuedSecret:
    """A packaging secret as printed: shown once, then only its hash exists."""

    item_id: int
    serial: str
    secret: str


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _code(groups: int) -> str:
    return "-".join("".join(secrets.choice(ALPHABET) for _ in range(4)) for _ in range(groups))


def normalise_code(value: str, field: str, groups: int) -> str:
    """Upper-case, without spaces; O read as 0 and I/L as 1 (Crockford base32)."""
    text = value.strip().upper().replace(" ", "").replace("-", "")
    text = text.translate(str.maketrans("OIL", "011"))
    if len(text) != 4 * groups or any(c not in ALPHABET for c in text):
        raise InvalidInput(
            f"not a code of {4 * groups} characters",
            field=field,
            value=value if len(value) < 60 else value[:60],
            expected=f"{groups} groups of 4 letters and digits such as "
            + "-".join(["7K2M"] * groups),
        )
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


def _item(s: Session, item_id: int) -> registry.Item:
    row = registry.item(s, item_id)
    if row is None:
        raise NotFound(f"no item with id {item_id}", field="item", value=item_id)
    return row


def _passport(s: Session, item_id: int) -> PassportItemRow:
    _item(s, item_id)
    row = s.get(PassportItemRow, item_id, with_for_update=True)
    if row is None:
        raise NotFound(
            f"item {item_id} has no packaging secret yet: run 'mics passport secrets PRODUCT'",
            field="item",
            value=item_id,
        )
    return row


def _current(s: Session, item_id: int) -> OwnershipRow | None:
    return s.scalar(
        select(OwnershipRow).where(OwnershipRow.item_id == item_id, OwnershipRow.until.is_(None))
    )


def _owner(s: Session, item_id: int, owner_token: str) -> OwnershipRow:
    current = _current(s, item_id)
    if current is None or not hmac.compare_digest(current.token_hash, _hash(owner_token.strip())):
        raise Unauthorized(
            "this owner token is not the current owner's token for this item",
            field="owner_token",
        )
    return current


def _new_owner(s: Session, item_id: int, now: datetime) -> str:
    token = TOKEN_PREFIX + secrets.token_urlsafe(24)
    s.add(OwnershipRow(item_id=item_id, token_hash=_hash(token), since=now))
    return token


def issue_secrets(
    db: Database, product: str, *, reissue: bool = False, now: datetime | None = None
) -> list[IssuedSecret]:
    """New packaging secrets for the product's items that have none (or, with
    ``reissue``, also for items not yet claimed); the returned texts are the only copies."""
    issued = []
    moment = _now(now)
    with db.transaction() as s:
        found = find_product(s, product)
        items = registry.items_of_product(s, found.id)
        for item in items:
            row = s.get(PassportItemRow, item.id)
            if row is not None and not (reissue and _current(s, item.id) is None):
                continue
            if _claimed_before(s, item.id):
                continue
            secret = _code(SECRET_GROUPS)
            if row is None:
                s.add(
                    PassportItemRow(
                        item_id=item.id,
                        secret_hash=_hash(secret),
                        secret_created_at=moment,
                    )
                )
            else:
                row.secret_hash, row.secret_created_at = _hash(secret), moment
            issued.append(IssuedSecret(item.id, item.serial, secret))
    return issued


def _claimed_before(s: Session, item_id: int) -> bool:
    count = s.scalar(select(func.count()).where(OwnershipRow.item_id == item_id)) or 0
    return count > 0


def claim(db: Database, item_id: int, secret: str, now: datetime | None = None) -> str:
    """The first buyer's claim: the packaging secret in, an owner token out."""
    text = normalise_code(secret, "secret", SECRET_GROUPS)
    moment = _now(now)
    with db.transaction() as s:
        passport = _passport(s, item_id)
        if _claimed_before(s, item_id):
            raise Conflict(
                "this item was already claimed: ask its owner for a transfer code",
                field="item",
                value=item_id,
            )
        if not hmac.compare_digest(passport.secret_hash, _hash(text)):
            raise Unauthorized(
                "wrong packaging secret for this item: check the card inside the packaging",
                field="secret",
            )
        return _new_owner(s, item_id, moment)


def start_transfer(
    db: Database, item_id: int, owner_token: str, now: datetime | None = None
) -> tuple[str, datetime]:
    """A one-time transfer code for the next owner (earlier unused codes stop working)."""
    moment = _now(now)
    with db.transaction() as s:
        _passport(s, item_id)
        _owner(s, item_id, owner_token)
        for pending in s.scalars(
            select(TransferRow).where(TransferRow.item_id == item_id, TransferRow.used_at.is_(None))
        ):
            pending.used_at = moment  # superseded
        code = _code(CODE_GROUPS)
        expires = moment + TRANSFER_VALIDITY
        s.add(
            TransferRow(
                item_id=item_id, code_hash=_hash(code), created_at=moment, expires_at=expires
            )
        )
        return code, expires


def accept_transfer(db: Database, item_id: int, code: str, now: datetime | None = None) -> str:
    """The new owner's side: the transfer code in, a new owner token out."""
    text = normalise_code(code, "code", CODE_GROUPS)
    moment = _now(now)
    with db.transaction() as s:
        _passport(s, item_id)
        row = s.scalar(
            select(TransferRow)
            .where(TransferRow.item_id == item_id, TransferRow.code_hash == _hash(text))
            .with_for_update()
        )
        if row is None or row.used_at is not None:
            raise Unauthorized("unknown or already used transfer code for this item", field="code")
        expires = row.expires_at
        if expires <= moment:
            raise Unauthorized(
                f"this transfer code expired at {expires.isoformat()}: ask the owner for a new one",
                field="code",
            )
        row.used_at = moment
        current = _current(s, item_id)
        if current is not None:
            current.until = moment
        return _new_owner(s, item_id, moment)


def report_lost(
    db: Database,
    item_id: int,
    owner_token: str,
    *,
    status: str | None = "lost",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Report the item ``lost`` or ``stolen`` (``None``: found again); only its owner may."""
    if status not in REPORTS:
        raise InvalidInput(
            "unknown report", field="status", value=status, expected="lost, stolen or null"
        )
    moment = _now(now)
    with db.transaction() as s:
        passport = _passport(s, item_id)
        _owner(s, item_id, owner_token)
        passport.status = status
        passport.status_changed_at = moment
    return item_status(db, item_id)


def item_status(db: Database, item_id: int) -> dict[str, Any]:
    """How many owners, since when the current one, and whether it is lost or stolen.

    ``{"owners": 2, "since": "2026-05-01T10:00:00Z", "owned_since": [...],
    "lost_or_stolen": False, "status": None, "claimable": False}`` - dates only,
    never who; ``status`` is ``"lost"`` or ``"stolen"`` when the owner reported it.
    """
    with db.read() as s:
        _item(s, item_id)
        passport = s.get(PassportItemRow, item_id)
        periods = s.execute(
            select(OwnershipRow.since, OwnershipRow.until)
            .where(OwnershipRow.item_id == item_id)
            .order_by(OwnershipRow.since, OwnershipRow.id)
        ).all()
        if passport is None:
            return status_of(False, None, None, [])
        return status_of(True, passport.status, passport.status_changed_at, periods)


def status_of(
    secret: bool,
    report: str | None,
    report_at: datetime | None,
    periods: Sequence[tuple[datetime, datetime | None]],
) -> dict[str, Any]:
    """The one rule for an item's ownership status, from what the database holds.

    ``secret``: a packaging secret was issued (the item has a ``passport_item`` row);
    ``report``/``report_at``: the owner's lost/stolen report and when it changed;
    ``periods``: ``(since, until)`` of each owner, oldest first. ``item_status`` and the
    passport's fast read (``volatile.ownership_now``, the scan's ``Owned``) both answer
    with it.
    """
    current = [since for since, until in periods if until is None]
    return {
        "owners": len(periods),
        "since": _stamp(current[-1]) if current else None,
        "owned_since": [_stamp(since) for since, _ in periods],
        "lost_or_stolen": bool(report),
        "status": report,
        "status_changed_at": _stamp(report_at),
        "claimable": secret and not periods,
    }


def _stamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
