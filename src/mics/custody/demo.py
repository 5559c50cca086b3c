"""The chain-of-custody demo (issue 18): recycled gold in Arezzo, recycled wool in Biella.

``orafi-aretini`` keeps its gold under the RJC Chain-of-Custody pack by controlled
blending (ISO 22095:2020 §3.3.3): it buys recycled gold grain from an urban-mining
refiner and mined gold, casts rings from a blend, remelts its casting scrap (which
keeps its batch's share: own scrap earns no new recycled credit), 3D-prints rings
from recycled grain and the remelted scrap, counts its stock, sells rings, and
claims each ring's recycled share for 2026Q3. ``tessiture-biellesi`` keeps wool
under the GRS pack: recycled and virgin fibre spun and woven into a fabric lot
labelled with its recycled share. Every step is an EPCIS event in the log; loading
twice adds nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from mics.custody import events as ev
from mics.custody import reports, service
from mics.db import Database
from mics.errors import Conflict
from mics.registry import create_item, exchange, get_partner, get_product
from mics.registry.schemas import ItemIn

PERIOD = "2026Q3"
DL = ev.DL
GRAIN, FIBRE, FABRIC = "08012345000722", "08012345000739", "08012345000746"
CERTIFICATES = "https://certificates.example"  # fictional certificate register
RING_GOLD_KG = {"anello-fuso": 0.00375, "anello-stampato": 0.003}  # fine gold per ring


def _data() -> dict[str, Any]:
    text = (resources.files("mics.custody") / "data" / "demo.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _lot(gtin: str, lot: str) -> str:
    return f"{DL}/01/{gtin}/10/{lot}"


def _at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T10:00:00+00:00").astimezone(UTC)


def load_custody_demo(db: Database) -> dict[str, int]:
    """Registry records, accounts, the 2026Q3 flows and claims (once)."""
    data = _data()
    exchange.load(db, data["registry"])
    rings: dict[str, list[str]] = {}
    for product, serials in data["items"].items():
        gtin = get_product(db, product).gtin
        rings[product] = [f"{DL}/01/{gtin}/21/{s}" for s in serials]
        for serial in serials:
            try:
                create_item(db, ItemIn(product=product, serial=serial, lot="Q3-2026"))
            except Conflict:
                continue
    service.open_account(
        db,
        "orafi-aretini",
        "gold",
        "recycled",
        "rjc-coc",
        "controlled_blending",
        {"cast-rings": 0.97, "printed-rings": 0.95},
    )
    service.open_account(
        db,
        "tessiture-biellesi",
        "wool",
        "recycled",
        "te-grs",
        "controlled_blending",
        {"woven-fabric": 0.92},
    )
    counts = {"custody_entries": 0, "custody_claims": 0}
    if not reports.entries(db, "orafi-aretini", "gold"):
        counts["custody_entries"] += len(service.record(db, _gold(db, rings), "orafi-aretini"))
        counts["custody_claims"] += _claim_rings(db, rings)
    if not reports.entries(db, "tessiture-biellesi", "wool"):
        counts["custody_entries"] += len(service.record(db, _wool(db), "tessiture-biellesi"))
        service.claim(
            db,
            site="tessiture-biellesi",
            material="wool",
            characteristic="recycled",
            kg=276.0,
            period=PERIOD,
            items=[_lot(FABRIC, "TB-2607")],
        )
        counts["custody_claims"] += 1
    return counts


def _supplier(db: Database, partner: str, transaction: str) -> dict[str, Any]:
    """The owning party a lot came from and its transaction document (CBV 2.0 §8.5)."""
    known = _data()["suppliers"].get(partner)
    gln = known["gln"] if known else get_partner(db, partner).gln
    return {
        "sourceList": [{"type": "owning_party", "source": f"{DL}/417/{gln}"}],
        "bizTransactionList": [
            {"type": "desadv", "bizTransaction": f"urn:epcglobal:cbv:bt:{gln}:{transaction}"}
        ],
    }


def _receipt(
    db: Database,
    gln: str,
    material: str,
    day: str,
    lot: tuple[str, float],
    certificate: str | None,
    supplier: tuple[str, str] | None,
    labels: dict[str, Any],
) -> dict[str, Any]:
    """A receipt of ``lot`` (its URI and kilograms): under which certificate of the
    register, from which supplier with which transaction document, labelled how."""
    fields: dict[str, Any] = {"quantityList": [ev.quantity(*lot)]}
    if certificate is not None:
        fields["certificationInfo"] = f"{CERTIFICATES}/{certificate}"
    if supplier is not None:
        fields.update(_supplier(db, *supplier))
    return ev.object_event("receipt", gln, material, _at(day), **fields, **labels)


def _gold(db: Database, rings: dict[str, list[str]]) -> list[dict[str, Any]]:
    gln = get_partner(db, "orafi-aretini").gln or ""
    recycled, mined = _lot(GRAIN, "UM-2607"), _lot(GRAIN, "MN-2607")
    scrap, regrain = _lot(GRAIN, "SC-2607"), _lot(GRAIN, "RG-2607")
    cast, printed = rings["anello-fuso"], rings["anello-stampato"]
    cast_kg = len(cast) * RING_GOLD_KG["anello-fuso"]
    printed_kg = len(printed) * RING_GOLD_KG["anello-stampato"]
    flows = [
        _receipt(
            db,
            gln,
            "gold",
            "2026-07-02",
            (recycled, 0.2),
            "rjc/COC-0417",
            ("affineria-urbana", "DDT-2026-0712"),
            {
                "custody:shares": {"recycled": 1.0},
                "custody:category": "recycled",
                "custody:assay": "999.9",
            },
        ),
        _receipt(
            db,
            gln,
            "gold",
            "2026-07-03",
            (mined, 0.1),
            "rjc/COC-0233",
            ("miniera-aurifera", "INV-26-188"),
            {
                "custody:shares": {"recycled": 0.0},
                "custody:category": "mined",
                "custody:assay": "999.5",
            },
        ),
        ev.transformation_event(
            gln,
            "gold",
            _at("2026-07-10"),
            [(recycled, 0.03), (mined, 0.01)],
            [(scrap, 0.008)],
            step="casting",
            product_group="cast-rings",
            items=cast,
            item_kg=RING_GOLD_KG["anello-fuso"],
        ),
        ev.transformation_event(
            gln,
            "gold",
            _at("2026-07-20"),
            [(scrap, 0.008)],
            [(regrain, 0.0078)],
            step="remelting own scrap",
            product_group="grain",
        ),
        ev.transformation_event(
            gln,
            "gold",
            _at("2026-08-05"),
            [(recycled, 0.012), (regrain, 0.0078)],
            [(_lot(GRAIN, "PW-2608"), 0.0042)],
            step="3d-printing",
            product_group="printed-rings",
            items=printed,
            item_kg=RING_GOLD_KG["anello-stampato"],
        ),
        ev.object_event(
            "shipment",
            gln,
            "gold",
            _at("2026-09-15"),
            epcList=cast[:4],
            **_supplier(db, "orafi-aretini", "DDT-2026-0931"),
        ),
    ]
    book = 0.2 + 0.1 - 0.04 + 0.008 + cast_kg - 0.008 + 0.0078 - 0.0198 + 0.0042 + printed_kg
    book -= 4 * RING_GOLD_KG["anello-fuso"]
    flows.append(
        ev.object_event(
            "stock_count",
            gln,
            "gold",
            _at("2026-09-30"),
            quantityList=[ev.quantity(_lot(GRAIN, "STOCK"), round(book * 0.999, 6))],
        )
    )
    return flows


def _claim_rings(db: Database, rings: dict[str, list[str]]) -> int:
    made = 0
    for product in ("anello-fuso", "anello-stampato"):
        held = reports.holdings(db, "orafi-aretini", "gold", "recycled")
        # the last cast ring is left unclaimed: README's over-claim example uses it
        for ring in rings[product][:-1] if product == "anello-fuso" else rings[product]:
            share = held[ring].share
            kg = int(held[ring].kg * share * 1e7) / 1e7  # never round a claim up
            service.claim(
                db,
                site="orafi-aretini",
                material="gold",
                characteristic="recycled",
                kg=kg,
                period=PERIOD,
                items=[ring],
            )
            made += 1
    return made


def _wool(db: Database) -> list[dict[str, Any]]:
    gln = get_partner(db, "tessiture-biellesi").gln or ""
    recycled, virgin = _lot(FIBRE, "RW-2607"), _lot(FIBRE, "VW-2607")
    return [
        _receipt(
            db,
            gln,
            "wool",
            "2026-07-06",
            (recycled, 500.0),
            "grs/TC-2026-55012",
            ("filatura-rigenera", "TC-55012"),
            {"custody:shares": {"recycled": 1.0}, "custody:category": "post-consumer"},
        ),
        _receipt(
            db,
            gln,
            "wool",
            "2026-07-07",
            (virgin, 300.0),
            None,
            None,
            {"custody:shares": {"recycled": 0.0}},
        ),
        ev.transformation_event(
            gln,
            "wool",
            _at("2026-07-21"),
            [(recycled, 300.0), (virgin, 200.0)],
            [(_lot(FABRIC, "TB-2607"), 460.0)],
            step="spinning and weaving",
            product_group="woven-fabric",
        ),
    ]
