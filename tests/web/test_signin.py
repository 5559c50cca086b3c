"""Signing in with a key: the sealed HttpOnly cookie, CSRF on every form, sign-out, expiry."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from tests.support import app_client

from mics.db import Database
from mics.registry.api_keys import create_key, revoke_key
from mics.web.visitor import SESSION_SECONDS, SessionSeal, load_or_create_session_seal

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "var"


@pytest.fixture
async def client(demo_db: Database, home: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(demo_db, home, url="https://mics.test") as c:
        yield c


def token_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert found is not None, page[:500]
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, key: str, next_page: str = "") -> httpx.Response:
    page = await client.get("/signin")
    form = {"csrf": token_of(page.text), "api_key": key, "next": next_page}
    return await client.post("/signin", data=form)


def test_a_sealed_key_opens_only_with_its_seal_and_only_for_a_working_day(tmp_path: Path) -> None:
    seal = load_or_create_session_seal(tmp_path)
    assert load_or_create_session_seal(tmp_path) == seal  # made once, kept
    cookie = seal.seal("mics_abcd1234_secret", now=1_000_000)
    assert "secret" not in cookie
    assert seal.open(cookie, now=1_000_000 + SESSION_SECONDS - 1) == "mics_abcd1234_secret"
    assert seal.open(cookie, now=1_000_000 + SESSION_SECONDS) is None
    assert SessionSeal(b"k" * 32).open(cookie, now=1_000_000) is None
    tampered = cookie[:-2] + ("A" if cookie[-2] != "A" else "B") + cookie[-1]
    assert seal.open(tampered, now=1_000_000) is None


async def test_signing_in_sets_a_sealed_httponly_strict_secure_cookie(
    client: httpx.AsyncClient, demo_db: Database
) -> None:
    key = create_key(demo_db, "maison-aurora", "partner")
    answer = await sign_in(client, key, "/trace")
    assert (answer.status_code, answer.headers["location"]) == (303, "/trace")
    cookies = [c for c in answer.headers.get_list("set-cookie") if c.startswith("mics_session=")]
    assert len(cookies) == 1
    flags = {part.strip().lower() for part in cookies[0].split(";")[1:]}
    assert {"httponly", "secure", "samesite=strict", "path=/"} <= flags
    assert key not in cookies[0]
    page = await client.get("/signin")
    assert "Signed in as <b>Maison Aurora" in page.text
    assert ">partner</span> key" in page.text


async def test_a_wrong_key_is_refused_on_the_form_with_the_reason(
    client: httpx.AsyncClient,
) -> None:
    answer = await sign_in(client, "mics_00000000_nope")
    assert answer.status_code == 401
    assert "unknown API key" in answer.text
    assert "mics_session" not in answer.headers.get("set-cookie", "")


async def test_a_form_without_this_browsers_token_or_from_elsewhere_is_refused(
    client: httpx.AsyncClient, demo_db: Database
) -> None:
    key = create_key(demo_db, "maison-aurora", "partner")
    fresh = await client.post("/signin", data={"api_key": key})  # no page loaded: no cookie
    assert fresh.status_code == 403
    page = await client.get("/signin")
    forged = await client.post("/signin", data={"api_key": key, "csrf": "0" * 64})
    assert forged.status_code == 403
    assert "CSRF" in forged.json()["detail"]
    elsewhere = await client.post(
        "/signin",
        data={"api_key": key, "csrf": token_of(page.text)},
        headers={"Origin": "https://evil.example"},
    )
    assert (elsewhere.status_code, elsewhere.json()["field"]) == (403, "Origin")
    assert "mics_session" not in client.cookies


async def test_after_signing_in_goes_nowhere_but_this_site(
    client: httpx.AsyncClient, demo_db: Database
) -> None:
    key = create_key(demo_db, "maison-aurora", "partner")
    for target in ("//evil.example/x", "https://evil.example", "/\\evil.example"):
        answer = await sign_in(client, key, target)
        assert answer.headers["location"] == "/events", target


async def test_signing_out_and_revoking_the_key_both_end_the_session(
    client: httpx.AsyncClient, demo_db: Database
) -> None:
    key = create_key(demo_db, "conceria-del-brenta", "partner")
    await sign_in(client, key)
    assert (await client.get("/events")).status_code == 200
    page = await client.get("/signin")
    out = await client.post("/signout", data={"csrf": token_of(page.text)})
    assert out.status_code == 303
    assert (await client.get("/events")).status_code == 401
    await sign_in(client, key)
    assert (await client.get("/events")).status_code == 200
    revoke_key(demo_db, key.split("_")[1])
    refused = await client.get("/events", headers={"Accept": "text/html"})
    assert refused.status_code == 401
    assert "Sign in to see events" in refused.text
