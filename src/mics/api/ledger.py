"""``/ledger``: the transparency log over HTTP (C2SP tlog-checkpoint, tlog-tiles, proofs).

Anyone may read: the checkpoint, the verifier key, tiles and proofs carry no
partner-private data (a leaf is an event hash, a record time and a partner id).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import PlainTextResponse

from mics.api.deps import DatabaseDep, SettingsDep, ViewerDep
from mics.errors import InvalidInput, NotFound
from mics.ledger import log
from mics.ledger.note import Signer
from mics.trace import query

router = APIRouter(tags=["ledger"])
IMMUTABLE = "public, max-age=31536000, immutable"


def signer(request: Request) -> Signer:
    found: Signer = request.app.state.signer
    return found


@router.get("/ledger/checkpoint", response_class=PlainTextResponse)
def checkpoint(request: Request, db: DatabaseDep, settings: SettingsDep) -> PlainTextResponse:
    """The latest signed tree head (a new one at most every second when the log grew)."""
    row = log.latest_checkpoint(db, signer(request), settings.instance)
    return PlainTextResponse(row.note, headers={"Cache-Control": "no-cache"})


@router.post("/ledger/checkpoint", response_class=PlainTextResponse)
def checkpoint_now(request: Request, db: DatabaseDep, settings: SettingsDep) -> PlainTextResponse:
    """Sign the current tree head now (on demand)."""
    return PlainTextResponse(log.checkpoint(db, signer(request), settings.instance).note)


@router.get("/ledger/key", response_class=PlainTextResponse)
def key(request: Request) -> PlainTextResponse:
    """The log's note verifier string ``name+keyhash+base64key``."""
    return PlainTextResponse(signer(request).verifier.vkey + "\n")


@router.get("/ledger/tile/{path:path}")
def tile(path: str, db: DatabaseDep) -> Response:
    """C2SP tlog-tiles: hash tiles and entry bundles; full ones are immutable."""
    data, full = log.tile(db, "tile/" + path)
    cache = IMMUTABLE if full else "no-cache"
    return Response(data, media_type="application/octet-stream", headers={"Cache-Control": cache})


def _hex(value: str, field: str) -> bytes:
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise InvalidInput(
            "not a 32-byte hash in hex",
            field=field,
            value=value,
            expected="64 lowercase hex digits",
        )
    return raw


@router.get("/ledger/proof/inclusion")
def inclusion(
    db: DatabaseDep, leaf_hash: str, tree_size: Annotated[int, Query(ge=1)]
) -> dict[str, Any]:
    return log.inclusion_by_hash(db, _hex(leaf_hash, "leaf_hash"), tree_size).as_json()


@router.get("/ledger/proof/consistency")
def consistency(
    db: DatabaseDep, first: Annotated[int, Query(ge=1)], second: Annotated[int, Query(ge=1)]
) -> dict[str, Any]:
    hashes = log.consistency(db, first, second)
    return {"first": first, "second": second, "hashes": [h.hex() for h in hashes]}


@router.get("/epcis/events/{event_id:path}/proof")
def event_proof(
    event_id: str, request: Request, db: DatabaseDep, viewer: ViewerDep, settings: SettingsDep
) -> dict[str, Any]:
    """The event's leaf index, an inclusion proof and the checkpoint it is proven against."""
    row = query.get_event(db, event_id, viewer)
    if row is None:
        raise NotFound(f"no event {event_id!r} that you may see", field="eventID", value=event_id)
    signed = log.checkpoint(db, signer(request), settings.instance)
    proof = log.inclusion_by_event(db, row.id, signed.size)
    return proof.as_json() | {
        "event_id": row.event_id,
        "event_hash": row.event_hash,
        "checkpoint": signed.note,
    }
