"""CSV export neutralises formulas (OWASP CSV injection) and import gives back what was exported."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import pytest

from mics import registry
from mics.db import Database
from mics.errors import InvalidInput
from mics.registry.schemas import MaterialIn, PartnerIn, ProductIn

HOSTILE = {
    "name": '=HYPERLINK("https://evil.example","open")',
    "competences": "+cmd|' /C calc'!A0",
    "city": "@SUM(A1:A9)",
    "website": "-2+3+cmd|' /C calc'!A0",
}


def _cells(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_every_formula_start_is_quoted_on_export() -> None:
    records = [
        {"id": f"p{n}", "name": start + "x", "kind": "enterprise"}
        for n, start in enumerate(["=", "+", "-", "@", "\t", "\r"])
    ]
    fields = {"id": "", "name": "", "kind": ""}
    rows = _cells(registry.to_csv("partners", [fields | r for r in records]))
    assert [row["name"] for row in rows] == ["'=x", "'+x", "'-x", "'@x", "'\tx", "'\rx"]


def test_hostile_partner_round_trips_through_csv(demo_db: Database) -> None:
    registry.create_partner(
        demo_db, PartnerIn(id="evil-srl", kind="enterprise", is_public=False, **HOSTILE)
    )
    records = registry.export(demo_db, "partners")
    text = registry.to_csv("partners", records)
    row = next(r for r in _cells(text) if r["id"] == "evil-srl")
    assert {field: row[field] for field in HOSTILE} == {k: "'" + v for k, v in HOSTILE.items()}
    registry.load(demo_db, registry.parse_csv(text))
    assert registry.export(demo_db, "partners") == records
    assert registry.get_partner(demo_db, "evil-srl").name == HOSTILE["name"]


def test_quotes_a_user_wrote_survive_and_numbers_stay_numbers(demo_db: Database) -> None:
    registry.create_material(
        demo_db,
        MaterialIn(
            id="odd-oak",
            name="'=not a formula'",  # already starts with a quote: kept as written
            category="'quoted'",
            density_kg_m3=650.5,
            country="IT",
        ),
    )
    records = registry.export(demo_db, "materials")
    text = registry.to_csv("materials", records)
    row = next(r for r in _cells(text) if r["id"] == "odd-oak")
    assert (row["name"], row["category"]) == ("''=not a formula'", "'quoted'")
    registry.load(demo_db, registry.parse_csv(text))
    assert registry.export(demo_db, "materials") == records
    negative = registry.to_csv("materials", [records[0] | {"density_kg_m3": -3.5}])
    assert _cells(negative)[0]["density_kg_m3"] == "-3.5"  # a number, not a formula
    assert registry.parse_csv(negative)["materials"][0]["density_kg_m3"] == "-3.5"


def test_hostile_product_and_component_round_trip(demo_db: Database) -> None:
    registry.create_product(
        demo_db,
        ProductIn(
            id="evil-bag",
            gtin="08012345000999",
            name="=1+1",
            sector="fashion",
            brand="maison-aurora",
            lifetime_years=2.5,
            description="@evil",
            components=[{"name": "-strap", "material": "leather-chrome", "mass_kg": 0.2}],
        ),
    )
    records = registry.export(demo_db, "products")
    text = registry.to_csv("products", records)
    row = next(r for r in _cells(text) if r["id"] == "evil-bag")
    assert (row["name"], row["description"], row["component_name"]) == (
        "'=1+1",
        "'@evil",
        "'-strap",
    )
    assert row["lifetime_years"] == "2.5"
    registry.load(demo_db, registry.parse_csv(text))
    assert registry.export(demo_db, "products") == records


pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_api_csv_export_is_neutralised(demo_db: Database, tmp_path: Path) -> None:
    from mics.api import create_app
    from mics.config import Settings

    registry.create_partner(
        demo_db, PartnerIn(id="evil-srl", kind="enterprise", is_public=False, **HOSTILE)
    )
    app = create_app(Settings(database_url="sqlite://", home=tmp_path / "var"), demo_db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mics.test") as client:
        exported = await client.get("/api/registry/export/partners", params={"format": "csv"})
    row = next(r for r in _cells(exported.text) if r["id"] == "evil-srl")
    assert row["name"] == "'" + HOSTILE["name"]
    assert row["website"] == "'" + HOSTILE["website"]


@pytest.mark.parametrize(
    "text",
    ["{}\n", "id,colour\nx,red\n", "name,kind\nX,enterprise\n"],
    ids=["json", "extra", "no-id"],
)
def test_a_csv_whose_header_is_not_the_kinds_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        registry.parse_csv(text, "partners")
    assert caught.value.field == "header"
