"""``/log``: the transparency log in the browser, verified there rather than believed.

The page shows the latest checkpoint (c2sp.org/tlog-checkpoint) with its witnesses'
cosignatures (c2sp.org/tlog-cosignature), the tree size over time, and two forms whose
checks run in the browser (``static/log-verify.js``, plain JavaScript and WebCrypto):

- an event's inclusion proof (RFC 9162 §2.1.3.2) against the checkpoint it carries,
  whose signed note (c2sp.org/signed-note, Ed25519) is checked with the log's published
  key - the key field can be replaced by one obtained elsewhere;
- consistency between two checkpoints (RFC 9162 §2.1.4.2), both notes checked the same way.

The server only hands over data (the proof, ``/ledger/checkpoints/{size}``,
``/ledger/proof/consistency``); the verdict is computed by the page.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from mics.api.deps import DatabaseDep, SettingsDep, event_viewer
from mics.errors import MicsError
from mics.ledger.note import Signer, Verifier, parse_checkpoint, parse_note
from mics.ledger.store import cosignatures, log
from mics.ledger.store.history import SignedSize, checkpoint_history
from mics.trace import proofs, query
from mics.web.pages import templates
from mics.web.visitor import Visitor, VisitorDep, render

router = APIRouter(include_in_schema=False)
CHART_WIDTH, CHART_HEIGHT = 600, 160


def _signer(request: Request) -> Signer:
    found: Signer = request.app.state.signer
    return found


def witness_rows(db: DatabaseDep, note: str) -> list[dict[str, Any]]:
    """Each registered witness and whether (and when) it cosigned ``note``."""
    _text, signatures = parse_note(note)
    rows = []
    for witness in cosignatures.witnesses(db):
        key = Verifier.parse(witness.vkey)
        line = next((s for s in signatures if (s.name, s.key_id) == (key.name, key.key_id)), None)
        rows.append(
            {
                "partner": witness.partner,
                "name": key.name,
                "vkey": witness.vkey,
                "cosigned_at": int.from_bytes(line.signature[:8], "big") if line else None,
            }
        )
    return rows


def size_chart(history: list[SignedSize]) -> Markup:
    """The tree size at each checkpoint, as an SVG step line (checkpoints in signing order)."""
    if len(history) < 2:
        return Markup("")
    top = max(h.size for h in history) or 1
    step = CHART_WIDTH / (len(history) - 1)
    points: list[str] = []
    for i, h in enumerate(history):
        y = CHART_HEIGHT - 20 - (CHART_HEIGHT - 30) * h.size / top
        if points:
            points.append(f"{i * step:.1f},{points[-1].split(',')[1]}")
        points.append(f"{i * step:.1f},{y:.1f}")
    first, last = history[0], history[-1]
    return Markup(
        f'<svg class="size-chart" viewBox="-40 0 {CHART_WIDTH + 50} {CHART_HEIGHT}" role="img" '
        f'aria-label="tree size over time" xmlns="http://www.w3.org/2000/svg">'
        f'<polyline points="{" ".join(points)}"/>'
        f'<text x="-36" y="14">{top}</text><text x="-36" y="{CHART_HEIGHT - 20}">0</text>'
        f'<text x="0" y="{CHART_HEIGHT - 4}">{first.signed_at:%Y-%m-%d %H:%M} UTC</text>'
        f'<text x="{CHART_WIDTH}" y="{CHART_HEIGHT - 4}" text-anchor="end">'
        f"{last.signed_at:%Y-%m-%d %H:%M} UTC</text></svg>"
    )


def _event_proof(
    request: Request, db: DatabaseDep, settings: SettingsDep, visitor: Visitor, event_id: str
) -> tuple[str, str, str | None]:
    """(proof JSON, event hash, why there is none) for ``event_id`` as the visitor may see it."""
    if not event_id:
        return "", "", None
    if visitor.principal is None:
        return "", "", "Sign in to load this event's proof, or paste a proof below."
    try:
        row = query.get_event(db, event_id, event_viewer(db, visitor.principal))
    except MicsError as refused:
        return "", "", refused.message
    if row is None:
        return "", "", f"No event {event_id!r} that your key may see."
    proof = proofs.event_proof(db, _signer(request), settings.instance, row)
    return json.dumps(proof, indent=2, ensure_ascii=False), row.event_hash, None


@router.get("/log", response_class=HTMLResponse)
def log_page(
    request: Request,
    db: DatabaseDep,
    settings: SettingsDep,
    visitor: VisitorDep,
    event: str = "",
) -> HTMLResponse:
    signer = _signer(request)
    latest = log.latest_checkpoint(db, signer, settings.instance)
    note = cosignatures.note_with_cosignatures(db, latest)
    text, _signatures = parse_note(note)
    history = checkpoint_history(db)
    sizes = [h.size for h in history if h.size > 0]  # signed sizes a consistency proof joins
    proof, event_hash, proof_problem = _event_proof(request, db, settings, visitor, event)
    return render(
        templates,
        request,
        visitor,
        "log.html",
        {
            "note": note,
            "checkpoint": parse_checkpoint(text),
            "signed_at": latest.created_at,
            "witnesses": witness_rows(db, note),
            "history": history[-10:][::-1],
            "chart": size_chart(history),
            "vkey": signer.verifier.vkey,
            "event": event,
            "proof": proof,
            "event_hash": event_hash,
            "proof_problem": proof_problem,
            "sizes": sizes,
            "first": sizes[0] if sizes else 0,
            "second": latest.size,
        },
    )
