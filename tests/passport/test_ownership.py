"""Ownership on resale: claim, transfer with one-time codes, lost and stolen reports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import inspect
from tests.support import app_client

from mics.db import Database
from mics.errors import Conflict, InvalidInput, NotFound, Unauthorized
from mics.passport import ownership
from mics.registry import create_item, create_partner, create_product, find_item
from mics.registry.demo import load_structure
from mics.registry.schemas import ItemIn, PartnerIn, ProductIn

BAG = "08012345000012"
T0 = datetime(2026, 4, 1, 10, tzinfo=UTC)


@pytest.fixture
def shop(db: Database) -> Database:
    """A brand, one bag product and five items: just what ownership needs."""
    load_structure(db)
    create_partner(
        db, PartnerIn(id="maison-aurora", name="Maison", kind="enterprise", is_public=False)
    )
    create_product(
        db,
        ProductIn(
            id="borsa-aurora",
            gtin=BAG,
            name="Bag",
            sector="fashion",
            brand="maison-aurora",
            lifetime_years=10,
        ),
    )
    for i in range(1, 6):
        create_item(db, ItemIn(product="borsa-aurora", serial=f"BA0000{i}"))
    return db


def _secret(db: Database, serial: str) -> tuple[int, str]:
    item = find_item(db, BAG, serial)
    issued = {s.serial: s.secret for s in ownership.issue_secrets(db, "borsa-aurora", reissue=True)}
    return item.id, issued[serial]


def test_tables_are_created_by_the_migration(db: Database) -> None:
    tables = set(inspect(db.engine).get_table_names())
    assert {"passport_item", "passport_ownership", "passport_transfer"} <= tables


def test_demo_gives_every_item_a_secret_once(demo_db: Database) -> None:
    from mics.passport.demo import load_passport_demo

    assert load_passport_demo(demo_db) == {"packaging_secrets": 0}
    assert ownership.issue_secrets(demo_db, "sedia-quercia") == []
    reissued = ownership.issue_secrets(demo_db, "sedia-quercia", reissue=True)
    assert [s.serial for s in reissued] == [f"SQ0000{i}" for i in range(1, 6)]
    assert all(len(s.secret) == 19 and s.secret.count("-") == 3 for s in reissued)


def test_first_buyer_claims_with_the_packaging_secret(shop: Database) -> None:
    item, secret = _secret(shop, "BA00001")
    with pytest.raises(Unauthorized, match="wrong packaging secret"):
        ownership.claim(shop, item, "AAAA-AAAA-AAAA-AAAA")
    with pytest.raises(InvalidInput, match="secret"):
        ownership.claim(shop, item, "too-short")
    token = ownership.claim(shop, item, secret.lower().replace("-", " "), now=T0)
    assert token.startswith("mics_owner_")
    with pytest.raises(Conflict, match="already claimed"):
        ownership.claim(shop, item, secret)
    status = ownership.item_status(shop, item)
    assert status == {
        "owners": 1,
        "since": "2026-04-01T10:00:00Z",
        "owned_since": ["2026-04-01T10:00:00Z"],
        "lost_or_stolen": False,
        "status": None,
        "status_changed_at": None,
        "claimable": False,
    }
    # a later reissue leaves claimed items alone
    assert "BA00001" not in {
        s.serial for s in ownership.issue_secrets(shop, "borsa-aurora", reissue=True)
    }


def test_owner_transfers_with_a_one_time_code(shop: Database) -> None:
    item, secret = _secret(shop, "BA00002")
    first = ownership.claim(shop, item, secret, now=T0)
    with pytest.raises(Unauthorized):
        ownership.start_transfer(shop, item, "mics_owner_forged")
    code, expires = ownership.start_transfer(shop, item, first, now=T0 + timedelta(days=30))
    assert expires == T0 + timedelta(days=37)
    second = ownership.accept_transfer(shop, item, code, now=T0 + timedelta(days=31))
    assert second != first
    with pytest.raises(Unauthorized, match="already used"):
        ownership.accept_transfer(shop, item, code)
    with pytest.raises(Unauthorized, match="not the current owner"):
        ownership.start_transfer(shop, item, first)
    status = ownership.item_status(shop, item)
    assert status["owners"] == 2
    assert status["since"] == "2026-05-02T10:00:00Z"
    assert status["owned_since"] == ["2026-04-01T10:00:00Z", "2026-05-02T10:00:00Z"]


def test_expired_and_superseded_codes_are_refused(shop: Database) -> None:
    item, secret = _secret(shop, "BA00003")
    token = ownership.claim(shop, item, secret, now=T0)
    old, _ = ownership.start_transfer(shop, item, token, now=T0)
    new, _ = ownership.start_transfer(shop, item, token, now=T0)
    with pytest.raises(Unauthorized):
        ownership.accept_transfer(shop, item, old, now=T0)
    with pytest.raises(Unauthorized, match="expired"):
        ownership.accept_transfer(shop, item, new, now=T0 + timedelta(days=8))


def test_only_the_owner_reports_lost_or_stolen_and_found(shop: Database) -> None:
    item, secret = _secret(shop, "BA00004")
    token = ownership.claim(shop, item, secret, now=T0)
    with pytest.raises(Unauthorized):
        ownership.report_lost(shop, item, "mics_owner_x", status="stolen")
    with pytest.raises(InvalidInput, match="status"):
        ownership.report_lost(shop, item, token, status="misplaced")
    stolen = ownership.report_lost(shop, item, token, status="stolen", now=T0)
    assert (stolen["lost_or_stolen"], stolen["status"]) == (True, "stolen")
    found = ownership.report_lost(shop, item, token, status=None)
    assert (found["lost_or_stolen"], found["status"]) == (False, None)


def test_unknown_items_and_items_without_secrets(shop: Database) -> None:
    with pytest.raises(NotFound):
        ownership.item_status(shop, 999_999)
    with pytest.raises(NotFound):
        ownership.claim(shop, 999_999, "AAAA-AAAA-AAAA-AAAA")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client(shop: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(shop, tmp_path / "var") as c:
        yield c


@pytest.mark.anyio
async def test_resale_through_the_api(client: httpx.AsyncClient, shop: Database) -> None:
    item, secret = _secret(shop, "BA00005")
    bad = await client.post(f"/api/items/{item}/claim", json={"secret": "AAAA-AAAA-AAAA-AAAA"})
    assert bad.status_code == 401
    assert bad.headers["content-type"] == "application/problem+json"
    claimed = await client.post(f"/api/items/{item}/claim", json={"secret": secret})
    assert claimed.status_code == 201
    token = claimed.json()["owner_token"]
    assert claimed.json()["ownership"]["owners"] == 1
    again = await client.post(f"/api/items/{item}/claim", json={"secret": secret})
    assert again.status_code == 409
    code = (await client.post(f"/api/items/{item}/transfer", json={"owner_token": token})).json()
    accepted = await client.post(f"/api/items/{item}/accept", json={"code": code["code"]})
    assert accepted.status_code == 201
    assert accepted.json()["ownership"]["owners"] == 2
    new_token = accepted.json()["owner_token"]
    lost = await client.post(
        f"/api/items/{item}/report-lost", json={"owner_token": new_token, "status": "stolen"}
    )
    assert lost.json()["status"] == "stolen"
    shown = (await client.get(f"/api/items/{item}/ownership")).json()
    assert (shown["owners"], shown["lost_or_stolen"]) == (2, True)
    passport = (await client.get(f"/api/items/{item}/passport")).json()
    assert passport["ownership"]["lostOrStolen"] is True
    assert token not in str(passport)
    assert new_token not in str(passport)
    forged = await client.post(
        f"/api/items/{item}/report-lost", json={"owner_token": token, "status": None}
    )
    assert forged.status_code == 401


def test_the_passport_caches_fast_ownership_read_agrees_with_item_status(shop: Database) -> None:
    """``volatile.ownership_now`` (one Core statement, the hot path) against the
    plain ``ownership.item_status`` the view uses, after each step of an item's life."""
    from mics.passport.view import ownership_block
    from mics.passport.volatile import ownership_now

    item = find_item(shop, BAG, "BA00002").id

    def both() -> tuple[dict[str, object], dict[str, object]]:
        with shop.engine.connect() as conn:
            fast = ownership_now(conn, item)
        return fast, ownership_block(ownership.item_status(shop, item))

    seen = []
    fast, plain = both()  # no secret yet
    assert fast == plain
    seen.append(plain)
    item, secret = _secret(shop, "BA00002")
    token = ownership.claim(shop, item, secret, now=T0)
    code, _ = ownership.start_transfer(shop, item, token, now=T0 + timedelta(days=3))
    second = ownership.accept_transfer(shop, item, code, now=T0 + timedelta(days=4))
    for step in (
        lambda: None,
        lambda: ownership.report_lost(shop, item, second, status="stolen", now=T0),
        lambda: ownership.report_lost(shop, item, second, status=None),
    ):
        step()
        fast, plain = both()
        assert fast == plain
        seen.append(plain)
    assert [s["owners"] for s in seen] == [0, 2, 2, 2]
    assert [s["report"] for s in seen] == [None, None, "stolen", None]
