"""Demo supply chains for the three demo products, as real EPCIS 2.0 events.

- Borsa Aurora: hides → tannery (chrome tanning) → leather lot → workshop
  (cutting, sewing) → bags → brand → packed in a case → retailer → sold.
- Sedia Quercia: oak logs → sawmill → boards → joinery (with beech) → chairs →
  showroom.
- Pinza R2: Ti-6Al-4V scrap → gas atomisation → powder lot → laser powder-bed
  fusion → finger lot → assembly with aluminium housings → grippers, each
  associated with its controller board.

Each event is captured by the partner that did the step, so visibility rules
apply; times are fixed, so loading twice stores nothing new (same hashes).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from mics.db import Database
from mics.registry import get_partner, list_items
from mics.trace.capture import capture_events

CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
DL = "https://id.gs1.org"
# GTINs of intermediate goods (company prefix 8012345, fictional)
HIDES, LEATHER, LINING = "08012345000401", "08012345000418", "08012345000425"
LOGS, OAK_BOARDS, BEECH_BOARDS = "08012345000500", "08012345000517", "08012345000524"
TI_SCRAP, TI_POWDER, FINGERS, HOUSING = (
    "08012345000609",
    "08012345000616",
    "08012345000623",
    "08012345000630",
)
CASE_SSCC = "080123450000000012"


def lot(gtin: str, number: str) -> str:
    return f"{DL}/01/{gtin}/10/{number}"


def item(gtin: str, serial: str) -> str:
    return f"{DL}/01/{gtin}/21/{serial}"


class Chain:
    """Builds the events of one supply chain, partner by partner, step by step."""

    def __init__(self, db: Database, start: datetime) -> None:
        self.db = db
        self.time = start
        self.events: list[tuple[str, dict[str, Any]]] = []

    def place(self, partner: str) -> dict[str, str]:
        gln = get_partner(self.db, partner).gln
        return {"id": f"{DL}/414/{gln}"}

    def party(self, partner: str) -> str:
        return f"{DL}/417/{get_partner(self.db, partner).gln}"

    def add(self, partner: str, event: dict[str, Any], hours: float = 24) -> None:
        self.time += timedelta(hours=hours)
        stamp = self.time.strftime("%Y-%m-%dT%H:%M:%S.000+01:00")
        base = {"eventTime": stamp, "eventTimeZoneOffset": "+01:00"}
        where = self.place(partner)
        self.events.append((partner, base | event | {"readPoint": where, "bizLocation": where}))

    def ship(self, sender: str, receiver: str, what: dict[str, Any], transaction: str) -> None:
        parties = {
            "sourceList": [{"type": "owning_party", "source": self.party(sender)}],
            "destinationList": [{"type": "owning_party", "destination": self.party(receiver)}],
            "bizTransactionList": [
                {
                    "type": "desadv",
                    "bizTransaction": f"urn:epcglobal:cbv:bt:{get_partner(self.db, sender).gln}:"
                    f"{transaction}",
                }
            ],
        }
        self.add(
            sender,
            {
                "type": "ObjectEvent",
                "action": "OBSERVE",
                "bizStep": "shipping",
                "disposition": "in_transit",
            }
            | what
            | parties,
        )
        self.add(
            receiver,
            {
                "type": "ObjectEvent",
                "action": "OBSERVE",
                "bizStep": "receiving",
                "disposition": "in_progress",
            }
            | what
            | parties,
            hours=30,
        )


def _q(epc_class: str, quantity: float, uom: str) -> dict[str, Any]:
    return {"epcClass": epc_class, "quantity": quantity, "uom": uom}


def _serials(db: Database, product: str) -> list[str]:
    return [i.serial for i in list_items(db, product=product, limit=500).items]


def bag_chain(db: Database) -> Chain:
    c = Chain(db, datetime(2026, 2, 2, 8, tzinfo=UTC))
    hides, leather, lining = lot(HIDES, "H26-011"), lot(LEATHER, "LC26-07"), lot(LINING, "T26-3")
    c.add(
        "conceria-del-brenta",
        {
            "type": "ObjectEvent",
            "action": "ADD",
            "bizStep": "receiving",
            "disposition": "in_progress",
            "quantityList": [_q(hides, 420.0, "KGM")],
            "ilmd": {"cbvmda:countryOfOrigin": "IT"},
        },
    )
    c.add(
        "conceria-del-brenta",
        {
            "type": "TransformationEvent",
            "bizStep": "commissioning",
            "disposition": "active",
            "inputQuantityList": [_q(hides, 420.0, "KGM")],
            "outputQuantityList": [_q(leather, 96.0, "MTK")],
            "ilmd": {"cbvmda:lotNumber": "LC26-07"},
        },
        hours=96,
    )
    c.ship(
        "conceria-del-brenta",
        "pelletteria-fiorentina",
        {"quantityList": [_q(leather, 96.0, "MTK")]},
        "DDT-2026-0311",
    )
    bags = [item("08012345000012", s) for s in _serials(db, "borsa-aurora")]
    c.add(
        "pelletteria-fiorentina",
        {
            "type": "TransformationEvent",
            "bizStep": "assembling",
            "disposition": "active",
            "inputQuantityList": [_q(leather, 4.2, "MTK"), _q(lining, 1.5, "MTK")],
            "outputEPCList": bags,
            "ilmd": {"cbvmda:lotNumber": "L2026-03"},
        },
        hours=120,
    )
    c.ship("pelletteria-fiorentina", "maison-aurora", {"epcList": bags}, "DDT-2026-0420")
    case = f"{DL}/00/{CASE_SSCC}"
    c.add(
        "maison-aurora",
        {
            "type": "AggregationEvent",
            "action": "ADD",
            "bizStep": "packing",
            "disposition": "in_progress",
            "parentID": case,
            "childEPCs": bags[:3],
        },
    )
    c.ship("maison-aurora", "boutique-brera", {"epcList": [case]}, "DDT-2026-0502")
    c.add(
        "boutique-brera",
        {
            "type": "ObjectEvent",
            "action": "OBSERVE",
            "bizStep": "retail_selling",
            "disposition": "retail_sold",
            "epcList": bags[:1],
        },
        hours=200,
    )
    return c


def chair_chain(db: Database) -> Chain:
    c = Chain(db, datetime(2026, 1, 12, 7, tzinfo=UTC))
    logs, oak, beech = (
        lot(LOGS, "Q-CAD-26-01"),
        lot(OAK_BOARDS, "OB26-4"),
        lot(BEECH_BOARDS, "BB26-2"),
    )
    c.add(
        "segheria-cadore",
        {
            "type": "ObjectEvent",
            "action": "ADD",
            "bizStep": "commissioning",
            "disposition": "active",
            "quantityList": [_q(logs, 3.2, "MTQ")],
            "ilmd": {"cbvmda:countryOfOrigin": "IT"},
        },
    )
    c.add(
        "segheria-cadore",
        {
            "type": "TransformationEvent",
            "bizStep": "commissioning",
            "disposition": "active",
            "inputQuantityList": [_q(logs, 3.2, "MTQ")],
            "outputQuantityList": [_q(oak, 1.9, "MTQ")],
        },
        hours=72,
    )
    c.ship(
        "segheria-cadore",
        "falegnameria-brianza",
        {"quantityList": [_q(oak, 1.9, "MTQ")]},
        "DDT-2026-0133",
    )
    chairs = [item("08012345000111", s) for s in _serials(db, "sedia-quercia")]
    c.add(
        "falegnameria-brianza",
        {
            "type": "TransformationEvent",
            "bizStep": "assembling",
            "disposition": "active",
            "inputQuantityList": [_q(oak, 0.04, "MTQ"), _q(beech, 0.01, "MTQ")],
            "outputEPCList": chairs,
            "ilmd": {"cbvmda:lotNumber": "Q2026-01"},
        },
        hours=150,
    )
    c.ship("falegnameria-brianza", "design-quercia", {"epcList": chairs}, "DDT-2026-0219")
    return c


def gripper_chain(db: Database) -> Chain:
    c = Chain(db, datetime(2026, 5, 4, 9, tzinfo=UTC))
    scrap, powder, fingers = (
        lot(TI_SCRAP, "S26-19"),
        lot(TI_POWDER, "P26-112"),
        lot(FINGERS, "F26-08"),
    )
    c.add(
        "polveri-metalliche",
        {
            "type": "TransformationEvent",
            "bizStep": "commissioning",
            "disposition": "active",
            "inputQuantityList": [_q(scrap, 60.0, "KGM")],
            "outputQuantityList": [_q(powder, 25.0, "KGM")],
            "ilmd": {"cbvmda:lotNumber": "P26-112"},
        },
    )
    c.ship(
        "polveri-metalliche",
        "additiva-stampa",
        {"quantityList": [_q(powder, 25.0, "KGM")]},
        "DDT-2026-0544",
    )
    c.add(
        "additiva-stampa",
        {
            "type": "TransformationEvent",
            "bizStep": "commissioning",
            "disposition": "active",
            "inputQuantityList": [_q(powder, 2.4, "KGM")],
            "outputQuantityList": [_q(fingers, 10.0, "H87")],
        },
        hours=48,
    )
    c.ship(
        "additiva-stampa",
        "robotica-presa",
        {"quantityList": [_q(fingers, 10.0, "H87")]},
        "DDT-2026-0561",
    )
    serials = _serials(db, "pinza-robotica")
    grippers = [item("08012345000258", s) for s in serials]
    c.add(
        "robotica-presa",
        {
            "type": "TransformationEvent",
            "bizStep": "assembling",
            "disposition": "active",
            "inputQuantityList": [_q(fingers, 10.0, "H87"), _q(lot(HOUSING, "H26-5"), 5.0, "H87")],
            "outputEPCList": grippers,
            "ilmd": {"cbvmda:lotNumber": "R2026-07"},
        },
        hours=72,
    )
    for n, gripper in enumerate(grippers, start=1):
        c.add(
            "robotica-presa",
            {
                "type": "AssociationEvent",
                "action": "ADD",
                "bizStep": "assembling",
                "disposition": "active",
                "parentID": gripper,
                "childEPCs": [f"{DL}/8004/08012345CB{n:05d}"],
            },
            hours=1,
        )
    return c


def load_demo_chains(db: Database) -> int:
    """Capture the three chains, each event as its partner; returns events newly stored."""
    stored = 0
    for chain in (bag_chain(db), chair_chain(db), gripper_chain(db)):
        by_partner: dict[str, list[dict[str, Any]]] = {}
        for partner, event in chain.events:
            by_partner.setdefault(partner, []).append(event)
        for partner, events in by_partner.items():
            result = capture_events(db, events, CONTEXT, partner)
            stored += result.captured
    return stored
