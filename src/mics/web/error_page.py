"""Errors as pages: what a shopper sees after scanning a damaged code.

Browsers (an Accept header that ranks HTML first) asking for a page get the
problem as an HTML page in the passport's style and language; machines keep
``application/problem+json`` (RFC 9457). The API's own paths always answer
problem+json, whatever the Accept header.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from mics.passport.languages import LANGUAGES
from mics.passport.view import strings
from mics.web import templates_dir
from mics.web.negotiation import prefers_html
from mics.web.passport_pages import choose_language

templates = Jinja2Templates(directory=templates_dir())

# Paths whose answers are for machines: problem+json even to a browser.
MACHINE_PATHS = (
    "/api/",
    "/epcis",
    "/ledger",
    "/openapi.json",
    "/health",
    "/.well-known",
    "/static",
)
SCAN_PATHS = ("/01/", "/passport/01/", "/products/")


def wants_page(request: Request) -> bool:
    """Whether this request is a browser asking for a page (not the API)."""
    path = request.url.path
    return not path.startswith(MACHINE_PATHS) and prefers_html(request.headers.get("accept"))


def error_page(
    request: Request, problem: dict[str, Any], headers: dict[str, str] | None = None
) -> HTMLResponse:
    """The problem document ``problem`` as a page, with its status code and headers."""
    status = int(problem["status"])
    lang = choose_language(request)
    text = strings(lang)
    heading = text.get(f"error_{status}") or text["error_500" if status >= 500 else "error_400"]
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    other = [
        (code, f"{request.url.path}?{urlencode([*query, ('lang', code)])}")
        for code in LANGUAGES
        if code != lang
    ]
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "t": text,
            "lang": lang,
            "status": status,
            "heading": heading,
            "detail": problem.get("detail") or problem.get("title", ""),
            "scan_path": request.url.path.startswith(SCAN_PATHS),
            "other_lang": other,
        },
        status_code=status,
        headers={**(headers or {}), "Content-Language": lang, "Vary": "Accept, Accept-Language"},
    )
