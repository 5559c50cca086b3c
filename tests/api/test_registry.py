"""The registry REST API end to end through httpx's ASGI transport."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.support import bearer

from mics.db import Database

pytestmark = pytest.mark.anyio


@pytest.fixture
def client(client: httpx.AsyncClient, demo_db: Database) -> httpx.AsyncClient:
    """The demo client (tests/api/conftest.py) holding the operator's key: registry
    writes need one."""
    client.headers.update(bearer(demo_db, "mics-operator", "operator"))
    return client


async def _snapshot(client: httpx.AsyncClient) -> dict[str, Any]:
    out = {}
    for kind in ("partners", "projects", "materials", "products", "items"):
        out[kind] = (await client.get(f"/api/{kind}", params={"limit": 500})).json()
    return out


async def test_products_lists_the_demo_products(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/products")
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 5
    assert {p["id"] for p in body["items"]} == {
        "borsa-aurora",
        "sedia-quercia",
        "pinza-robotica",
        "anello-fuso",  # the chain-of-custody demo's rings (mics.custody.demo)
        "anello-stampato",
    }
    bag = await client.get("/api/products/08012345000012")
    assert bag.json()["components"][0]["material"] == "leather-chrome"
    assert bag.json()["mass_kg"] == pytest.approx(0.84)


async def test_health_sectors_spokes_and_openapi(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json()["status"] == "ok"
    assert len((await client.get("/api/sectors")).json()) == 3
    assert len((await client.get("/api/spokes")).json()) == 8
    spec = (await client.get("/openapi.json")).json()
    assert {"/api/partners", "/api/products/{product_id}", "/api/items"} <= set(spec["paths"])


async def test_create_then_read_item(client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/api/items", json={"product": "sedia-quercia", "serial": "SQ90001"}
    )
    assert created.status_code == 201
    item_id = created.json()["id"]
    got = await client.get(f"/api/items/{item_id}")
    assert (got.json()["gtin"], got.json()["serial"]) == ("08012345000111", "SQ90001")


BAD_INPUTS = [
    ("patch", "/api/partners/segheria-cadore", {"kind": None}, 422, "kind"),
    ("patch", "/api/materials/oak-timber", {"density_kg_m3": None}, 422, "density_kg_m3"),
    (
        "patch",
        "/api/products/sedia-quercia",
        {"components": [{"name": "x", "mass_kg": 1}]},
        422,
        "components[0]",
    ),
    ("get", "/api/products?offset=61015792773891507617792", None, 422, "offset"),
    (
        "post",
        "/api/products",
        {
            "id": "p",
            "gtin": "8012345000013",
            "name": "P",
            "sector": "fashion",
            "brand": "maison-aurora",
            "lifetime_years": 3,
        },
        422,
        "gtin",
    ),
    (
        "post",
        "/api/products",
        {
            "id": "p",
            "gtin": "8012345000302",
            "name": "P",
            "sector": "fashion",
            "brand": "maison-aurora",
            "lifetime_years": 3,
            "components": [{"name": "x", "material": "leather-chrome", "mass_kg": 0}],
        },
        422,
        "components[0].mass_kg",
    ),
    (
        "post",
        "/api/materials",
        {
            "id": "m",
            "name": "M",
            "category": "metal",
            "density_kg_m3": 100,
            "country": "IT",
            "recycled_share": 1.5,
        },
        422,
        "recycled_share",
    ),
    (
        "post",
        "/api/materials",
        {
            "id": "m",
            "name": "M",
            "category": "metal",
            "density_kg_m3": 100,
            "country": "IT",
            "supplier": "ghost",
        },
        422,
        "supplier[0]",
    ),
    ("post", "/api/items", {"product": "borsa-aurora", "serial": "BA00001"}, 409, "serial"),
    ("post", "/api/items", {"product": "borsa-aurora", "serial": "bad serial"}, 422, "serial"),
    (
        "post",
        "/api/partners",
        {"id": "x", "name": "X", "kind": "castle", "is_public": True},
        422,
        "kind",
    ),
    ("post", "/api/projects", {"id": "x", "title": "X", "spoke": 42}, 422, "spoke[0]"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "field"), BAD_INPUTS)
async def test_bad_input_is_a_problem_response_and_stores_nothing(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    body: dict[str, Any],
    status: int,
    field: str,
) -> None:
    before = await _snapshot(client)
    response = (
        await client.request(method, path, json=body)
        if body is not None
        else (await client.request(method, path))
    )
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status
    assert problem["field"] == field
    assert problem.get("detail")
    assert await _snapshot(client) == before


async def test_malformed_json_and_csv_imports_are_problems(client: httpx.AsyncClient) -> None:
    before = await _snapshot(client)
    bad_json = await client.post(
        "/api/registry/import",
        content=b'{"partners": [',
        headers={"content-type": "application/json"},
    )
    assert bad_json.status_code == 422
    assert bad_json.headers["content-type"] == "application/problem+json"
    bad_csv = await client.post(
        "/api/registry/import", content=b"id,gtin,name\nx,1\n", headers={"content-type": "text/csv"}
    )
    assert (bad_csv.status_code, bad_csv.json()["field"]) == (422, "line 2")
    body = await client.post(
        "/api/products", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert body.status_code == 422
    assert await _snapshot(client) == before


async def test_unknown_ids_and_paths_are_404_problems(client: httpx.AsyncClient) -> None:
    for path in (
        "/api/products/nope",
        "/api/items/99999",
        "/api/partners/nobody",
        "/api/nothing-here",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"


async def test_csv_export_then_import_changes_nothing(client: httpx.AsyncClient) -> None:
    before = await _snapshot(client)
    csv_text = (await client.get("/api/registry/export/products", params={"format": "csv"})).text
    assert csv_text.startswith("id,gtin,name")
    imported = await client.post(
        "/api/registry/import", content=csv_text.encode(), headers={"content-type": "text/csv"}
    )
    assert imported.json()["products"] == 5
    assert await _snapshot(client) == before


async def test_registry_writes_need_the_right_key(
    client: httpx.AsyncClient, demo_db: Database
) -> None:
    before = await _snapshot(client)
    body = {"id": "x", "name": "X", "kind": "enterprise", "is_public": False}
    anonymous = await client.post("/api/partners", json=body, headers={"authorization": ""})
    assert anonymous.status_code == 401
    brand = bearer(demo_db, "maison-aurora")
    assert (await client.post("/api/partners", json=body, headers=brand)).status_code == 403
    gln = await client.patch(
        "/api/partners/maison-aurora", json={"gln": "8012345900992"}, headers=brand
    )
    assert gln.status_code == 403
    other = await client.patch("/api/products/sedia-quercia", json={"name": "Mine"}, headers=brand)
    assert other.status_code == 403
    assert await _snapshot(client) == before
    own = await client.patch(
        "/api/products/borsa-aurora", json={"repair_notes": "Call us."}, headers=brand
    )
    assert (own.status_code, own.json()["repair_notes"]) == (200, "Call us.")
    assert len(own.json()["components"]) == 4  # a PATCH keeps the bill of materials
    away = await client.patch(
        "/api/products/borsa-aurora", json={"brand": "design-quercia"}, headers=brand
    )
    assert away.status_code == 403
