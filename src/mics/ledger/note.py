"""Signed notes, checkpoints and witness cosignatures (C2SP).

- c2sp.org/signed-note: a note is UTF-8 text ending in a newline, a blank line
  and signature lines ``— <key name> base64(key ID || signature)``. Key IDs are
  ``SHA-256(name || 0x0A || type || public key)[:4]``; keys travel as
  *vkeys* ``name+hex(key ID)+base64(type || public key)`` and, for signers,
  ``PRIVATE+KEY+name+hex(key ID)+base64(type || seed)`` (golang.org/x/mod/sumdb/note).
  ``open_note`` ignores signatures from unknown keys, rejects a note whose known
  signature fails and one with no verified signature (section "Signatures").
- c2sp.org/tlog-checkpoint: the note text ``origin\\nsize\\nbase64(root)\\n``
  followed by optional extension lines (section "Note text").
- c2sp.org/tlog-cosignature: type ``0x04`` Ed25519 cosignatures, signature =
  8-byte big-endian POSIX time || Ed25519 over ``"cosignature/v1\\ntime <t>\\n"``
  followed by the checkpoint text (section "Ed25519 signed message").
  ``verify_cosignatures`` enforces a k-of-n witness quorum.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from hashlib import sha256

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mics.errors import InvalidInput, VerificationError

ALG_ED25519 = 0x01  # signed-note "Ed25519 signatures"
ALG_COSIGNATURE_V1 = 0x04  # tlog-cosignature "Timestamped Ed25519"
ALGORITHMS = {ALG_ED25519: "Ed25519", ALG_COSIGNATURE_V1: "cosignature/v1"}
MAX_SIGNATURES = 100  # the spec asks for at least 16; sumdb/note allows 100
SIGNATURE_PREFIX = "— "  # em dash, space
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_HEX_ID = re.compile(r"[0-9a-f]{8}")
_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")


def key_id(name: str, alg: int, public_key: bytes) -> bytes:
    """``SHA-256(name || 0x0A || alg || public key)[:4]`` (signed-note "Signatures")."""
    return sha256(name.encode() + b"\n" + bytes([alg]) + public_key).digest()[:4]


@dataclass(frozen=True)
class Signature:
    """One signature line: key name, 4-byte key ID and the signature bytes after it."""

    name: str
    key_id: bytes
    signature: bytes

    @property
    def line(self) -> str:
        blob = base64.b64encode(self.key_id + self.signature).decode()
        return f"{SIGNATURE_PREFIX}{self.name} {blob}\n"


@dataclass(frozen=True)
class Verifier:
    """A public key that signs notes (``ALG_ED25519``) or cosigns them (``ALG_COSIGNATURE_V1``)."""

    name: str
    key_id: bytes
    alg: int
    public_key: bytes

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        """Read a vkey ``name+hexkeyid+base64(type || public key)``."""
        parts = vkey.split("+", 2)  # names have no '+'; base64 may
        if len(parts) != 3:
            raise _bad_key(vkey, "three parts separated by '+'")
        name, hex_id, blob = parts
        material = _b64(blob)
        if not _valid_name(name) or not _HEX_ID.fullmatch(hex_id) or material is None:
            raise _bad_key(vkey, "a key name, 8 lowercase hex digits and base64")
        if len(material) != 33 or material[0] not in ALGORITHMS:
            raise _bad_key(vkey, "type 0x01 or 0x04 followed by a 32-byte Ed25519 key")
        alg, public_key = material[0], material[1:]
        if key_id(name, alg, public_key).hex() != hex_id:
            raise _bad_key(vkey, f"key ID {key_id(name, alg, public_key).hex()} for this key")
        return cls(name, bytes.fromhex(hex_id), alg, public_key)

    @property
    def vkey(self) -> str:
        material = base64.b64encode(bytes([self.alg]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{material}"

    def check(self, text: str, signature: bytes) -> None:
        """Raise ``VerificationError`` unless ``signature`` signs the note ``text``."""
        message = text.encode()
        if self.alg == ALG_COSIGNATURE_V1:
            if len(signature) != 72:
                raise VerificationError(
                    f"expected a 72-byte cosignature by {self.name}, got {len(signature)} bytes"
                )
            message = cosignature_message(text, int.from_bytes(signature[:8], "big"))
            signature = signature[8:]
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            raise VerificationError(
                f"expected a valid signature by {self.name}+{self.key_id.hex()}, got an "
                "invalid one: the note text or the signature was altered",
                signer=self.name,
            ) from None


@dataclass(frozen=True)
class Signer:
    """A private Ed25519 key with its note key name; ``alg`` says how it signs."""

    name: str
    seed: bytes = field(repr=False)
    alg: int = ALG_ED25519
    key_id: bytes = field(init=False)
    public_key: bytes = field(init=False)
    _key: Ed25519PrivateKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not _valid_name(self.name):
            raise InvalidInput(
                f"key name {self.name!r} is empty or has a space or '+'",
                field="name",
                value=self.name,
                expected="a schema-less URL such as mics.example/log",
            )
        if len(self.seed) != 32 or self.alg not in ALGORITHMS:
            raise InvalidInput(
                "signer needs a 32-byte Ed25519 seed and type 0x01 or 0x04",
                field="seed",
                value=len(self.seed),
                expected="32 bytes",
            )
        key = Ed25519PrivateKey.from_private_bytes(self.seed)
        public_key = key.public_key().public_bytes_raw()
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "public_key", public_key)
        object.__setattr__(self, "key_id", key_id(self.name, self.alg, public_key))

    @classmethod
    def generate(cls, name: str, alg: int = ALG_ED25519) -> Signer:
        return cls(name, Ed25519PrivateKey.generate().private_bytes_raw(), alg)

    @classmethod
    def parse(cls, skey: str) -> Signer:
        """Read ``PRIVATE+KEY+name+hexkeyid+base64(type || seed)``."""
        parts = skey.split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise _bad_key("PRIVATE+KEY+...", "PRIVATE+KEY+name+hexkeyid+base64", "skey")
        material = _b64(parts[4])
        if material is None or len(material) != 33 or not _valid_name(parts[2]):
            raise _bad_key("PRIVATE+KEY+...", "base64 of type byte and 32-byte seed", "skey")
        signer = cls(parts[2], material[1:], material[0])
        if signer.key_id.hex() != parts[3]:
            raise _bad_key("PRIVATE+KEY+...", f"key ID {signer.key_id.hex()}", "skey")
        return signer

    @property
    def skey(self) -> str:
        material = base64.b64encode(bytes([self.alg]) + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{material}"

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, self.key_id, self.alg, self.public_key)

    def sign(self, message: bytes) -> bytes:
        """The raw 64-byte Ed25519 signature of ``message``."""
        return self._key.sign(message)


@dataclass(frozen=True)
class Note:
    """An opened note: its text and the signatures that verified or were unknown."""

    text: str
    verified: tuple[Signature, ...]
    unverified: tuple[Signature, ...]


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head (tlog-checkpoint): origin, size and root hash."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return format_checkpoint(self.origin, self.size, self.root_hash, self.extensions)


@dataclass(frozen=True)
class Cosignature:
    """A verified witness cosignature and the time it claims."""

    name: str
    key_id: bytes
    timestamp: int


def sign_note(text: str, *signers: Signer) -> str:
    """The note ``text`` followed by a blank line and one signature per signer."""
    _check_text(text)
    lines = []
    for signer in signers:
        if signer.alg != ALG_ED25519:
            raise InvalidInput(
                f"signer {signer.name} is a cosigner",
                field="signer",
                value=signer.name,
                expected="a type 0x01 signer; use cosign_note for witnesses",
            )
        lines.append(Signature(signer.name, signer.key_id, signer.sign(text.encode())).line)
    return text + "\n" + "".join(lines)


def cosignature_message(text: str, timestamp: int) -> bytes:
    """What a cosignature/v1 signs: header, time line, then the checkpoint text."""
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


def cosign_note(note: str, cosigner: Signer, timestamp: int) -> str:
    """``note`` with a cosignature/v1 line by ``cosigner`` at POSIX ``timestamp`` added.

    A witness calls this only after checking the log's signature and consistency.
    """
    if cosigner.alg != ALG_COSIGNATURE_V1 or not 0 <= timestamp < 2**63:
        raise InvalidInput(
            "cosigning needs a type 0x04 signer and a time in [0, 2**63)",
            field="cosigner",
            value=[cosigner.alg, timestamp],
            expected="Signer(name, seed, ALG_COSIGNATURE_V1) and a POSIX time",
        )
    text, signatures = parse_note(note)
    signed = timestamp.to_bytes(8, "big") + cosigner.sign(cosignature_message(text, timestamp))
    kept = [s for s in signatures if (s.name, s.key_id) != (cosigner.name, cosigner.key_id)]
    kept.append(Signature(cosigner.name, cosigner.key_id, signed))
    return text + "\n" + "".join(s.line for s in kept)


def parse_note(note: str | bytes) -> tuple[str, list[Signature]]:
    """Split a note into its text and signature lines, or raise ``InvalidInput``."""
    try:
        note = note.decode("utf-8") if isinstance(note, bytes) else note
        note.encode("utf-8")  # a str may still hold lone surrogates
    except UnicodeError:
        raise _malformed("it is not valid UTF-8") from None
    if _CONTROL.search(note):
        raise _malformed("it has control characters other than newline")
    split = note.rfind("\n\n")
    if split < 0:
        raise _malformed("there is no blank line before the signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block.endswith("\n"):
        raise _malformed("the signature block does not end with a newline")
    signatures = []
    for line in block[:-1].split("\n"):
        name, _, blob = line.removeprefix(SIGNATURE_PREFIX).partition(" ")
        raw = _b64(blob)
        if not line.startswith(SIGNATURE_PREFIX) or not _valid_name(name) or raw is None:
            raise _malformed(f"line {line[:60]!r} is not '— <name> <base64>'")
        if len(raw) < 5:
            raise _malformed(f"the signature of {name} is shorter than 5 bytes")
        signatures.append(Signature(name, raw[:4], raw[4:]))
    if len(signatures) > MAX_SIGNATURES:
        raise _malformed(f"it has {len(signatures)} signatures, more than {MAX_SIGNATURES}")
    return text, signatures


def open_note(note: str | bytes, verifiers: Iterable[Verifier]) -> Note:
    """Check a note's signatures: unknown keys are set aside, known ones must verify.

    Raises ``VerificationError`` if a known key's signature fails or none verifies.
    """
    text, verified, unverified = _sort_signatures(note, verifiers)
    if not verified:
        seen = ", ".join(f"{s.name}+{s.key_id.hex()}" for s in unverified) or "none"
        raise VerificationError(
            "expected a signature by a trusted key, got signatures by: "
            f"{seen}; check the verifier key",
        )
    return Note(text, tuple(verified), tuple(unverified))


def format_checkpoint(
    origin: str, size: int, root_hash: bytes, extensions: Sequence[str] = ()
) -> str:
    """The checkpoint note text: origin, decimal size, base64 root, extension lines."""
    for name, line in [("origin", origin), *(("extensions", e) for e in extensions)]:
        if not line or "\n" in line or _CONTROL.search(line):
            raise InvalidInput(
                f"{name} line {line!r} is empty or spans lines",
                field=name,
                value=line,
                expected="one non-empty line, e.g. mics.example/log",
            )
    if size < 0 or len(root_hash) != 32:
        raise InvalidInput(
            "checkpoint needs a size >= 0 and a 32-byte root hash",
            field="root_hash",
            value=[size, root_hash.hex()],
            expected="size >= 0, 32-byte SHA-256 root",
        )
    lines = [origin, str(size), base64.b64encode(root_hash).decode(), *extensions]
    return "\n".join(lines) + "\n"


def parse_checkpoint(text: str) -> Checkpoint:
    """Read a checkpoint note text (tlog-checkpoint "Note text")."""
    lines = text[:-1].split("\n") if text.endswith("\n") else []
    root = _b64(lines[2]) if len(lines) >= 3 else None
    if (
        len(lines) < 3
        or not lines[0]
        or not _SIZE.fullmatch(lines[1])
        or root is None
        or len(root) != 32
        or not all(lines[3:])
        or _CONTROL.search(text)
    ):
        raise InvalidInput(
            "checkpoint text is not origin, size, base64 root hash and extension lines",
            field="checkpoint",
            value=text[:200],
            expected="'<origin>\\n<decimal size>\\n<base64 32-byte root>\\n'",
        )
    return Checkpoint(lines[0], int(lines[1]), root, tuple(lines[3:]))


def open_checkpoint(note: str | bytes, verifier: Verifier, origin: str | None = None) -> Checkpoint:
    """A checkpoint signed by the log ``verifier`` (and for ``origin``, if given)."""
    checkpoint = parse_checkpoint(open_note(note, [verifier]).text)
    if origin is not None and checkpoint.origin != origin:
        raise VerificationError(
            f"expected checkpoint origin {origin!r}, got {checkpoint.origin!r}",
            field="origin",
        )
    return checkpoint


def verify_cosignatures(
    note: str | bytes, witnesses: Sequence[Verifier], quorum: int
) -> list[Cosignature]:
    """The witness cosignatures on ``note``; at least ``quorum`` must verify.

    ``witnesses`` are cosignature/v1 (type 0x04) verifiers; a cosignature from
    one of them that fails to verify rejects the note.
    """
    for witness in witnesses:
        if witness.alg != ALG_COSIGNATURE_V1:
            raise InvalidInput(
                f"witness {witness.name} is not a cosignature/v1 key",
                field="witnesses",
                value=witness.vkey,
                expected="a vkey of type 0x04 (tlog-cosignature Ed25519)",
            )
    _, verified, _ = _sort_signatures(note, witnesses)
    found = [
        Cosignature(s.name, s.key_id, int.from_bytes(s.signature[:8], "big")) for s in verified
    ]
    if len(found) < quorum:
        names = ", ".join(c.name for c in found) or "none"
        raise VerificationError(
            f"expected at least {quorum} of {len(witnesses)} witness cosignatures, "
            f"got {len(found)} ({names})",
            found=len(found),
            needed=quorum,
        )
    return found


def _sort_signatures(
    note: str | bytes, verifiers: Iterable[Verifier]
) -> tuple[str, list[Signature], list[Signature]]:
    text, signatures = parse_note(note)
    known: dict[tuple[str, bytes], Verifier] = {}
    for v in verifiers:
        other = known.setdefault((v.name, v.key_id), v)
        if other != v:
            raise InvalidInput(
                f"two different keys share name and ID {v.name}+{v.key_id.hex()}",
                field="verifiers",
                value=v.vkey,
                expected="one key per name and key ID",
            )
    verified: list[Signature] = []
    unverified: list[Signature] = []
    for signature in signatures:
        verifier = known.get((signature.name, signature.key_id))
        if verifier is None:
            if signature not in unverified:
                unverified.append(signature)
        elif all((s.name, s.key_id) != (signature.name, signature.key_id) for s in verified):
            verifier.check(text, signature.signature)
            verified.append(signature)
    return text, verified, unverified


def _check_text(text: str) -> None:
    if not text.endswith("\n") or _CONTROL.search(text):
        raise InvalidInput(
            "note text must end with a newline and have no control characters",
            field="text",
            value=text[:200],
            expected="UTF-8 lines, each ending in \\n",
        )


def _valid_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def _b64(blob: str) -> bytes | None:
    """Strict standard base64 (RFC 4648 §4): canonical, padded, or ``None``."""
    try:
        raw = base64.b64decode(blob, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if blob and base64.b64encode(raw).decode() == blob else None


def _malformed(reason: str) -> InvalidInput:
    return InvalidInput(
        f"malformed signed note: {reason}",
        field="note",
        expected="text, a blank line, then lines '— <key name> <base64 signature>'",
    )


def _bad_key(value: str, expected: str, kind: str = "vkey") -> InvalidInput:
    return InvalidInput(
        f"{kind} {value!r} is not a valid note key: expected {expected}",
        field=kind,
        value=value,
        expected=expected,
    )
