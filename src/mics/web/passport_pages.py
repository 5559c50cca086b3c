"""The passport web page: mobile-first HTML in Italian or English.

``passport_page`` is what a phone shows after scanning the item's QR code or
NFC tag: an authenticity banner (from the scan just made, else the last
recorded verdict, and the owner's lost/stolen report), the product and its
maker, materials, the provenance timeline, the footprint bar and MCI, repair
and recycling guidance. The language comes from ``?lang=`` or the browser's
``Accept-Language`` (RFC 9110 §12.5.4), English by default.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from mics.db import Database
from mics.passport.languages import LANGUAGES
from mics.passport.view import passport_json, strings
from mics.web import templates_dir
from mics.web.negotiation import preferred_language

templates = Jinja2Templates(directory=templates_dir())
BANNERS = {  # verdict -> (css class, text key)
    "authentic": ("ok", "authentic"),
    "not_authentic": ("bad", "not_authentic"),
    "replay": ("warn", "replay"),
    "possible_clone": ("bad", "possible_clone"),
    "stolen": ("bad", "lost_or_stolen"),
    "lost": ("bad", "lost_or_stolen"),
}
STAGE_COLOURS = ("#2f6f4e", "#4f9a6d", "#8cc084", "#d9b44a", "#c0703a", "#7d5ba6")


def choose_language(request: Request) -> str:
    """``?lang=`` when it names a language we have, else the best Accept-Language match."""
    asked = request.query_params.get("lang", "")
    if asked in LANGUAGES:
        return asked
    return preferred_language(request.headers.get("accept-language"), LANGUAGES) or "en"


def banner(passport: dict[str, Any], scan: dict[str, Any] | None) -> dict[str, Any]:
    """Class, title and detail of the authenticity banner."""
    ownership = passport.get("ownership") or {}
    last = passport.get("authenticity") or {}
    verdict = (scan or {}).get("verdict") or last.get("verdict")
    if ownership.get("lostOrStolen"):
        verdict = ownership.get("report") or "lost"
    css, key = BANNERS.get(str(verdict), ("neutral", "unverified"))
    return {
        "css": css,
        "key": key,
        "verdict": verdict or "unverified",
        "checked_at": None if scan else last.get("checkedAt"),
        "reason": (scan or {}).get("reason"),
    }


def footprint_bar(footprint: dict[str, Any]) -> list[dict[str, Any]]:
    """Stacked bar segments (share of the total, colour) by life-cycle stage."""
    stages = footprint.get("byStage") or {}
    total = sum(max(float(v), 0.0) for v in stages.values()) or 1.0
    return [
        {
            "stage": stage,
            "value": float(value),
            "share": max(float(value), 0.0) / total,
            "colour": STAGE_COLOURS[i % len(STAGE_COLOURS)],
        }
        for i, (stage, value) in enumerate(stages.items())
    ]


def passport_page(
    request: Request,
    db: Database,
    gtin: str,
    serial: str | None,
    lot: str | None,
    scan: dict[str, Any] | None,
) -> HTMLResponse:
    """The public passport as a mobile-first HTML page."""
    lang = choose_language(request)
    base_url = request.app.state.settings.base_url
    passport = passport_json(db, gtin, serial, lot, tier="public", lang=lang, base_url=base_url)
    path = request.url.path
    return templates.TemplateResponse(
        request,
        "passport.html",
        {
            "p": passport,
            "t": strings(lang),
            "lang": lang,
            "banner": banner(passport, scan),
            "bar": footprint_bar(passport.get("footprint") or {}),
            "json_url": f"/api/passport/{passport['product']['gtin']}"
            + (f"/{passport['product']['serial']}" if passport["product"].get("serial") else ""),
            "other_lang": [(code, f"{path}?lang={code}") for code in LANGUAGES if code != lang],
        },
        headers={"Content-Language": lang, "Vary": "Accept-Language"},
    )
