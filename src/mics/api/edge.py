"""Text no database column can hold is refused at the edge, for every route, before routing.

PostgreSQL stores no NUL character (U+0000) in text and psycopg cannot send an
unpaired UTF-16 surrogate; SQLite stores both. A NUL in a path segment, a query
parameter or a header used to answer 500 on PostgreSQL and 404 or 200 on SQLite.
:func:`guard` (called by ``MicsApp`` for every HTTP request, tag scans included)
answers such a request with one 422 problem naming where the character was:

- the path parameter (or ``path``), query parameter or header that holds a NUL;
- a request body holding a NUL byte; a JSON body (or one without a content type,
  which FastAPI reads as JSON) holding a ``\\u0000`` escape or an unpaired
  surrogate escape (I-JSON, RFC 7493 §2.1, forbids those), with its byte offset.
  Bodies are checked as they stream in (a capture may be 512 MB): the app sees
  the chunks as they come, and when a bad one arrives its reading fails and the
  edge's problem replaces whatever the app would have answered. XML bodies are
  left to the XML parser, which refuses U+0000 (XML 1.0 §2.2) and reads UTF-16.

Integer inputs are bounded by their types (:mod:`mics.column_ranges`).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mics.api.problems import matching_routes, problem_response
from mics.errors import InvalidInput

__all__ = ["guard"]

NUL = "\x00"
EXPECTED = "text without NUL characters (U+0000) or unpaired surrogates"
# A JSON body, token by token: an escaped backslash (skipped, so that "\\u0000" as text is
# no escape), a \u0000 escape, a surrogate pair (fine), an unpaired surrogate, a NUL byte.
_JSON_TOKENS = re.compile(
    rb"\\\\"
    rb"|(?P<nul>\\u0000|\x00)"
    rb"|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"
    rb"|(?P<lone>\\u[dD][89a-fA-F][0-9a-fA-F]{2})"
)
_LONGEST = 12  # bytes of the longest token: a surrogate pair


async def guard(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Run ``app`` for the request unless its path, query, headers or body hold such text."""
    if scope["type"] != "http":
        await app(scope, receive, send)
        return
    refused = _refusal(scope)
    if refused is not None:
        await _answer(scope, send, refused)
        return
    scanner = _body_scanner(scope)
    if scanner is None:
        await app(scope, receive, send)
        return
    found: list[InvalidInput] = []
    started = False

    async def checked_receive() -> Message:
        message = await receive()
        if message["type"] == "http.request" and not found:
            problem = scanner.feed(message.get("body", b""), not message.get("more_body"))
            if problem is not None:
                found.append(problem)
        if found:
            raise found[0]  # the app stops reading; the edge answers
        return message

    async def checked_send(message: Message) -> None:
        nonlocal started
        if found and not started:
            return  # the app's answer to a body it could not read: the edge's replaces it
        started = True
        await send(message)

    try:
        await app(scope, checked_receive, checked_send)
    except InvalidInput as error:
        if not found or error is not found[0]:
            raise
    if found and not started:
        await _answer(scope, send, found[0])


async def _answer(scope: Scope, send: Send, error: InvalidInput) -> None:
    body = error.problem()
    body["instance"] = scope.get("path", "")
    response = problem_response(body)

    async def nothing() -> Message:
        return {"type": "http.disconnect"}

    await response(scope, nothing, send)


def _refusal(scope: Scope) -> InvalidInput | None:
    """The first NUL in the path, the query or a header, as a problem; cheap when none."""
    path: str = scope.get("path", "")
    if NUL in path:
        name, value = _path_parameter(scope)
        return InvalidInput("holds a NUL character", field=name, value=value, expected=EXPECTED)
    query: bytes = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if NUL in name or NUL in value:
                return InvalidInput(
                    "holds a NUL character",
                    field=name if NUL not in name else "query",
                    value=value if NUL not in name else name,
                    expected=EXPECTED,
                )
    for name, value in scope.get("headers", ()):
        if b"\x00" in value or b"\x00" in name:
            # the value is not echoed: it may be a key
            return InvalidInput(
                "holds a NUL character",
                field=name.decode("latin-1").replace(NUL, "\\0"),
                expected=EXPECTED,
            )
    return None


def _path_parameter(scope: Scope) -> tuple[str, str]:
    """Which route parameter of the path holds the NUL (``path`` when no route matches).

    Only on this refusal's path: the routes are walked the way the router would."""
    for _, child in matching_routes(scope):
        for name, value in child.get("path_params", {}).items():
            if isinstance(value, str) and NUL in value:
                return name, value
    return "path", scope["path"]


class _Scanner:
    """Feeds a body's chunks through ``_JSON_TOKENS`` (or a NUL-byte search), carrying
    the last few bytes over so that a token split between chunks is still seen."""

    def __init__(self, json: bool) -> None:
        self.json = json
        self.carry = b""
        self.offset = 0  # body offset of ``carry``'s first byte

    def feed(self, chunk: bytes, last: bool) -> InvalidInput | None:
        if not self.json:
            at = chunk.find(b"\x00")
            problem = None if at < 0 else self._problem(self.offset + at, "a NUL byte")
            self.offset += len(chunk)
            return problem
        buffer = self.carry + chunk
        safe = len(buffer) if last else max(len(buffer) - (_LONGEST - 1), 0)
        if b"\\u" not in buffer and b"\x00" not in buffer:
            # the common case, at memchr speed: no escape to look at. The carry must not
            # start inside an escaped backslash: an odd run of them before ``safe`` opens one.
            head = buffer[:safe]
            resume = safe - (len(head) - len(head.rstrip(b"\\"))) % 2
            self.carry = buffer[resume:]
            self.offset += resume
            return None
        resume = safe
        for match in _JSON_TOKENS.finditer(buffer):
            if match.start() >= safe:
                break
            resume = max(safe, match.end())
            if match["nul"]:
                kind = "a NUL byte" if match["nul"] == b"\x00" else "a \\u0000 escape"
                return self._problem(self.offset + match.start(), kind)
            if match["lone"]:
                return self._problem(self.offset + match.start(), "an unpaired surrogate escape")
        self.carry = buffer[resume:]
        self.offset += resume
        return None

    def _problem(self, at: int, what: str) -> InvalidInput:
        return InvalidInput(
            f"holds {what} at byte {at}",
            field="body",
            value=at,
            expected=EXPECTED,
        )


def _body_scanner(scope: Scope) -> _Scanner | None:
    """How to check this request's body: JSON tokens, NUL bytes, or not at all (XML)."""
    if scope.get("method") in ("GET", "HEAD", "OPTIONS"):
        return None
    content_type = ""
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            content_type = value.decode("latin-1").split(";")[0].strip().lower()
    if content_type.endswith(("/xml", "+xml")):
        return None
    json = content_type in ("", "application/json") or content_type.endswith("+json")
    return _Scanner(json)
