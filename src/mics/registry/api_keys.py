"""Partner API keys: created once, stored as SHA-256, checked on every call.

A key looks like ``mics_<prefix>_<secret>``; the prefix finds the row, the
SHA-256 of the whole key must match (compared in constant time). Keys have a
role, which says what the key may do whatever partner holds it (``mics.api.deps``):
``partner`` (write its own records, capture events and read its own),
``operator`` (everything, audit), ``legitimate_interest`` (repairers, recyclers:
the passport's legitimate-interest tier), ``authority`` (market surveillance:
the authority tier, every event, recalls), ``witness`` (cosign checkpoints).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from mics.db import Database
from mics.errors import Forbidden, NotFound, Unauthorized
from mics.registry import domain
from mics.registry.service import _get
from mics.registry.store import PartnerKeyRow, PartnerRow

ROLES = ("partner", "operator", "legitimate_interest", "authority", "witness")


@dataclass(frozen=True)
class Principal:
    """Who is calling: a partner acting in one role."""

    partner: str
    role: str

    def require(self, *roles: str) -> Principal:
        if self.role not in roles:
            raise Forbidden(
                f"this needs a key with role {' or '.join(roles)}; yours has role {self.role}",
                role=self.role,
            )
        return self


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(
    db: Database,
    partner_id: str,
    role: str = "partner",
    label: str = "",
    expires_at: datetime | None = None,
) -> str:
    """A new key for ``partner_id``; the returned text is the only copy."""
    domain.check_choice(role, ROLES, "role")
    prefix = secrets.token_hex(4)
    key = f"mics_{prefix}_{secrets.token_urlsafe(24)}"
    with db.transaction() as s:
        _get(s, PartnerRow, partner_id, "partner")
        s.add(
            PartnerKeyRow(
                partner_id=partner_id,
                key_hash=_hash(key),
                prefix=prefix,
                role=role,
                label=label,
                expires_at=expires_at,
            )
        )
    return key


def authenticate(db: Database, key: str | None, now: datetime | None = None) -> Principal:
    """The principal holding ``key``, or :class:`Unauthorized` saying what is wrong."""
    if not key:
        raise Unauthorized("an API key is required: send 'Authorization: Bearer mics_...'")
    parts = key.split("_")
    if len(parts) < 3 or parts[0] != "mics":
        raise Unauthorized("malformed API key: expected 'mics_<prefix>_<secret>'")
    with db.read() as s:
        row = s.scalar(select(PartnerKeyRow).where(PartnerKeyRow.prefix == parts[1]))
        if row is None or not hmac.compare_digest(row.key_hash, _hash(key)):
            raise Unauthorized("unknown API key")
        if row.revoked:
            raise Unauthorized("this API key was revoked")
        now = now or datetime.now(UTC)
        expires = row.expires_at
        if expires is not None and expires <= now:
            raise Unauthorized(f"this API key expired at {expires.isoformat()}")
        return Principal(partner=row.partner_id, role=row.role)


def revoke_key(db: Database, prefix: str) -> str:
    """Revoke the API key with this prefix (``mics_<prefix>_...``; the whole key also does).

    Returns the partner whose key it was; ``NotFound`` when no key has the prefix.
    A revoked key authenticates no more (``authenticate`` says it was revoked).
    """
    parts = prefix.strip().split("_")
    wanted = parts[1] if len(parts) >= 3 and parts[0] == "mics" else prefix.strip()
    with db.transaction() as s:
        rows = list(s.scalars(select(PartnerKeyRow).where(PartnerKeyRow.prefix == wanted)))
        if not rows:
            raise NotFound(
                f"no API key with prefix {wanted!r}",
                field="prefix",
                value=wanted,
                expected="the 8 hex digits after 'mics_' in the key",
            )
        for row in rows:
            row.revoked = True
        return rows[0].partner_id
