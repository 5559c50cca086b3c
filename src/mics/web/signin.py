"""``/signin`` and ``/signout``: a partner, operator, repairer or authority pastes an API key
once; the browser keeps it sealed in an HttpOnly cookie (``mics.web.visitor``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mics import registry
from mics.api.deps import CAPTURERS, EVENT_READERS, READS_EVERY_EVENT, DatabaseDep
from mics.errors import NotFound, Unauthorized
from mics.registry.api_keys import authenticate
from mics.web.pages import templates
from mics.web.visitor import VisitorDep, clear_session, read_form, render, set_session

router = APIRouter(include_in_schema=False)

# What each role may do in the pages, in the words of README "Security: access model".
ROLE_POWERS = {
    "partner": "your own events and those naming you, capture, trace through your events",
    "operator": "every event and capture job, capture, trace through everything",
    "authority": "every event (market surveillance), capture recalls and inspections",
    "legitimate_interest": "passports at the legitimate-interest tier (repairers, recyclers); "
    "no events",
    "witness": "cosign checkpoints of the transparency log; no events",
}


def safe_next(target: str | None) -> str:
    """A local path to go to after signing in (never another site: no open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/events"
    return target


def _partner_name(db: DatabaseDep, partner: str) -> str:
    try:
        return registry.get_partner(db, partner).name
    except NotFound:
        return partner


@router.get("/signin", response_class=HTMLResponse)
def signin_page(
    request: Request, db: DatabaseDep, visitor: VisitorDep, next: str = ""
) -> HTMLResponse:
    return _page(request, db, visitor, next, None)


def _page(
    request: Request,
    db: DatabaseDep,
    visitor: VisitorDep,
    target: str,
    error: str | None,
    status: int = 200,
) -> HTMLResponse:
    principal = visitor.principal
    return render(
        templates,
        request,
        visitor,
        "signin.html",
        {
            "next": safe_next(target) if target else "",
            "error": error,
            "partner_name": _partner_name(db, principal.partner) if principal else "",
            "powers": ROLE_POWERS,
            "reads_events": principal is not None and principal.role in EVENT_READERS,
            "reads_all": principal is not None and principal.role in READS_EVERY_EVENT,
            "captures": principal is not None and principal.role in CAPTURERS,
        },
        status,
    )


@router.post("/signin", response_class=HTMLResponse)
async def signin(request: Request, db: DatabaseDep, visitor: VisitorDep) -> Response:
    form = await read_form(request, visitor)
    key = form.get("api_key", "").strip()
    try:
        authenticate(db, key or None)
    except Unauthorized as refused:
        return _page(request, db, visitor, form.get("next", ""), refused.message, 401)
    response = RedirectResponse(safe_next(form.get("next")), status_code=303)
    set_session(response, request, key)
    return response


@router.post("/signout")
async def signout(request: Request, visitor: VisitorDep) -> Response:
    await read_form(request, visitor)
    response = RedirectResponse("/signin", status_code=303)
    clear_session(response, request)
    return response
