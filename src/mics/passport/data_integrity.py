"""W3C Data Integrity proofs with the ``eddsa-jcs-2022`` cryptosuite, and did:web names.

What is signed (W3C "Data Integrity EdDSA Cryptosuites v1.0", §3.3
eddsa-jcs-2022), so that anyone can check a passport with any JCS library:

1. ``document`` = the credential without its ``proof`` member;
2. ``proofConfig`` = the ``proof`` object without ``proofValue`` (it carries
   ``type: DataIntegrityProof``, ``cryptosuite: eddsa-jcs-2022``, ``created``,
   ``verificationMethod``, ``proofPurpose: assertionMethod`` and the
   document's ``@context``);
3. ``hashData`` = SHA-256(JCS(proofConfig)) || SHA-256(JCS(document)), where JCS
   is the RFC 8785 JSON Canonicalization Scheme (UTF-8, keys sorted, no spaces,
   ECMAScript number form);
4. ``proofValue`` = ``"z"`` + base58btc(Ed25519 signature of hashData) (RFC 8032).

The verification method is ``<issuer DID>#<public key as Multikey>``: the key
travels in the fragment (``"z"`` + base58btc(0xed01 || 32-byte key)), so the
signature checks offline; a verifier who wants more than integrity pins the key
or resolves the issuer's did:web document (W3C did:web method §3.2).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from mics.errors import InvalidInput, VerificationError

CRYPTOSUITE = "eddsa-jcs-2022"
ED25519_PUB = b"\xed\x01"  # multicodec ed25519-pub, varint
ED25519_PRIV = b"\x80\x26"  # multicodec ed25519-priv (0x1300), varint
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58btc_encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, digit = divmod(number, 58)
        out = _B58[digit] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def base58btc_decode(text: str) -> bytes:
    number = 0
    for char in text:
        digit = _B58.find(char)
        if digit < 0:
            raise InvalidInput(
                f"{char!r} is not a base58btc digit",
                field="base58btc",
                value=text[:80],
                expected="digits of 123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz",
            )
        number = number * 58 + digit
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def multikey(public_key: bytes) -> str:
    """An Ed25519 public key as a Multikey ``publicKeyMultibase`` (``z6Mk...``)."""
    return "z" + base58btc_encode(ED25519_PUB + public_key)


def public_key_of(multibase: str) -> bytes:
    raw = base58btc_decode(multibase[1:]) if multibase.startswith("z") else b""
    if len(raw) != 34 or raw[:2] != ED25519_PUB:
        raise InvalidInput(
            "not an Ed25519 Multikey",
            field="publicKeyMultibase",
            value=multibase[:80],
            expected="'z' + base58btc(0xed01 || 32-byte key), e.g. z6Mk...",
        )
    return raw[2:]


def did_web(base_url: str, *path: str) -> str:
    """``did:web:host%3Aport:seg:seg`` for ``base_url`` and path segments (did:web §3.1)."""
    parts = urlsplit(base_url)
    if not parts.hostname:
        raise InvalidInput(
            "no host in the base URL",
            field="MICS_BASE_URL",
            value=base_url,
            expected="an address such as https://mics.example",
        )
    host = parts.hostname + (f"%3A{parts.port}" if parts.port else "")
    segments = [s for s in parts.path.split("/") if s] + list(path)
    return ":".join(["did:web", host, *segments])


def did_document(did: str, public_key: bytes) -> dict[str, Any]:
    """The DID document served at the did:web address (W3C DID Core, Multikey)."""
    method = f"{did}#{multikey(public_key)}"
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": [
            {
                "id": method,
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": multikey(public_key),
            }
        ],
        "assertionMethod": [method],
    }


# --- RFC 8785 JSON Canonicalization Scheme -------------------------------------------------


def jcs(value: Any) -> bytes:
    """``value`` serialised per RFC 8785 (JCS), UTF-8 encoded."""
    return _jcs(value).encode("utf-8")


def _jcs(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int):
        return _number(float(value)) if abs(value) >= 2**53 else str(value)
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        keys = sorted(value, key=lambda k: str(k).encode("utf-16-be"))  # §3.2.3: UTF-16 units
        return "{" + ",".join(f"{_jcs(str(k))}:{_jcs(value[k])}" for k in keys) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_jcs(v) for v in value) + "]"
    raise InvalidInput(
        f"cannot canonicalise a {type(value).__name__}",
        field="credential",
        value=repr(value)[:80],
        expected="JSON values only",
    )


def _number(x: float) -> str:
    """ECMAScript Number::toString (RFC 8785 §3.2.2.3) from Python's shortest repr."""
    if not math.isfinite(x):
        raise InvalidInput("JSON has no NaN or Infinity", field="credential", value=repr(x))
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    _, digit_tuple, exp = Decimal(repr(abs(x))).as_tuple()
    assert isinstance(exp, int)
    full = "".join(map(str, digit_tuple))
    digits = full.rstrip("0")
    exponent = exp + len(full)  # x = 0.digits * 10**exponent
    k, n = len(digits), exponent
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        text = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e > 0 else "-")
        text += str(abs(e))
    return sign + text


# --- sign and verify -----------------------------------------------------------------------


def hash_data(document: Mapping[str, Any], proof_config: Mapping[str, Any]) -> bytes:
    """SHA-256(JCS(proofConfig)) || SHA-256(JCS(document)) (eddsa-jcs-2022 §3.3.4)."""
    return hashlib.sha256(jcs(proof_config)).digest() + hashlib.sha256(jcs(document)).digest()


def proof_config(
    document: Mapping[str, Any], verification_method: str, created: str
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "type": "DataIntegrityProof",
        "cryptosuite": CRYPTOSUITE,
        "created": created,
        "verificationMethod": verification_method,
        "proofPurpose": "assertionMethod",
    }
    if "@context" in document:
        config["@context"] = document["@context"]
    return config


def add_proof(
    document: Mapping[str, Any],
    sign: Any,
    verification_method: str,
    created: str,
) -> dict[str, Any]:
    """``document`` with an eddsa-jcs-2022 ``proof``; ``sign(bytes) -> 64-byte signature``."""
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    config = proof_config(unsecured, verification_method, created)
    signature: bytes = sign(hash_data(unsecured, config))
    return unsecured | {"proof": config | {"proofValue": "z" + base58btc_encode(signature)}}


def verify_proof(document: Mapping[str, Any], public_key: bytes | None = None) -> bytes:
    """Check the document's eddsa-jcs-2022 proof; returns the key that signed.

    The key is read from the verification method's fragment; ``public_key``
    pins it (a different key is a failure).
    """
    proof = document.get("proof")
    if not isinstance(proof, Mapping):
        raise VerificationError("expected a 'proof' object, got none", field="proof")
    for key, wanted in (("type", "DataIntegrityProof"), ("cryptosuite", CRYPTOSUITE)):
        if proof.get(key) != wanted:
            raise VerificationError(
                f"expected proof {key} {wanted!r}, got {proof.get(key)!r}", field=f"proof.{key}"
            )
    if proof.get("proofPurpose") != "assertionMethod":
        raise VerificationError(
            f"expected proofPurpose 'assertionMethod', got {proof.get('proofPurpose')!r}",
            field="proof.proofPurpose",
        )
    method = proof.get("verificationMethod")
    value = proof.get("proofValue")
    if not isinstance(method, str) or "#" not in method:
        raise VerificationError(
            f"expected verificationMethod '<did>#z6Mk...', got {method!r}",
            field="proof.verificationMethod",
        )
    if not isinstance(value, str) or not value.startswith("z"):
        raise VerificationError(
            "expected proofValue 'z' + base58btc signature", field="proof.proofValue"
        )
    named = public_key_of(method.rsplit("#", 1)[1])
    if public_key is not None and named != public_key:
        raise VerificationError(
            f"expected a proof by the pinned key {multikey(public_key)}, got one by "
            f"{multikey(named)}",
            field="proof.verificationMethod",
        )
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    if proof.get("@context", unsecured.get("@context")) != unsecured.get("@context"):
        raise VerificationError(
            "expected the proof's @context to equal the document's", field="proof.@context"
        )
    config = {k: v for k, v in proof.items() if k != "proofValue"}
    try:
        signature = base58btc_decode(value[1:])
        Ed25519PublicKey.from_public_bytes(named).verify(signature, hash_data(unsecured, config))
    except (InvalidSignature, ValueError, InvalidInput):
        raise VerificationError(
            f"expected a valid Ed25519 signature by {multikey(named)}, got an invalid one: "
            "the credential or its proof was altered",
            field="proof.proofValue",
        ) from None
    return named
