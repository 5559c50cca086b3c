"""A transparency-log witness: cosign a checkpoint only if it extends the last one cosigned.

Follows c2sp.org/tlog-witness, section "add-checkpoint". A witness keeps, per log
origin, the latest checkpoint it cosigned (:class:`WitnessState`). Given a new
signed checkpoint and an RFC 6962 §2.1.2 consistency proof from its old size it:

1. checks the log's signature with the log key it trusts (unknown keys are
   ignored; no valid signature → ``Forbidden``, 403);
2. checks that the request's old size is the size it last cosigned
   (``OldSizeMismatch``, 409, carrying the witness's size) and is not larger
   than the checkpoint's (``Rollback``, 400);
3. checks the consistency proof (``Fork``, 422), or, when the sizes are equal,
   that the roots are identical (``Fork``, 409);
4. cosigns with a cosignature/v1 key (c2sp.org/tlog-cosignature) and returns
   the new state with the cosignature line.

The request body format (``old <size>``, base64 proof lines, a blank line, the
note) is read by :func:`parse_request` and written by :func:`format_request`.
No I/O here: the caller persists the new state before answering (the spec
requires the check and the update to be atomic).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass

from mics.errors import Conflict, Forbidden, InvalidInput, VerificationError
from mics.ledger.merkle import verify_consistency
from mics.ledger.note import (
    ALG_COSIGNATURE_V1,
    Signer,
    Verifier,
    cosign_note,
    open_checkpoint,
    parse_note,
)

MAX_PROOF_LINES = 63  # tlog-witness: "MUST NOT send more than 63 consistency proof lines"
_OLD = re.compile(r"old (0|[1-9][0-9]{0,19})")


@dataclass(frozen=True)
class WitnessState:
    """The latest checkpoint a witness cosigned for one log origin."""

    origin: str
    size: int
    root_hash: bytes


@dataclass(frozen=True)
class Cosigned:
    """The result of a successful add-checkpoint: the new state and the cosignature line."""

    state: WitnessState
    line: str  # "— <witness name> <base64>\n"


class OldSizeMismatch(Conflict):
    """The request's old size is not the size the witness last cosigned (409)."""

    def __init__(self, old_size: int, latest_size: int) -> None:
        super().__init__(
            f"old size {old_size} does not match the latest size this witness cosigned, "
            f"{latest_size}: send a consistency proof from size {latest_size}",
            old_size=old_size,
            latest_size=latest_size,
        )
        self.latest_size = latest_size


class Rollback(InvalidInput):
    """A checkpoint smaller than one already cosigned: the log would lose leaves (400)."""

    status = 400
    title = "Rollback refused"


class Fork(VerificationError):
    """A checkpoint inconsistent with one already cosigned: a split view (422)."""


class SameSizeFork(Fork):
    """A checkpoint of the size already cosigned with another root (409)."""

    status = 409


def add_checkpoint(
    state: WitnessState | None,
    note: str,
    old_size: int,
    proof: Sequence[bytes],
    log_key: Verifier,
    cosigner: Signer,
    timestamp: int,
) -> Cosigned:
    """Check ``note`` against the witness's ``state`` and cosign it, or raise saying why."""
    if cosigner.alg != ALG_COSIGNATURE_V1:
        raise InvalidInput(
            f"witness key {cosigner.name} is not a cosignature/v1 key",
            field="cosigner",
            value=cosigner.alg,
            expected="a Signer with alg ALG_COSIGNATURE_V1 (0x04)",
        )
    try:
        checkpoint = open_checkpoint(note, log_key)
    except VerificationError as error:
        raise Forbidden(
            f"no signature by the trusted log key {log_key.vkey} on this checkpoint: {error}",
            field="checkpoint",
        ) from None
    if state is not None and state.origin != checkpoint.origin:
        raise InvalidInput(
            f"this witness state is for origin {state.origin!r}",
            field="origin",
            value=checkpoint.origin,
            expected=state.origin,
        )
    latest = state.size if state is not None else 0
    if old_size > checkpoint.size:
        raise Rollback(
            f"old size {old_size} is larger than the checkpoint size {checkpoint.size}: "
            "a log never shrinks",
            field="old",
            value=old_size,
            expected=f"at most {checkpoint.size}",
        )
    if old_size != latest:
        raise OldSizeMismatch(old_size, latest)
    if state is not None and old_size == checkpoint.size:
        if proof:
            raise InvalidInput(
                "a proof between equal sizes must be empty",
                field="proof",
                value=len(proof),
                expected="no proof lines",
            )
        if state.root_hash != checkpoint.root_hash:
            raise SameSizeFork(
                f"expected root {state.root_hash.hex()} at size {old_size} as cosigned before, "
                f"got {checkpoint.root_hash.hex()}: the log forked",
                size=old_size,
            )
    elif state is not None and old_size > 0:
        try:
            verify_consistency(
                old_size, checkpoint.size, list(proof), state.root_hash, checkpoint.root_hash
            )
        except VerificationError as error:
            raise Fork(
                f"checkpoint {checkpoint.size} is not consistent with size {old_size} "
                f"cosigned before: {error}",
                size=checkpoint.size,
                old_size=old_size,
            ) from None
    elif proof:
        raise InvalidInput(
            "the proof must be empty when the old size is zero",
            field="proof",
            value=len(proof),
            expected="no proof lines",
        )
    cosigned = cosign_note(note, cosigner, timestamp)
    _, signatures = parse_note(cosigned)
    mine = next(s for s in signatures if (s.name, s.key_id) == (cosigner.name, cosigner.key_id))
    new_state = WitnessState(checkpoint.origin, checkpoint.size, checkpoint.root_hash)
    return Cosigned(new_state, mine.line)


def format_request(old_size: int, proof: Sequence[bytes], note: str) -> str:
    """An add-checkpoint request body: ``old N``, proof lines, blank line, checkpoint note."""
    lines = [f"old {old_size}", *(base64.b64encode(h).decode() for h in proof)]
    return "\n".join(lines) + "\n\n" + note


def parse_request(body: str | bytes) -> tuple[int, list[bytes], str]:
    """Read an add-checkpoint request body into old size, proof hashes and the note."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    head, blank, note = text.partition("\n\n")
    lines = head.split("\n")
    match = _OLD.fullmatch(lines[0])
    if not blank or match is None:
        raise InvalidInput(
            "add-checkpoint body does not start with 'old <size>' lines and a blank line",
            field="body",
            value=text[:120],
            expected="'old <size>\\n', base64 proof lines, '\\n', then the checkpoint note",
        )
    proof = []
    for line in lines[1:]:
        try:
            raw = base64.b64decode(line, validate=True)
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise InvalidInput(
                "a consistency proof line is not a base64 32-byte hash",
                field="proof",
                value=line[:60],
                expected="44 characters of standard base64",
            )
        proof.append(raw)
    if len(proof) > MAX_PROOF_LINES:
        raise InvalidInput(
            f"{len(proof)} consistency proof lines",
            field="proof",
            value=len(proof),
            expected=f"at most {MAX_PROOF_LINES}",
        )
    return int(match.group(1)), proof, note
