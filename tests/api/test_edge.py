"""Input no column can hold is a 422 naming where it was, alike on SQLite and PostgreSQL.

Integers beyond a column's range and NUL characters (or unpaired surrogates) in a path,
a query parameter, a header or a JSON body used to answer 500 on PostgreSQL and 404 or
200 on SQLite (issue 13). ``mics.api.edge`` and ``mics.column_ranges`` refuse them
before any statement runs, for every route.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from tests.support import app_client, epcis_document

from mics.api import create_app
from mics.config import Settings
from mics.db import Database
from mics.registry.api_keys import create_key
from mics.trace.store import EventRow, NamedQueryRow

pytestmark = pytest.mark.anyio
BIG32, BIG64 = 2**31, 2**63
JSON = {"content-type": "application/json"}


@pytest.fixture
async def client(demo_db: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client holding the operator's key; errors inside the app come back as 500s."""
    async with app_client(demo_db, tmp_path / "var", raise_app_exceptions=False) as c:
        c.headers["authorization"] = "Bearer " + create_key(demo_db, "mics-operator", "operator")
        yield c


def _token(after: list[Any]) -> str:
    raw = json.dumps({"q": {}, "after": after}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# (method, path, JSON body or None, the field the 422 names)
REFUSED: list[tuple[str, str, Any, str]] = [
    ("GET", f"/api/items/{BIG32}", None, "item_id"),
    ("GET", f"/api/items/{BIG32}/passport", None, "item_id"),
    ("GET", f"/api/items/{BIG32}/qr.svg", None, "item_id"),
    ("GET", "/api/partners?spoke=99999999999", None, "spoke"),
    ("GET", f"/api/projects?spoke={BIG32}", None, "spoke"),
    ("GET", f"/ledger/checkpoints/{BIG64}", None, "size"),
    ("GET", f"/ledger/checkpoints/{2**53}", None, "size"),
    ("GET", f"/ledger/proof/consistency?first=1&second={BIG64}", None, "second"),
    ("GET", f"/epcis/events?nextPageToken={_token([BIG64])}", None, "nextPageToken"),
    ("POST", "/ledger/cosignatures", {"size": BIG64, "cosignature": "x"}, "size"),
    ("PATCH", "/api/partners/segheria-cadore", {"spokes": [BIG32]}, "spokes.0"),
    ("GET", "/api/partners/x%00y", None, "partner_id"),
    ("GET", "/api/partners?q=a%00b", None, "q"),
    ("GET", "/epcis/events?EQ_bizStep=a%00b", None, "EQ_bizStep"),
    ("GET", "/epcis/queries/a%00b/events", None, "name"),
    ("GET", "/api/trace/urn:epc:id:sgtin:0614141.107346.20%00/upstream", None, "epc"),
    ("GET", "/01/08012345000012/21/AUR0001?e=00&c=00&rp=a%00", None, "rp"),
    ("POST", "/epcis/queries", {"name": "q1", "query": {"EQ_bizStep": "a\x00b"}}, "body"),
    ("PATCH", "/api/partners/segheria-cadore", {"city": "Bel\x00luno"}, "body"),
    ("POST", "/api/items", {"product": "sedia-quercia", "serial": "S\x00"}, "body"),
    ("PATCH", "/api/partners/segheria-cadore", {"city": "\ud800"}, "body"),
]


async def test_out_of_range_integers_and_nul_text_are_422_naming_the_field(
    client: httpx.AsyncClient, demo_db: Database
) -> None:
    # cosignatures are a witness's to send (the role is checked before the body)
    witness = {"authorization": "Bearer " + create_key(demo_db, "mics-operator", "witness")}
    wrong: list[tuple[str, str, object, object]] = []
    for method, path, body, field in REFUSED:
        content = None if body is None else json.dumps(body).encode()
        headers = JSON | witness if path == "/ledger/cosignatures" else JSON
        response = await client.request(method, path, content=content, headers=headers)
        found = response.json() if response.status_code < 500 else {}
        if (response.status_code, found.get("field")) != (422, field):
            wrong.append((method, path, response.status_code, found.get("field")))
        elif response.headers["content-type"] != "application/problem+json":
            wrong.append((method, path, "content-type", response.headers["content-type"]))
    assert wrong == []


async def test_a_nul_in_a_header_is_refused_without_echoing_it(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(
        "/epcis/queries", headers={"authorization": "Bearer mics_ab\x00cd_secret"}
    )
    assert (response.status_code, response.json()["field"]) == (422, "authorization")
    assert "secret" not in response.text


async def test_text_that_only_looks_like_an_escape_is_kept(client: httpx.AsyncClient) -> None:
    # "\\u0000" in JSON is a backslash and five characters, and a surrogate pair is one emoji
    city = "C:\\u0000 \U0001f332"
    content = json.dumps({"city": city}).encode()
    assert b"\\\\u0000" in content
    patched = await client.patch("/api/partners/segheria-cadore", content=content, headers=JSON)
    assert patched.status_code == 200, patched.text
    assert (await client.get("/api/partners/segheria-cadore")).json()["city"] == city


async def test_a_nul_split_between_body_chunks_stops_the_capture(
    client: httpx.AsyncClient, demo_db: Database
) -> None:
    event = {
        "type": "ObjectEvent",
        "eventTime": "2026-03-01T10:00:00.000+01:00",
        "eventTimeZoneOffset": "+01:00",
        "epcList": ["https://id.gs1.org/01/08012345000012/21/NUL1"],
        "action": "OBSERVE",
        "bizStep": "inspecting",
        "example:note": "a\x00b",
    }
    document = json.dumps(
        epcis_document([event], **{"@context": [{"example": "https://ex.example/"}]})
    ).encode()
    cut = document.index(b"\\u0000") + 3  # "\\u0" | "000"

    async def chunks() -> AsyncIterator[bytes]:
        yield document[:cut]
        yield document[cut:]

    with demo_db.read() as s:
        before = s.scalar(select(func.count()).select_from(EventRow))
    response = await client.post(
        "/epcis/capture", content=chunks(), headers={"content-type": "application/ld+json"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "body"
    assert response.json()["value"] == cut - 3
    with demo_db.read() as s:
        assert s.scalar(select(func.count()).select_from(EventRow)) == before
        assert s.scalar(select(func.count()).select_from(NamedQueryRow)) == 0


def _integers(node: Any, doc: dict[str, Any], where: str, seen: set[str]) -> list[tuple[str, Any]]:
    """Every integer schema reachable from ``node`` (``$ref`` followed once), with its path."""
    found: list[tuple[str, Any]] = []
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref not in seen:
            target: Any = doc
            for part in ref.removeprefix("#/").split("/"):
                target = target[part]
            found += _integers(target, doc, f"{where}->{ref.rsplit('/', 1)[-1]}", seen | {ref})
        if node.get("type") == "integer":
            found.append((where, node))
        for key, value in node.items():
            found += _integers(value, doc, f"{where}.{key}", seen)
    elif isinstance(node, list):
        for value in node:
            found += _integers(value, doc, where, seen)
    return found


def test_every_integer_a_route_takes_is_bounded_to_a_column_range(tmp_path: Path) -> None:
    """The mechanism's guard: a new route or field taking an unbounded integer fails here."""
    app = create_app(
        Settings(database_url="sqlite://", home=tmp_path / "var"), Database.from_url("sqlite://")
    )
    doc = app.openapi()
    inputs = []
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                where = f"{method.upper()} {path} {parameter['name']}"
                inputs += _integers(parameter.get("schema", {}), doc, where, set())
            body = operation.get("requestBody", {})
            inputs += _integers(body, doc, f"{method.upper()} {path} body", set())
    assert len(inputs) >= 20
    unbounded = [
        where
        for where, schema in inputs
        if not (-(2**63) <= schema.get("minimum", -(2**64)) <= schema.get("maximum", 2**64) < 2**63)
    ]
    assert unbounded == []


def _holds_bad_text(node: Any) -> bool:
    """The reference: a NUL or an unpaired surrogate in any string or key of parsed JSON."""
    if isinstance(node, str):
        return "\x00" in node or any(0xD800 <= ord(c) <= 0xDFFF for c in node)
    if isinstance(node, list):
        return any(_holds_bad_text(v) for v in node)
    if isinstance(node, dict):
        return any(_holds_bad_text(k) or _holds_bad_text(v) for k, v in node.items())
    return False


# Pieces that make escapes, almost-escapes and escaped backslashes next to each other.
_PIECES = ["a", "\\", "\\\\", "u0000", "ud800", "udc00", "\x00", "\ud800", "\udc00", "🌲", '"']
_TRICKY = st.lists(st.sampled_from(_PIECES), max_size=8).map("".join)


@given(
    value=st.recursive(
        _TRICKY,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TRICKY, inner, max_size=3),
        max_leaves=6,
    )
)
@example(value="\\" * 20 + "u0000")  # long runs of escaped backslashes before "u0000" text
@example(value="\\" * 20 + "\x00")  # ... and before a real \u0000 escape
@example(value=["\\" * 13 + "\ud800", "x\\" * 9 + "ud800\udc00"])
@settings(max_examples=200, derandomize=True, deadline=None)
def test_the_body_scanner_agrees_with_a_json_parser_wherever_the_chunks_split(value: Any) -> None:
    from mics.api.edge import _Scanner

    body = json.dumps(value).encode()  # ASCII: lone surrogates and NUL as \\u escapes
    expected = _holds_bad_text(json.loads(body))
    for cut in range(len(body) + 1):
        scanner = _Scanner(json=True)
        found = scanner.feed(body[:cut], cut == len(body))
        if found is None and cut < len(body):
            found = scanner.feed(body[cut:], True)
        assert (found is not None) == expected, (cut, body)
