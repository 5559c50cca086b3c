"""Recall status follows the chain of custody: no partner recalls another brand's item."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support import epcis_document

from mics.api import create_app
from mics.config import Settings
from mics.db import Database
from mics.passport import resolver
from mics.passport.digital_link import DigitalLink
from mics.registry import get_partner
from mics.registry.api_keys import create_key
from mics.registry.demo import ensure_instance, load_demo_registry
from mics.trace.capture import capture_document

BAG, DL, BASE = "08012345000012", "https://id.gs1.org", "https://mics.test"
ITEM = f"/01/{BAG}/21/BA00001"


def _recall(epc: str, when: str = "2026-05-02T10:00:00+01:00", **extra: Any) -> dict[str, Any]:
    """A recall of one item, or (``/01/{gtin}`` or ``/10/{lot}``) of a class as a quantity."""
    named: dict[str, Any] = {"epcList": [epc]}
    if "/21/" not in epc:
        named = {"quantityList": [{"epcClass": epc, "quantity": 1}]}
    return {
        "type": "ObjectEvent",
        "eventTime": when,
        "eventTimeZoneOffset": "+01:00",
        **named,
        "action": "OBSERVE",
        "bizStep": "holding",
        "disposition": "recalled",
    } | extra


def _recalled(db: Database, serial: str | None = "BA00001") -> bool:
    return resolver.is_recalled(db, resolver.resolve(db, DigitalLink(gtin=BAG, serial=serial)))


@pytest.fixture
def registry_db(db: Database) -> Database:
    ensure_instance(db, "mics-operator")
    load_demo_registry(db)
    return db


def test_an_outsiders_recall_marks_neither_the_item_nor_the_product(registry_db: Database) -> None:
    db = registry_db
    doc = epcis_document([_recall(f"{DL}{ITEM}"), _recall(f"{DL}/01/{BAG}")])
    capture_document(db, doc, "segheria-cadore")  # a partner with a key, not in this chain
    assert (_recalled(db), _recalled(db, None)) == (False, False)


def test_the_brand_recalls_its_item_and_so_its_product(registry_db: Database) -> None:
    db = registry_db
    capture_document(db, epcis_document([_recall(f"{DL}{ITEM}")]), "maison-aurora")
    assert (_recalled(db), _recalled(db, "BA00002"), _recalled(db, None)) == (True, False, True)


def test_a_lot_recall_by_the_brand_reaches_the_items_of_the_lot(registry_db: Database) -> None:
    db = registry_db
    capture_document(db, epcis_document([_recall(f"{DL}/01/{BAG}/10/L2026-03")]), "maison-aurora")
    assert _recalled(db) is True


def test_a_partner_the_chain_names_recalls_the_item(registry_db: Database) -> None:
    db = registry_db
    shop = f"{DL}/417/{get_partner(db, 'boutique-brera').gln}"
    shipped = _recall(
        f"{DL}{ITEM}",
        "2026-05-01T10:00:00+01:00",
        bizStep="shipping",
        disposition="in_transit",
        destinationList=[{"type": "owning_party", "destination": shop}],
    )
    capture_document(db, epcis_document([_recall(f"{DL}{ITEM}")]), "boutique-brera")
    assert _recalled(db) is False  # not yet named by the chain
    capture_document(db, epcis_document([shipped]), "maison-aurora")
    assert _recalled(db) is True


# --- through the API: the resolver's gs1:recallStatus, and an authority's key ------------


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client(registry_db: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url="sqlite://", home=tmp_path / "var", base_url=BASE)
    transport = httpx.ASGITransport(app=create_app(settings, registry_db))
    async with httpx.AsyncClient(transport=transport, base_url="http://mics.test") as c:
        yield c


async def _capture(client: httpx.AsyncClient, key: str, event: dict[str, Any]) -> None:
    response = await client.post(
        "/epcis/capture",
        json=epcis_document([event]),
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 202, response.text


@pytest.mark.anyio
async def test_recall_status_answers_false_for_an_outsider_and_true_for_an_authority(
    client: httpx.AsyncClient, registry_db: Database
) -> None:
    outsider = create_key(registry_db, "segheria-cadore")
    await _capture(client, outsider, _recall(f"{DL}{ITEM}"))
    await _capture(client, outsider, _recall(f"{DL}/01/{BAG}", "2026-05-03T10:00:00+01:00"))
    for path in (ITEM, f"/01/{BAG}"):
        body = (await client.get(f"/api/recall-status{path}")).json()
        assert body == {"anchor": f"{BASE}{path}", "recalled": False}
    # A market surveillance authority's key declares a recall of the whole product.
    authority = create_key(registry_db, "enea-sostenibilita", "authority")
    await _capture(client, authority, _recall(f"{DL}/01/{BAG}", "2026-05-04T10:00:00+01:00"))
    for path in (ITEM, f"/01/{BAG}"):
        assert (await client.get(f"/api/recall-status{path}")).json()["recalled"] is True
