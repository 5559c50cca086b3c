"""ESPR access tiers: the public view never holds a restricted field, checked on every leaf."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from tests.databases import Templates
from tests.support import app_client

from mics.db import Database
from mics.passport import access, ownership
from mics.passport.view import full_passport, passport_json
from mics.registry import find_item
from mics.registry.api_keys import create_key

BAG, SERIAL, BASE = "08012345000012", "BA00002", "https://mics.test"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, templates: Templates) -> Iterator[Database]:
    db = templates.sqlite("demo", tmp_path_factory.mktemp("access") / "a.db")
    item = find_item(db, BAG, SERIAL)
    [issued] = [
        s for s in ownership.issue_secrets(db, "borsa-aurora", reissue=True) if s.serial == SERIAL
    ]
    ownership.claim(db, item.id, issued.secret)
    yield db
    db.dispose()


def _paths(value: object) -> dict[str, object]:
    return dict(access.leaves(value))


def test_every_leaf_of_the_full_passport_has_a_rule(demo: Database) -> None:
    full = full_passport(demo, BAG, SERIAL, None, base_url=BASE)
    unlisted = [path for path in _paths(full) if access.rule_for(path) is None]
    assert unlisted == []


@pytest.mark.parametrize("tier", ["public", "legitimate_interest"])
def test_a_tier_view_holds_no_field_above_the_tier_on_every_leaf(demo: Database, tier: str) -> None:
    full = _paths(full_passport(demo, BAG, SERIAL, None, base_url=BASE))
    view = _paths(passport_json(demo, BAG, SERIAL, None, tier=tier, base_url=BASE))
    rank = access.RANK[tier]
    restricted = {p for p in full if access.RANK[access.tier_of(p)] > rank}
    assert len(restricted) >= (3 if tier == "legitimate_interest" else 20)
    for path in view:
        assert access.RANK[access.tier_of(path)] <= rank, path
    assert restricted.isdisjoint(view)
    allowed = {p for p in full if p not in restricted}
    assert allowed <= set(view) | {"tier"}


def test_each_tier_sees_what_its_role_needs(demo: Database) -> None:
    public = passport_json(demo, BAG, SERIAL, None, base_url=BASE)
    repairer = passport_json(demo, BAG, SERIAL, None, tier="legitimate_interest", base_url=BASE)
    authority = passport_json(demo, BAG, SERIAL, None, tier="authority", base_url=BASE)
    assert "components" not in public
    assert "supplier" not in public["materials"][0]
    assert repairer["components"][0]["name"] == "Body panels"
    assert repairer["materials"][0]["densityKgM3"] == 850.0
    assert "supplier" not in repairer["materials"][0]
    assert "events" not in repairer["provenance"]
    assert authority["materials"][0]["supplier"] == "conceria-del-brenta"
    assert authority["provenance"]["events"][0]["eventHash"].startswith("ni:///sha-256;")
    assert (public["tier"], repairer["tier"], authority["tier"]) == (
        "public",
        "legitimate_interest",
        "authority",
    )


def test_an_unlisted_field_is_hidden_from_all_but_authorities() -> None:
    passport = {"product": {"name": "x", "secretSauce": 1}, "newBlock": {"a": [1, 2]}}
    assert access.filter_to_tier(passport, "public") == {"product": {"name": "x"}}
    assert access.filter_to_tier(passport, "authority") == passport
    with pytest.raises(Exception, match="tier"):
        access.filter_to_tier(passport, "everyone")


# --- through the API ----------------------------------------------------------------------


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client(demo: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(demo, tmp_path / "var", base_url=BASE) as c:
        yield c


@pytest.mark.anyio
async def test_api_tiers_need_keys_with_the_right_role(
    client: httpx.AsyncClient, demo: Database
) -> None:
    item = find_item(demo, BAG, SERIAL)
    url = f"/api/items/{item.id}/passport"
    public = await client.get(url)
    assert public.status_code == 200
    assert public.headers["content-type"].startswith("application/ld+json")
    assert "components" not in public.json()

    missing = await client.get(url, params={"tier": "legitimate_interest"})
    assert missing.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    unknown = await client.get(
        url, params={"tier": "authority"}, headers={"Authorization": "Bearer mics_dead_beef"}
    )
    assert unknown.status_code == 401
    assert unknown.json()["detail"] == "unknown API key"
    expired_key = create_key(
        demo,
        "conceria-del-brenta",
        "authority",
        expires_at=datetime.now(UTC) - timedelta(days=1),
    )
    expired = await client.get(
        url, params={"tier": "authority"}, headers={"Authorization": f"Bearer {expired_key}"}
    )
    assert expired.status_code == 401
    assert "expired" in expired.json()["detail"]

    partner = create_key(demo, "conceria-del-brenta", "partner")
    low = await client.get(
        url, params={"tier": "legitimate_interest"}, headers={"Authorization": f"Bearer {partner}"}
    )
    assert low.status_code == 403

    repairer = create_key(demo, "pelletteria-fiorentina", "legitimate_interest")
    seen = await client.get(
        url, params={"tier": "legitimate_interest"}, headers={"Authorization": f"Bearer {repairer}"}
    )
    assert seen.status_code == 200
    assert seen.json()["components"][0]["massKg"] == 0.62
    too_high = await client.get(
        url, params={"tier": "authority"}, headers={"Authorization": f"Bearer {repairer}"}
    )
    assert too_high.status_code == 403

    bad = await client.get(url, params={"tier": "everyone"})
    assert bad.status_code == 422
    assert (await client.get("/api/items/999999/passport")).status_code == 404
