"""Manufacturer partners' Ed25519 signing keys for passports, kept outside the database.

Each partner that issues passports has one key in
``$MICS_HOME/partner-keys/<partner id>.key``: the 32-byte Ed25519 seed as
multibase base58btc of the Multikey secret-key encoding (multicodec
``ed25519-priv`` 0x1300 followed by the seed), readable by its owner only (mode
0600, folder 0700), created on first use. The public half is published in the
partner's did:web document (``/partners/<id>/did.json``) and named in every
passport's proof.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mics.errors import InvalidInput, NotFound
from mics.passport.data_integrity import (
    ED25519_PRIV,
    base58btc_decode,
    base58btc_encode,
    multikey,
)
from mics.registry.domain import check_slug
from mics.secret_file import create_once, private_folder, read_private

KEY_FOLDER = "partner-keys"


@dataclass(frozen=True)
class PartnerKey:
    """A partner's Ed25519 key: signs passports; ``public_multikey`` names it."""

    partner: str
    seed: bytes = field(repr=False)

    @property
    def public_key(self) -> bytes:
        return Ed25519PrivateKey.from_private_bytes(self.seed).public_key().public_bytes_raw()

    @property
    def public_multikey(self) -> str:
        return multikey(self.public_key)

    def sign(self, message: bytes) -> bytes:
        return Ed25519PrivateKey.from_private_bytes(self.seed).sign(message)


def key_path(home: Path, partner_id: str) -> Path:
    return home / KEY_FOLDER / f"{check_slug(partner_id, 'partner')}.key"


def load_partner_key(home: Path, partner_id: str) -> PartnerKey:
    """The partner's stored key, or ``NotFound`` saying how to create it."""
    path = key_path(home, partner_id)
    if not path.exists():
        raise NotFound(
            f"partner {partner_id!r} has no signing key at {path}: export a passport to create it",
            field="partner",
            value=partner_id,
        )
    text = read_private(path).strip()
    raw = base58btc_decode(text[1:]) if text.startswith("z") else b""
    if len(raw) != 34 or raw[:2] != ED25519_PRIV:
        raise InvalidInput(
            f"{path} is not a multibase Ed25519 secret key",
            field="MICS_HOME",
            value=str(path),
            expected="'z' + base58btc(0x8026 || 32-byte seed)",
        )
    return PartnerKey(partner_id, raw[2:])


def load_or_create_partner_key(home: Path, partner_id: str) -> PartnerKey:
    """The partner's key, created (owner-only file) when it does not exist yet."""
    path = key_path(home, partner_id)
    if path.exists():
        return load_partner_key(home, partner_id)
    private_folder(home)
    private_folder(path.parent)
    seed = Ed25519PrivateKey.generate().private_bytes_raw()
    if not create_once(path, "z" + base58btc_encode(ED25519_PRIV + seed) + "\n"):
        return load_partner_key(home, partner_id)  # another process created it first
    return PartnerKey(partner_id, seed)
