"""``/ledger``: the transparency log over HTTP (C2SP tlog-checkpoint, tlog-tiles, proofs).

Anyone may read: the checkpoint, the verifier key, tiles and proofs carry no
partner-private data (a leaf is an event hash, a record time and a partner id;
nothing in it names an item, which is what the passport keeps for authorities).
Checkpoints are served with every witness cosignature kept for them. Witnesses
(keys with role ``witness``) register their cosignature/v1 key with
``PUT /ledger/witness-key`` and send cosignatures with ``POST /ledger/cosignatures``;
``POST /ledger/checkpoint`` signs a tree head now (roles ``operator`` and
``witness``: each one is a stored, signed row, so not for anyone to ask for);
``GET /ledger/audit`` (role ``operator``) rebuilds the log from the events.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from mics.api.deps import (
    DatabaseDep,
    LogSignerDep,
    OperatorDep,
    SettingsDep,
    ViewerDep,
    WitnessDep,
)
from mics.api.openapi import media, problems
from mics.column_ranges import BigInt
from mics.errors import InvalidInput, NotFound
from mics.ledger.note import Signer
from mics.ledger.store import cosignatures, log
from mics.trace import proofs, query
from mics.trace.audit import audit

router = APIRouter(tags=["ledger"])
TreeSize = Annotated[BigInt, Field(ge=0, description="a tree size (leaves)")]
# c2sp.org/tlog-tiles: <L>/<N>[.p/<W>] or entries/<N>[.p/<W>], N in x-prefixed 3-digit groups
TilePath = Annotated[
    str,
    Path(
        pattern=r"^(entries|0|[1-9][0-9]?)/(x[0-9]{3}/)*[0-9]{3}(\.p/[1-9][0-9]{0,2})?$",
        description="a tile's path after tile/",
    ),
]
IMMUTABLE = "public, max-age=31536000, immutable"


def signer(request: Request) -> Signer:
    found: Signer = request.app.state.signer
    return found


@router.get("/ledger/checkpoint", response_class=PlainTextResponse)
def checkpoint(request: Request, db: DatabaseDep, settings: SettingsDep) -> PlainTextResponse:
    """The latest signed tree head (a new one at most every second when the log grew)."""
    row = log.latest_checkpoint(db, signer(request), settings.instance)
    note = cosignatures.note_with_cosignatures(db, row)
    return PlainTextResponse(note, headers={"Cache-Control": "no-cache"})


@router.post("/ledger/checkpoint", response_class=PlainTextResponse)
def checkpoint_now(
    request: Request, db: DatabaseDep, settings: SettingsDep, who: LogSignerDep
) -> PlainTextResponse:
    """Sign the current tree head now (on demand; an operator or witness key)."""
    row = log.checkpoint(db, signer(request), settings.instance)
    return PlainTextResponse(cosignatures.note_with_cosignatures(db, row))


@router.get("/ledger/checkpoints/{size}", response_class=PlainTextResponse)
def checkpoint_at(size: TreeSize, db: DatabaseDep) -> PlainTextResponse:
    """The checkpoint signed at tree size ``size``, with its cosignatures."""
    return PlainTextResponse(cosignatures.note_with_cosignatures(db, log.checkpoint_at(db, size)))


class WitnessKeyIn(BaseModel):
    vkey: str


class CosignatureIn(BaseModel):
    size: TreeSize
    cosignature: str


@router.put("/ledger/witness-key")
def witness_key(body: WitnessKeyIn, db: DatabaseDep, who: WitnessDep) -> dict[str, str]:
    """Register the caller's cosignature/v1 verifier key (role ``witness``; fixed for life)."""
    found = cosignatures.register_witness(db, who.partner, body.vkey)
    return {"partner": found.partner, "vkey": found.vkey}


@router.get("/ledger/witnesses")
def witness_keys(db: DatabaseDep) -> list[dict[str, str]]:
    """Registered witness keys (verifiers still choose whom to trust)."""
    return [{"partner": w.partner, "vkey": w.vkey} for w in cosignatures.witnesses(db)]


@router.post("/ledger/cosignatures", responses=problems(404))
def cosign(
    body: Annotated[CosignatureIn, Body()], db: DatabaseDep, who: WitnessDep
) -> dict[str, Any]:
    """A witness's cosignature line on the checkpoint of tree size ``size``, verified and kept."""
    line = cosignatures.add_cosignature(db, who.partner, body.size, body.cosignature)
    return {"size": body.size, "witness": who.partner, "cosignature": line}


@router.get("/ledger/audit", responses=problems(409))
async def audit_log(request: Request, db: DatabaseDep, who: OperatorDep) -> dict[str, Any]:
    """Rebuild every leaf and the tree from the events (role ``operator``); 409 on tampering."""
    report = await run_in_threadpool(audit, db, signer(request).verifier)
    return report.raise_for_tamper().as_json()


@router.get("/ledger/key", response_class=PlainTextResponse)
def key(request: Request) -> PlainTextResponse:
    """The log's note verifier string ``name+keyhash+base64key``."""
    return PlainTextResponse(signer(request).verifier.vkey + "\n")


@router.get("/ledger/tile/{path:path}", responses=media("application/octet-stream"))
def tile(path: TilePath, db: DatabaseDep) -> Response:
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


@router.get("/ledger/proof/inclusion", responses=problems(404))
def inclusion(
    db: DatabaseDep,
    leaf_hash: Annotated[str, Query(pattern="^[0-9a-fA-F]{64}$", description="a leaf hash")],
    tree_size: Annotated[TreeSize, Query(ge=1)],
) -> dict[str, Any]:
    return log.inclusion_by_hash(db, _hex(leaf_hash, "leaf_hash"), tree_size).as_json()


@router.get("/ledger/proof/consistency", responses=problems(404))
def consistency(
    db: DatabaseDep,
    first: Annotated[TreeSize, Query(ge=1)],
    second: Annotated[TreeSize, Query(ge=1)],
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
    return proofs.event_proof(db, signer(request), settings.instance, row)
