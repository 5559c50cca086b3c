"""Registry services against SQLite and (when present) PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from mics import registry
from mics.db import Database
from mics.demo import load_demo
from mics.errors import Conflict, InvalidInput, NotFound
from mics.registry.schemas import (
    ComponentIn,
    ItemIn,
    MaterialIn,
    PartnerPatch,
    ProductIn,
    ProductPatch,
)
from mics.registry.store import ItemRow, MaterialRow, PartnerRow, ProductRow


def _count(db: Database, model: type) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _material(id: str = "oak", **kw: object) -> MaterialIn:
    base = {
        "id": id,
        "name": "Oak",
        "category": "wood",
        "density_kg_m3": 720.0,
        "country": "IT",
        "recycled_share": 0.0,
        "bio_based_share": 1.0,
    }
    return MaterialIn(**(base | kw))


def test_demo_has_the_partnership_structure_and_loads_idempotently(demo_db: Database) -> None:
    assert [s.id for s in registry.list_sectors(demo_db)] == [
        "factory-automation",
        "fashion",
        "furniture",
    ]
    spokes = registry.list_spokes(demo_db)
    assert len(spokes) == 8
    assert spokes[5].title.startswith("Additive Manufacturing as disruptive enabler")
    partners = registry.list_partners(demo_db, limit=100)
    assert partners.total == 25
    assert sum(p.is_public for p in partners.items) == 12
    assert all(p.fictional for p in partners.items)
    counts = (_count(demo_db, PartnerRow), _count(demo_db, ProductRow), _count(demo_db, ItemRow))
    load_demo(demo_db)
    assert (
        (_count(demo_db, PartnerRow), _count(demo_db, ProductRow), _count(demo_db, ItemRow))
        == counts
        == (26, 5, 28)  # 25 members plus this instance's operator, listed apart; the
        # custody demo's two rings (13 items) beside the three products (15 items)
    )
    assert registry.get_partner(demo_db, "mics-operator").kind == "public_body"


def test_partner_filters_and_pagination(demo_db: Database) -> None:
    public = registry.list_partners(demo_db, is_public=True, limit=100)
    assert public.total == 12
    assert {p.kind for p in public.items} <= {"university", "research_centre", "public_body"}
    fashion = registry.list_partners(demo_db, sector="fashion", limit=100)
    assert all("fashion" in p.sectors for p in fashion.items)
    page1 = registry.list_partners(demo_db, limit=10, offset=0)
    page3 = registry.list_partners(demo_db, limit=10, offset=20)
    assert (len(page1.items), len(page3.items), page3.total) == (10, 5, 25)
    assert not {p.id for p in page1.items} & {p.id for p in page3.items}
    found = registry.list_partners(demo_db, q="tanning")
    assert {p.id for p in found.items} >= {"conceria-del-brenta"}


def test_unknown_filter_value_and_bad_page_are_invalid_input(demo_db: Database) -> None:
    with pytest.raises(InvalidInput, match="kind"):
        registry.list_partners(demo_db, kind="castle")
    with pytest.raises(InvalidInput, match="limit"):
        registry.list_partners(demo_db, limit=0)


def test_update_partner_changes_only_given_fields(demo_db: Database) -> None:
    before = registry.get_partner(demo_db, "segheria-cadore")
    after = registry.update_partner(
        demo_db, "segheria-cadore", PartnerPatch(city="Pieve di Cadore", spokes=[3, 5])
    )
    assert (after.city, after.spokes, after.name) == ("Pieve di Cadore", [3, 5], before.name)


def test_product_bom_tree_expands_sub_products_with_scaled_masses(demo_db: Database) -> None:
    registry.create_product(
        demo_db,
        ProductIn(
            id="strap",
            gtin="8012345000302",
            name="Strap",
            sector="fashion",
            brand="maison-aurora",
            lifetime_years=5,
            components=[
                ComponentIn(name="Leather", material="leather-vegetable", mass_kg=0.2),
                ComponentIn(name="Buckle", material="brass-hardware", mass_kg=0.05),
            ],
        ),
    )
    registry.create_product(
        demo_db,
        ProductIn(
            id="bag-with-strap",
            gtin="8012345000319",
            name="Bag with strap",
            sector="fashion",
            brand="maison-aurora",
            lifetime_years=10,
            components=[
                ComponentIn(name="Body", material="leather-chrome", mass_kg=0.5),
                ComponentIn(name="Strap", product="strap", mass_kg=0.125),
            ],
        ),
    )
    tree = registry.product_tree(demo_db, "08012345000319")
    assert tree.mass_kg == pytest.approx(0.625)
    strap = tree.children[1]
    assert (strap.kind, strap.ref) == ("product", "strap")
    # the strap line weighs 0.125 kg, half the strap's own 0.25 kg BOM: children scale by 0.5
    assert [c.mass_kg for c in strap.children] == pytest.approx([0.1, 0.025])
    with pytest.raises(InvalidInput, match="cannot contain itself"):
        registry.update_product(
            demo_db,
            "strap",
            ProductPatch(
                components=[ComponentIn(name="Loop", product="bag-with-strap", mass_kg=0.1)]
            ),
        )
    assert registry.get_product(demo_db, "strap").mass_kg == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"gtin": "8012345000303"}, "gtin"),
        ({"brand": "nobody"}, "brand[0]"),
        ({"lifetime_years": 0}, "lifetime_years"),
        ({"sector": "space"}, "sector[0]"),
    ],
)
def test_bad_product_is_rejected_and_nothing_stored(
    demo_db: Database, change: dict[str, object], field: str
) -> None:
    raw = {
        "id": "wallet",
        "gtin": "8012345000302",
        "name": "Wallet",
        "sector": "fashion",
        "brand": "maison-aurora",
        "lifetime_years": 6,
        "components": [{"name": "Leather", "material": "leather-chrome", "mass_kg": 0.1}],
    }
    with pytest.raises(InvalidInput) as caught:
        registry.create_product(demo_db, ProductIn(**(raw | change)))
    assert caught.value.field == field
    assert _count(demo_db, ProductRow) == 5  # the three products and custody's two rings


def test_component_mass_must_be_positive(demo_db: Database) -> None:
    with pytest.raises(InvalidInput) as caught:
        registry.create_product(
            demo_db,
            ProductIn(
                id="w",
                gtin="8012345000302",
                name="W",
                sector="fashion",
                brand="maison-aurora",
                lifetime_years=2,
                components=[ComponentIn(name="L", material="leather-chrome", mass_kg=-0.1)],
            ),
        )
    assert (caught.value.field, caught.value.value) == ("components[0].mass_kg", -0.1)


def test_material_share_outside_range_is_rejected(db: Database) -> None:
    with pytest.raises(InvalidInput) as caught:
        registry.create_material(db, _material(recycled_share=1.2))
    assert (caught.value.field, caught.value.value) == ("recycled_share", 1.2)
    assert _count(db, MaterialRow) == 0


def test_duplicate_serial_is_a_conflict_and_lot_is_kept(demo_db: Database) -> None:
    item = registry.create_item(
        demo_db, ItemIn(product="08012345000012", serial="BA99999", lot="L1")
    )
    assert (item.gtin, item.serial, item.lot) == ("08012345000012", "BA99999", "L1")
    with pytest.raises(Conflict, match="BA99999"):
        registry.create_item(demo_db, ItemIn(product="borsa-aurora", serial="BA99999"))
    assert registry.find_item(demo_db, "8012345000012", "BA99999").id == item.id
    lot = registry.list_items(demo_db, lot="L2026-03")
    assert lot.total == 5


def test_unknown_ids_raise_not_found(db: Database) -> None:
    with pytest.raises(NotFound):
        registry.get_product(db, "nothing")
    with pytest.raises(NotFound):
        registry.get_partner(db, "nobody")


def test_import_is_all_or_nothing(demo_db: Database) -> None:
    data = registry.parse_json(
        json.dumps(
            {
                "materials": [
                    {
                        "id": "wool",
                        "name": "Wool",
                        "category": "textile",
                        "density_kg_m3": 1300,
                        "country": "IT",
                    },
                    {
                        "id": "bad",
                        "name": "Bad",
                        "category": "textile",
                        "density_kg_m3": 1300,
                        "country": "IT",
                        "bio_based_share": 3,
                    },
                ]
            }
        )
    )
    with pytest.raises(InvalidInput) as caught:
        registry.load(demo_db, data)
    assert caught.value.field == "materials[1].bio_based_share"
    with pytest.raises(NotFound):
        registry.get_material(demo_db, "wool")


def test_csv_round_trip_of_products_and_partners(demo_db: Database, tmp_path: object) -> None:
    for kind in ("partners", "materials", "products", "projects"):
        records = registry.export(demo_db, kind)
        again = registry.parse_csv(registry.to_csv(kind, records))
        assert list(again) == [kind]
        parsed = again[kind]
        assert [r["id"] for r in parsed] == [r["id"] for r in records]
        counts = registry.load(demo_db, again)
        assert counts[kind] == len(records)
        assert registry.export(demo_db, kind) == records


@pytest.mark.parametrize(
    ("text", "field"),
    [("id,name\n", "header"), ("id,gtin,name\nx,1\n", "line 2"), ("", "header")],
)
def test_malformed_csv_names_the_problem(text: str, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        registry.parse_csv(text)
    assert caught.value.field == field


def test_malformed_json_names_line_and_column() -> None:
    with pytest.raises(InvalidInput, match="line 1 column 15"):
        registry.parse_json('{"partners": [}')
    with pytest.raises(InvalidInput, match="unknown kind"):
        registry.parse_json('{"castles": []}')


def test_product_texts_round_trip_through_json_and_csv_and_bad_languages_are_refused(
    sqlite_db: Database,
) -> None:
    from mics.demo import load_demo
    from mics.registry import export, load, parse_csv, to_csv

    load_demo(sqlite_db)
    records = export(sqlite_db, "products")
    chair = next(r for r in records if r["id"] == "sedia-quercia")
    assert chair["texts"]["it"]["name"] == "Sedia Quercia in rovere"
    parsed = parse_csv(to_csv("products", records))
    assert [p.get("texts", {}) for p in parsed["products"]] == [r["texts"] for r in records]
    bad = dict(chair, id="sedia-due", gtin="8012345000999", texts={"EN": {"name": "x"}})
    with pytest.raises(InvalidInput) as refused:
        load(sqlite_db, {"products": [bad]})
    assert refused.value.field == "products[0].texts.EN"
    assert export(sqlite_db, "products") == records  # nothing stored
