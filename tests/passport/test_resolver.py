"""The GS1 Digital Link resolver and tag scans end to end through the ASGI app."""

from __future__ import annotations

import importlib.util
import math
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from tests.databases import Templates

from mics.api import create_app
from mics.config import Settings
from mics.db import Database
from mics.passport import resolver, tags, verdict_events
from mics.passport.store import TagScanRow
from mics.registry import find_item
from mics.registry.api_keys import create_key
from mics.trace.store import EventRow

pytestmark = pytest.mark.anyio
BASE = "https://mics.test"
BAG = "08012345000012"
ITEM = f"/01/{BAG}/21/BA00001"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def _needs(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} (passport part 2) is not installed yet")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory, templates: Templates) -> Path:
    """The full demo, loaded once per module into a SQLite file each test copies."""

    path = tmp_path_factory.mktemp("resolver") / "demo.db"
    database = templates.sqlite("demo", path)
    database.dispose()
    return path


@pytest.fixture
def full_db(demo_file: Path, tmp_path: Path) -> Iterator[Database]:
    copy = tmp_path / "demo.db"
    shutil.copyfile(demo_file, copy)
    database = Database.from_url(f"sqlite:///{copy}")
    yield database
    database.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url="sqlite://", home=tmp_path / "home", base_url=BASE)


@pytest.fixture
def app(full_db: Database, settings: Settings) -> FastAPI:
    return create_app(settings, full_db)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mics.test") as c:
        yield c


async def test_machines_get_json_ld_with_a_link_to_the_linkset(
    client: httpx.AsyncClient,
) -> None:
    _needs("mics.passport.view")
    response = await client.get(ITEM, headers={"Accept": "application/ld+json"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/ld+json")
    assert "@context" in response.json()
    assert response.headers["link"].startswith(f'<{BASE}{ITEM}?linkType=linkset>; rel="linkset"')
    assert response.headers["access-control-allow-origin"] == "*"


async def test_browsers_get_the_passport_page(client: httpx.AsyncClient) -> None:
    _needs("mics.web.passport_pages")
    response = await client.get(ITEM, headers={"Accept": BROWSER})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "Borsa" in response.text
    assert "linkType=linkset" in response.headers["link"]


async def test_linkset_lists_the_item_links(client: httpx.AsyncClient) -> None:
    response = await client.get(ITEM, params={"linkType": "linkset"})
    assert response.status_code == 200
    assert response.headers["content-type"] == resolver.LINKSET_TYPE
    (context,) = response.json()["linkset"]
    assert context["anchor"] == f"{BASE}{ITEM}"
    pip = context["https://gs1.org/voc/pip"][0]
    assert pip["href"] == f"{BASE}/passport{ITEM}"
    assert pip["type"] == "text/html"
    epcis = context["https://gs1.org/voc/epcis"][0]["href"]
    assert epcis == f"{BASE}/epcis/epcs/https%3A%2F%2Fid.gs1.org{ITEM.replace('/', '%2F')}/events"
    verify = context["https://gs1.org/voc/verificationService"][0]["href"]
    assert verify == f"{BASE}/api/scan?gtin={BAG}&serial=BA00001"
    # The signed passport: its link is there and leads to the credential.
    certification = context["https://gs1.org/voc/certificationInfo"][0]
    assert certification["type"] == "application/vc+ld+json"
    credential = await client.get(certification["href"].removeprefix(BASE))
    assert credential.status_code == 200
    assert "DigitalProductPassport" in credential.json()["type"]
    by_accept = await client.get(ITEM, headers={"Accept": resolver.LINKSET_TYPE})
    assert by_accept.json() == response.json()
    product = await client.get(f"/01/{BAG}", params={"linkType": "linkset"})
    (model,) = product.json()["linkset"]
    assert "https://gs1.org/voc/epcis" not in model  # a model has no EPCIS history of its own
    assert model["https://gs1.org/voc/sustainabilityInfo"][0]["href"].endswith(
        "/api/products/borsa-aurora/footprint"
    )


async def test_link_type_redirects_or_answers_404(client: httpx.AsyncClient) -> None:
    pip = await client.get(ITEM, params={"linkType": "gs1:pip"})
    assert pip.status_code == 307
    assert pip.headers["location"] == f"{BASE}/passport{ITEM}"
    full = await client.get(ITEM, params={"linkType": "https://gs1.org/voc/sustainabilityInfo"})
    assert full.headers["location"] == f"{BASE}/api/products/borsa-aurora/footprint"
    missing = await client.get(f"/01/{BAG}", params={"linkType": "gs1:epcis"})
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["field"] == "linkType"


async def test_bad_check_digit_is_400_naming_the_gtin(client: httpx.AsyncClient) -> None:
    response = await client.get("/01/08012345000013/21/BA00001")
    assert response.status_code == 400
    body = response.json()
    assert body["field"] == "gtin"
    assert body["value"] == "08012345000013"
    assert "Expected 2" in body["detail"]


async def test_unknown_product_item_or_lot_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/01/08012345000029")).status_code == 404
    unknown = await client.get(f"/01/{BAG}/21/NOPE")
    assert unknown.status_code == 404
    assert unknown.json()["field"] == "serial"
    assert (await client.get(f"/01/{BAG}/10/NOLOT")).status_code == 404
    lot = await client.get(f"/01/{BAG}/10/L2026-03", params={"linkType": "linkset"})
    assert lot.status_code == 200


async def test_resolver_description_file(client: httpx.AsyncClient) -> None:
    body = (await client.get("/.well-known/gs1resolver")).json()
    assert body["resolverRoot"] == BASE
    assert body["supportedPrimaryKeys"] == ["01"]
    assert body["supportedLinkType"][0]["prefix"] == "gs1:"
    assert body["linkTypeDefaultCanBeLinkset"] is True


async def test_recall_status_reads_recalled_events(client: httpx.AsyncClient) -> None:
    body = (await client.get(f"/api/recall-status{ITEM}")).json()
    assert body == {"anchor": f"{BASE}{ITEM}", "recalled": False}


async def test_scan_url_is_verified_recorded_and_replay_flagged(
    client: httpx.AsyncClient, app: FastAPI, full_db: Database, settings: Settings
) -> None:
    master = tags.load_or_create_master_key(settings.home, settings.instance)
    item = find_item(full_db, BAG, "BA00001").id
    url = tags.simulate_scan_url(full_db, master, item, BASE)
    path = urlsplit(url).path + "?" + urlsplit(url).query
    first = await client.get(path, headers={"Accept": "application/json"})
    assert first.status_code == 200
    assert first.json()["verdict"] == "authentic"
    assert "counter" not in first.json()  # the tag's UID and counter: authorities only
    operator = "Bearer " + create_key(full_db, "mics-operator", "operator")
    replay = await client.get(
        path, headers={"Accept": "application/json", "Authorization": operator}
    )
    assert replay.json()["verdict"] == "replay"
    assert replay.json()["counter"] == 1
    for text in (
        master.key.hex(),
        master.meta_read_key.hex(),
        master.file_read_key(bytes.fromhex(replay.json()["uid"])).hex(),
    ):
        assert text not in first.text.lower() and text not in replay.text.lower()  # noqa: PT018
    # The background publisher (its own thread: the answers did not wait for it)
    # captured both verdicts as EPCIS events.
    await app.state.verdict_publisher.idle()
    with full_db.read() as s:
        ids = list(s.scalars(select(TagScanRow.event_id).order_by(TagScanRow.id)))
        stored = set(s.scalars(select(EventRow.event_id).where(EventRow.event_id.in_(ids))))
    assert len(ids) == 2
    assert set(ids) == stored


async def test_scan_page_shows_the_verdict(
    client: httpx.AsyncClient, full_db: Database, settings: Settings
) -> None:
    _needs("mics.web.passport_pages")
    master = tags.load_or_create_master_key(settings.home, settings.instance)
    url = tags.simulate_scan_url(full_db, master, find_item(full_db, BAG, "BA00002").id, BASE)
    parts = urlsplit(url)
    page = await client.get(f"{parts.path}?{parts.query}", headers={"Accept": BROWSER})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    with full_db.read() as s:
        assert s.scalar(select(TagScanRow.verdict)) == "authentic"


async def test_bad_scan_parameters_are_400(client: httpx.AsyncClient) -> None:
    truncated = await client.get(ITEM, params={"e": "EF963FF7828658", "c": "94EED9EE65337086"})
    assert truncated.status_code == 400
    assert truncated.json()["field"] == "e"
    not_hex = await client.get(ITEM, params={"e": "Z" * 32, "c": "94EED9EE65337086"})
    assert not_hex.json()["field"] == "e"
    no_c = await client.get(ITEM, params={"e": "EF963FF7828658A599F3041510671E88"})
    assert no_c.status_code == 400
    assert no_c.json()["field"] == "c"
    bad_place = await client.get(
        ITEM, params={"e": "0" * 32, "c": "0" * 16, "lat": "north", "lon": "9"}
    )
    assert bad_place.status_code == 400
    assert bad_place.json()["field"] == "lat"


async def test_forged_scan_is_not_authentic_through_the_verification_service(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(
        "/api/scan",
        params={
            "gtin": BAG,
            "serial": "BA00001",
            "e": "EF963FF7828658A599F3041510671E88",
            "c": "94EED9EE65337086",
        },
    )
    assert response.status_code == 200
    assert response.json()["verdict"] == "not_authentic"
    assert "PICCDataTag" in response.json()["reason"]


async def test_qr_codes_encode_the_item_digital_link(
    client: httpx.AsyncClient, full_db: Database
) -> None:
    from mics.passport.labels import qr_png, qr_svg

    item = find_item(full_db, BAG, "BA00001").id
    svg = await client.get(f"/api/items/{item}/qr.svg")
    assert svg.headers["content-type"] == "image/svg+xml"
    assert svg.content == qr_svg(f"{BASE}{ITEM}")
    png = await client.get(f"/api/items/{item}/qr.png")
    assert png.content == qr_png(f"{BASE}{ITEM}")
    assert png.content.startswith(b"\x89PNG")
    assert (await client.get("/api/items/99999/qr.svg")).status_code == 404


async def test_tag_registration_needs_the_brand_and_shows_no_key(
    client: httpx.AsyncClient, full_db: Database, settings: Settings
) -> None:
    operator = {"authorization": "Bearer " + create_key(full_db, "mics-operator", "operator")}
    new = await client.post(
        "/api/items", json={"product": "borsa-aurora", "serial": "BA90001"}, headers=operator
    )
    item = new.json()["id"]
    body = {"uid": "04 11 22 33 44 55 66"}
    assert (await client.post(f"/api/items/{item}/tag", json=body)).status_code == 401
    brand = (await client.get("/api/products/borsa-aurora")).json()["brand"]
    stranger = create_key(full_db, "mics-operator", role="partner")
    forbidden = await client.post(
        f"/api/items/{item}/tag", json=body, headers={"Authorization": f"Bearer {stranger}"}
    )
    assert forbidden.status_code == 403
    key = create_key(full_db, brand, role="partner")
    created = await client.post(
        f"/api/items/{item}/tag", json=body, headers={"Authorization": f"Bearer {key}"}
    )
    assert created.status_code == 201
    assert set(created.json()) == {
        "id",
        "uid",
        "item",
        "gtin",
        "serial",
        "counter",
        "registered_at",
    }
    assert created.json()["uid"] == "04112233445566"
    master = tags.load_or_create_master_key(settings.home, settings.instance)
    uid = bytes.fromhex("04112233445566")
    for number in range(5):
        assert master.tag_key(uid, number).hex() not in created.text.lower()
    again = await client.post(
        f"/api/items/{item}/tag", json=body, headers={"Authorization": f"Bearer {key}"}
    )
    assert again.status_code == 409


async def test_ping_is_a_constant(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/ping")).json() == {"ping": "pong"}


def test_link_types_compact_either_spelling() -> None:
    assert resolver.link_type_curie("https://gs1.org/voc/pip") == "gs1:pip"
    assert resolver.link_type_curie("pip") == "gs1:pip"
    assert resolver.link_type_curie("gs1:epcis") == "gs1:epcis"
    assert verdict_events.DISPOSITIONS["authentic"] == "conformant"


async def test_head_answers_like_get_without_a_body(client: httpx.AsyncClient) -> None:
    response = await client.head(ITEM, params={"linkType": "gs1:pip"})
    assert response.status_code == 307
    assert response.content == b""
    assert "linkType=linkset" in response.headers["link"]


@pytest.mark.parametrize(
    ("method", "path", "query", "taken"),
    [
        ("GET", f"/01/{BAG}/21/BA00001", b"e=00&c=11", True),
        ("GET", f"/01/{BAG}/21/BA00001", b"lang=it&c=11&e=00", True),
        ("HEAD", f"/01/{BAG}/21/BA00001", b"e=00&c=11", False),
        ("GET", f"/01/{BAG}/21/BA00001", b"e=00", False),
        ("GET", f"/01/{BAG}/21/BA00001", b"see=00&tic=11", False),
        ("GET", f"/passport/01/{BAG}/21/BA00001", b"e=00&c=11", False),
    ],
)
def test_only_tag_scans_take_the_fast_path(
    method: str, path: str, query: bytes, taken: bool
) -> None:
    from mics.api.fast_scan import takes_scan

    scope = {"type": "http", "method": method, "path": path, "query_string": query}
    assert takes_scan(scope) is taken


async def test_fast_path_scan_problems_match_the_routed_ones(client: httpx.AsyncClient) -> None:
    # An unknown serial (NotFound raised inside the scan) and a non-hex e (InvalidInput).
    unknown = await client.get(
        f"/01/{BAG}/21/NOSUCH?e={'0' * 32}&c={'0' * 16}", headers={"Accept": "application/json"}
    )
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert unknown.json()["instance"] == f"/01/{BAG}/21/NOSUCH"
    assert unknown.json()["field"] == "serial"
    bad = await client.get(
        f"/01/{BAG}/21/BA00001?e=zz&c={'0' * 16}", headers={"Accept": "application/json"}
    )
    assert bad.status_code == 400
    assert bad.json()["field"] == "e"


async def test_a_client_sending_failed_scans_is_answered_429_with_retry_after(
    app: FastAPI,
) -> None:
    from mics.passport.scan_limits import CLIENT_BURST, CLIENT_REFILL_S, ScanLimiter

    # a stopped clock: on a busy machine the burst took over a second, and Retry-After fell
    app.state.scan_limits = ScanLimiter(clock=lambda: 0.0)

    def client_at(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://mics.test")

    forged = {"e": "0" * 32, "c": "0" * 16}
    items = [f"/01/{BAG}/21/BA0000{n}" for n in range(1, 6)]
    async with client_at("203.0.113.7") as hostile, client_at("2001:db8:7::1") as other:
        for n in range(CLIENT_BURST):
            answer = await hostile.get(items[n % len(items)], params=forged)
            assert answer.json()["verdict"] == "not_authentic"
        for path, params in ((ITEM, forged), ("/api/scan", {"gtin": BAG, "serial": "BA00001"})):
            refused = await hostile.get(path, params=params | forged)
            assert refused.status_code == 429
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.headers["retry-after"] == str(math.ceil(CLIENT_REFILL_S))
            assert "failed scans" in refused.json()["detail"]
        assert (await other.get(ITEM, params=forged)).status_code == 200  # another client
    await app.state.verdict_publisher.idle()
    with app.state.db.read() as s:  # none of it reached the log
        assert s.scalar(select(func.count()).select_from(TagScanRow)) == 0
