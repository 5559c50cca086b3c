"""Webhook signature tokens sealed at rest: AES-256-GCM under ``$MICS_HOME/webhooks.key``.

A subscription's ``GS1-Signature`` header (EPCIS 2.0 REST binding, subscriptions) is
an HMAC-SHA256 (RFC 2104) of the body keyed by the subscriber's ``signatureToken``, so
the repository needs the token itself and cannot keep only a hash. It keeps it sealed:
AES-GCM (NIST SP 800-38D) with a fresh random 96-bit nonce per token and the
subscription's id as associated data, so a sealed token copied onto another row does
not open. The key is a file beside the log's and the tags' keys (owner-only, created
once by ``mics.secret_file``); a copy of the database alone reveals no token.

Stored form: ``aesgcm1:<base64url(nonce || ciphertext || tag)>``. ``clear:<token>``
marks a token stored in clear before migration ``0006_webhooks``; it is sealed at the
next ``mics db upgrade`` or delivery round.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mics.errors import InvalidInput, TamperDetected
from mics.secret_file import create_once, private_folder, read_private

KEY_FILE = "webhooks.key"
SEALED = "aesgcm1:"
CLEAR = "clear:"
NONCE_BYTES = 12  # SP 800-38D §8.2: 96-bit nonces, random (2^-32 collision bound far off)
KEY_BYTES = 32


@dataclass(frozen=True)
class TokenSeal:
    """Seals and opens signature tokens with one AES-256-GCM key (never shown in a repr)."""

    key: bytes = field(repr=False)

    def seal(self, subscription: str, token: str) -> str:
        nonce = secrets.token_bytes(NONCE_BYTES)
        box = AESGCM(self.key).encrypt(nonce, token.encode("utf-8"), subscription.encode())
        return SEALED + base64.urlsafe_b64encode(nonce + box).decode("ascii")

    def open(self, subscription: str, stored: str) -> str:
        """The token of ``subscription``; TamperDetected when it does not open (never echoed)."""
        if stored.startswith(CLEAR):
            return stored[len(CLEAR) :]
        try:
            if not stored.startswith(SEALED):
                raise ValueError(stored[:8])
            raw = base64.urlsafe_b64decode(stored[len(SEALED) :])
            token = AESGCM(self.key).decrypt(
                raw[:NONCE_BYTES], raw[NONCE_BYTES:], subscription.encode()
            )
            return token.decode("utf-8")
        except (ValueError, InvalidTag, UnicodeDecodeError):
            raise TamperDetected(
                f"the signature token of subscription {subscription!r} does not open with "
                f"{KEY_FILE}: the row was altered or the key file replaced",
                field="sealed_token",
                value=subscription,
            ) from None


def load_or_create_token_seal(home: Path) -> TokenSeal:
    """The instance's webhook token key under ``home``, created (owner-only) when absent."""
    path = home / KEY_FILE
    if not path.exists():
        private_folder(home)
        create_once(path, secrets.token_bytes(KEY_BYTES).hex() + "\n")  # or another process did
    try:
        key = bytes.fromhex(read_private(path).strip())
    except (ValueError, UnicodeDecodeError):
        key = b""
    if len(key) != KEY_BYTES:
        raise InvalidInput(  # never echo the file: it is the secret
            f"{path} is not a MICS webhook token key",
            field="MICS_HOME",
            value=str(path),
            expected=f"{KEY_BYTES * 2} hex digits",
        )
    return TokenSeal(key)
