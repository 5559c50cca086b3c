"""Who is looking at a page: the signed-in key's partner and role, the session cookie, CSRF.

A visitor signs in once at ``/signin`` with an API key (``mics.web.signin``). The key
is kept in the ``mics_session`` cookie *sealed*: AES-256-GCM (NIST SP 800-38D) under
``$MICS_HOME/web-session.key`` with the time it was sealed, so the cookie is no bearer
key for the API and stops working after ``SESSION_SECONDS``. The cookie is HttpOnly,
SameSite=Strict (RFC 6265bis §4.1.2.7) and Secure when the page came over HTTPS. Every
request opens it and authenticates the key again (``registry.api_keys.authenticate``): a
revoked or expired key signs its visitor out at once.

What a visitor may see is what the API lets the same key see: pages call
``mics.api.deps`` (``event_viewer``, ``reader_tier``, the role lists) - one set of rules.
A request with ``Authorization: Bearer`` is read as the API reads it.

Forms that change state carry a CSRF token (OWASP CSRF Prevention Cheat Sheet, "signed
double-submit cookie"): an HMAC-SHA256 (RFC 2104) of the random ``mics_csrf`` cookie
under the session key; a form whose token does not match, or that comes from another
origin (``Origin`` header, RFC 6454), is refused with 403.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from mics.api.deps import get_db, get_principal
from mics.errors import Forbidden, InvalidInput, TooLarge, Unauthorized
from mics.registry.api_keys import Principal, authenticate
from mics.secret_file import create_once, read_private

KEY_FILE = "web-session.key"
SESSION_COOKIE = "mics_session"
CSRF_COOKIE = "mics_csrf"
CSRF_FIELD = "csrf"
SESSION_SECONDS = 8 * 3600  # a working day; then the key is pasted again
NONCE_BYTES = 12  # SP 800-38D §8.2.2: random 96-bit nonces
ASSOCIATED = b"mics-web-session/v1"
MAX_FORM_BYTES = 16 * 1024 * 1024  # larger EPCIS documents go to POST /epcis/capture
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class SessionSeal:
    """Seals an API key into a cookie value and opens it again (key never in a repr)."""

    key: bytes = field(repr=False)

    def seal(self, api_key: str, now: float | None = None) -> str:
        payload = json.dumps({"k": api_key, "t": int(now if now is not None else time.time())})
        nonce = secrets.token_bytes(NONCE_BYTES)
        box = AESGCM(self.key).encrypt(nonce, payload.encode(), ASSOCIATED)
        return base64.urlsafe_b64encode(nonce + box).decode().rstrip("=")

    def open(self, cookie: str, now: float | None = None) -> str | None:
        """The API key in ``cookie``; None when it does not open or is too old."""
        try:
            raw = base64.urlsafe_b64decode(cookie + "=" * (-len(cookie) % 4))
            payload = AESGCM(self.key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], ASSOCIATED)
            data = json.loads(payload)
            sealed_at, api_key = int(data["t"]), str(data["k"])
        except (ValueError, InvalidTag, KeyError, TypeError):
            return None
        age = (now if now is not None else time.time()) - sealed_at
        return api_key if 0 <= age < SESSION_SECONDS else None

    def csrf_token(self, csrf_cookie: str) -> str:
        return hmac.new(self.key, b"csrf\0" + csrf_cookie.encode(), hashlib.sha256).hexdigest()


def load_or_create_session_seal(home: Path) -> SessionSeal:
    """The session key under ``home`` (owner-only; made once by ``mics.secret_file``)."""
    path = home / KEY_FILE
    if not path.exists():
        create_once(path, base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
    return SessionSeal(base64.b64decode(read_private(path).strip()))


@dataclass(frozen=True)
class Visitor:
    """The person at the browser: a principal when signed in, and their form token."""

    principal: Principal | None
    csrf: str  # the token forms of this page carry
    new_csrf_cookie: str | None = None  # set on the response when the browser had none
    by_header: bool = False  # came with Authorization: Bearer (API clients, tests)

    @property
    def signed_in(self) -> bool:
        return self.principal is not None

    @property
    def role(self) -> str | None:
        return self.principal.role if self.principal else None

    def require(self) -> Principal:
        """The principal, or 401 asking to sign in."""
        if self.principal is None:
            raise Unauthorized("sign in with an API key at /signin to see this page")
        return self.principal


def session_seal(request: Request) -> SessionSeal:
    seal: SessionSeal = request.app.state.web_session
    return seal


def get_visitor(request: Request) -> Visitor:
    """The visitor of this request (a bad Bearer key is 401, a stale cookie signs out)."""
    seal = session_seal(request)
    csrf_cookie = request.cookies.get(CSRF_COOKIE) or ""
    fresh = None
    if len(csrf_cookie) < 32:
        fresh = csrf_cookie = secrets.token_urlsafe(32)
    token = seal.csrf_token(csrf_cookie)
    if "authorization" in request.headers:
        return Visitor(get_principal(request), token, fresh, by_header=True)
    principal = None
    api_key = seal.open(request.cookies.get(SESSION_COOKIE) or "")
    if api_key is not None:
        try:
            principal = authenticate(get_db(request), api_key)
        except Unauthorized:  # revoked or expired since signing in: signed out
            principal = None
    return Visitor(principal, token, fresh)


VisitorDep = Annotated[Visitor, Depends(get_visitor)]


async def read_form(request: Request, visitor: Visitor) -> dict[str, str]:
    """The fields of a POSTed form after its CSRF token and origin are checked."""
    if visitor.new_csrf_cookie is not None:  # no form of ours was loaded in this browser
        raise _forged()
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}"
    if origin is not None and origin != own:
        raise Forbidden(
            f"a form from {origin} may not change anything here",
            field="Origin",
            value=origin,
            expected=own,
        )
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != FORM:
        raise InvalidInput(
            "a page form must be sent form-encoded",
            field="Content-Type",
            value=kind,
            expected=FORM,
        )
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise TooLarge(
                "the form is larger than a page accepts",
                field="body",
                value=len(body),
                expected=f"at most {MAX_FORM_BYTES} bytes (larger documents: POST /epcis/capture)",
            )
    try:
        fields = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=50))
    except (UnicodeDecodeError, ValueError) as error:
        raise InvalidInput(
            "the form is not valid form-encoded UTF-8", field="body", expected=FORM
        ) from error
    if not hmac.compare_digest(fields.pop(CSRF_FIELD, ""), visitor.csrf):
        raise _forged()
    return fields


def _forged() -> Forbidden:
    return Forbidden(
        "the form's CSRF token does not match this browser's: reload the page and "
        "send the form again",
        field=CSRF_FIELD,
    )


def set_session(response: Response, request: Request, api_key: str) -> None:
    """Sign the browser in: the sealed key, and a new CSRF cookie (no fixation)."""
    secure = request.url.scheme == "https"
    sealed = session_seal(request).seal(api_key)
    for name, value in ((SESSION_COOKIE, sealed), (CSRF_COOKIE, secrets.token_urlsafe(32))):
        response.set_cookie(
            name,
            value,
            max_age=SESSION_SECONDS,
            path="/",
            secure=secure,
            httponly=True,
            samesite="strict",
        )


def clear_session(response: Response, request: Request) -> None:
    secure = request.url.scheme == "https"
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=secure, httponly=True, samesite="strict"
    )


def render(
    templates: Jinja2Templates,
    request: Request,
    visitor: Visitor,
    name: str,
    context: dict[str, Any],
    status_code: int = 200,
) -> HTMLResponse:
    """The template ``name`` with the visitor in its context (and its CSRF cookie if new)."""
    response = templates.TemplateResponse(
        request, name, {"visitor": visitor, **context}, status_code=status_code
    )
    if visitor.new_csrf_cookie is not None:
        response.set_cookie(
            CSRF_COOKIE,
            visitor.new_csrf_cookie,
            max_age=SESSION_SECONDS,
            path="/",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
    return response
