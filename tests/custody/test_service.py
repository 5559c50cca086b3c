"""The custody service: the demo balances, claims and refusals on SQLite and PostgreSQL;
the many refusals on a copy of one SQLite demo database (loading the demo is slow)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.databases import Templates

from mics.custody import events as ev
from mics.custody import reports, service
from mics.custody.demo import DL, GRAIN
from mics.custody.ledger import OverClaim
from mics.custody.store import CustodyClaimRow, CustodyEntryRow
from mics.db import Database
from mics.errors import Conflict, InvalidInput, MicsError, NotFound
from mics.registry import get_partner
from mics.trace.store import EventRow

RING = f"{DL}/01/08012345000708/21/AF0008"  # the demo leaves this cast ring unclaimed
SITE, GLN = "orafi-aretini", "8012345900121"


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory, templates: Templates) -> Path:
    path = tmp_path_factory.mktemp("custody") / "demo.db"
    db = templates.sqlite("demo", path)
    db.dispose()
    return path


@pytest.fixture
def site_db(demo_file: Path, tmp_path: Path) -> Iterator[Database]:
    """A copy of the SQLite demo database."""
    shutil.copyfile(demo_file, tmp_path / "demo.db")
    db = Database.from_url(f"sqlite:///{tmp_path / 'demo.db'}")
    yield db
    db.dispose()


def _counts(db: Database) -> tuple[int, int, int]:
    with db.read() as s:
        return (
            s.scalar(select(func.count()).select_from(CustodyClaimRow)) or 0,
            s.scalar(select(func.count()).select_from(CustodyEntryRow)) or 0,
            s.scalar(select(func.count()).select_from(EventRow)) or 0,
        )


def _claim(db: Database, **changes: Any) -> Any:
    body: dict[str, Any] = {
        "site": SITE,
        "material": "gold",
        "characteristic": "recycled",
        "kg": 0.002,
        "period": "2026Q3",
        "items": [RING],
    } | changes
    return service.claim(db, **body)


def test_the_demo_claims_balance_for_2026q3(demo_db: Database) -> None:
    (gold,) = reports.balances(demo_db, SITE, "2026Q3")
    assert gold.account.key == "orafi-aretini/gold/recycled"
    assert len(gold.claims) == 12
    assert gold.claimed_kg == pytest.approx(7 * 0.0028125 + 5 * 0.0027045)
    assert gold.credited_kg == pytest.approx(0.2)
    assert 0 <= gold.closing_kg < gold.credited_kg - gold.claimed_kg
    assert gold.reconciliation.within is True
    (wool,) = reports.balances(demo_db, "tessiture-biellesi", "2026Q3")
    assert [c.text for c in wool.claims] == ["GRS labelled: made with 60% recycled wool"]
    assert wool.closing_kg == pytest.approx(200.0)


def test_a_claim_is_an_event_in_the_log_and_names_its_evidence(demo_db: Database) -> None:
    before = _counts(demo_db)
    made = _claim(demo_db)
    assert (
        made.text
        == "RJC Chain-of-Custody: 53.3% recycled gold (controlled blending), period 2026Q3"
    )
    assert _counts(demo_db) == (before[0] + 1, before[1], before[2] + 1)
    with demo_db.read() as s:
        stored = set(
            s.scalars(select(EventRow.event_id).where(EventRow.event_id.in_(made.evidence)))
        )
    assert stored == set(made.evidence)  # receipts, the casting and the claim's own event
    assert made.evidence[-1] == made.event_id


def test_an_over_claim_is_refused_with_what_is_available_and_stores_nothing(
    demo_db: Database,
) -> None:
    before = _counts(demo_db)
    with pytest.raises(OverClaim) as caught:
        _claim(demo_db, kg=0.003)
    assert caught.value.problem()["available_kg"] == pytest.approx(0.0028125)
    assert caught.value.problem()["short_kg"] == pytest.approx(0.0001875)
    assert _counts(demo_db) == before


@pytest.mark.parametrize(
    ("changes", "error", "field"),
    [
        ({"site": "nobody"}, NotFound, "id"),
        ({"material": "silver"}, NotFound, "material"),
        ({"unit": "g"}, InvalidInput, "unit"),
        ({"period": "2026-08"}, None, "period"),  # overlaps 2026Q3, the demo's period
        ({"period": "2026Q9"}, InvalidInput, "period"),
        ({"kg": -1.0}, InvalidInput, "kg"),
        ({"items": ["not an identifier"]}, InvalidInput, "items[0]"),
        ({"items": [f"{DL}/01/08012345000708/21/AF0001"]}, Conflict, "items"),
    ],
)
def test_bad_claims_are_refused_naming_the_field(
    site_db: Database, changes: dict[str, Any], error: type[MicsError] | None, field: str
) -> None:
    before = _counts(site_db)
    with pytest.raises(error or InvalidInput) as caught:
        _claim(site_db, **changes)
    assert caught.value.problem().get("field") == field
    assert _counts(site_db) == before


def test_opening_an_account_checks_site_scheme_model_and_factors(site_db: Database) -> None:
    with pytest.raises(NotFound, match="no rule pack"):
        service.open_account(site_db, SITE, "silver", "recycled", "lbma", "segregated")
    with pytest.raises(InvalidInput, match=r"outside \(0, 1\]"):
        service.open_account(
            site_db,
            "tessiture-biellesi",
            "cotton",
            "recycled",
            "te-grs",
            "segregated",
            {"yarn": 1.5},
        )
    with pytest.raises(Conflict, match="one pack per material"):
        service.open_account(
            site_db, SITE, "gold", "certified_origin", "iscc-plus", "mass_balance_credit"
        )
    with pytest.raises(InvalidInput, match="does not cover"):
        service.open_account(site_db, SITE, "wool", "recycled", "rjc-coc", "segregated")


def test_iscc_refuses_a_period_longer_than_three_months(site_db: Database) -> None:
    service.open_account(site_db, SITE, "silver", "recycled", "iscc-plus", "mass_balance_credit")
    with pytest.raises(InvalidInput, match="longer than the 3 months") as caught:
        reports.balances(site_db, SITE, "2026H2")
    assert caught.value.field == "period"


def _casting(kg_in: float, kg_out: float) -> dict[str, Any]:
    return ev.transformation_event(
        GLN,
        "gold",
        datetime(2026, 9, 20, tzinfo=UTC),
        [(f"{DL}/01/{GRAIN}/10/UM-2607", kg_in)],
        [(f"{DL}/01/{GRAIN}/10/X-1", kg_out)],
        step="casting",
        product_group="cast-rings",
    )


def test_events_that_do_not_add_up_are_refused_and_nothing_is_stored(site_db: Database) -> None:
    before = _counts(site_db)
    with pytest.raises(InvalidInput, match="do not add up"):
        service.record(site_db, [_casting(0.01, 0.02)], SITE)  # more out than in
    with pytest.raises(InvalidInput, match="holds"):
        service.record(site_db, [_casting(5.0, 4.0)], SITE)  # more than the lot holds
    wrong_unit = _casting(0.01, 0.009)
    wrong_unit["inputQuantityList"][0]["uom"] = "LBR"
    with pytest.raises(InvalidInput, match="wrong unit"):
        service.record(site_db, [wrong_unit], SITE)
    elsewhere = _casting(0.01, 0.009) | {"bizLocation": ev.location("8012345900138")}
    with pytest.raises(InvalidInput, match="not orafi-aretini's"):
        service.record(site_db, [elsewhere], SITE)
    assert _counts(site_db) == before


def test_a_direct_entry_is_an_epcis_event_and_enters_the_ledger(site_db: Database) -> None:
    gln = get_partner(site_db, SITE).gln or ""
    entered = service.record(site_db, [_casting(0.01, 0.0095)], SITE)
    assert [e.kind for e in entered] == ["transformation"]
    held = reports.holdings(site_db, SITE, "gold", "recycled")
    assert held[f"{DL}/01/{GRAIN}/10/X-1"].share == pytest.approx(1.0)
    assert gln == GLN


def _receipt(category: str, **fields: Any) -> dict[str, Any]:
    return ev.object_event(
        "receipt",
        GLN,
        "gold",
        datetime(2026, 9, 1, tzinfo=UTC),
        quantityList=[ev.quantity(f"{DL}/01/{GRAIN}/10/GF-1", 0.05)],
        **{"custody:shares": {"recycled": 1.0}, "custody:category": category, **fields},
    )


def test_rjc_accepts_only_eligible_material_and_grandfathered_stock_dated_before_2012(
    site_db: Database,
) -> None:
    with pytest.raises(InvalidInput, match="eligible material") as caught:
        service.record(site_db, [_receipt("scrap")], SITE)
    assert caught.value.field == "eventList[0].custody:category"
    with pytest.raises(InvalidInput, match="before 2012-01-01"):
        service.record(
            site_db, [_receipt("grandfathered", **{"custody:stockDate": "2015-03-01"})], SITE
        )
    entered = service.record(
        site_db, [_receipt("grandfathered", **{"custody:stockDate": "2011-06-30"})], SITE
    )
    assert entered[0].evidence["stockDate"] == "2011-06-30"
    # grandfathered gold is CoC material, but not recycled: it earns no recycled share
    held = reports.holdings(site_db, SITE, "gold", "recycled")
    assert held[f"{DL}/01/{GRAIN}/10/GF-1"].share == 0.0
