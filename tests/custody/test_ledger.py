"""Claims per ISO 22095 model: what is available, what is refused and with what figure."""

from __future__ import annotations

import pytest
from tests.custody.support import account, at, certificate, make, receipt

from mics.custody.balance import balance
from mics.custody.ledger import OverClaim, decide, lineage
from mics.custody.model import Entry
from mics.custody.pack import load
from mics.custody.period import parse_period
from mics.errors import Conflict, InvalidInput

Q3 = parse_period("2026Q3")
RJC, ISCC, GRS = load("rjc-coc"), load("iscc-plus"), load("te-grs")


def _blend() -> list[Entry]:
    return [
        receipt("recycled", 0.2, 1.0, 1),
        receipt("mined", 0.1, 0.0, 2, category="mined"),
        make([("recycled", 0.03), ("mined", 0.01)], [("ring-1", 0.019), ("ring-2", 0.019)], 9),
    ]


def test_controlled_blending_passes_the_batch_share_to_its_output() -> None:
    held = lineage(_blend(), account("controlled_blending"), RJC)
    assert held["ring-1"].share == pytest.approx(0.75)
    assert held["recycled"].kg == pytest.approx(0.17)  # what the casting left
    assert held["recycled"].consumed is False


def test_controlled_blending_claim_up_to_the_share_and_over_it_refused_with_what_is_available() -> (
    None
):
    kept, entries = account("controlled_blending"), _blend()
    made = decide(kept, RJC, Q3, 0.01425, ["ring-1"], entries, [])
    assert made.share == pytest.approx(0.75)
    assert made.text.startswith("RJC Chain-of-Custody: 75% recycled gold")
    with pytest.raises(OverClaim) as caught:
        decide(kept, RJC, Q3, 0.015, ["ring-2"], entries, [made])
    problem = caught.value.problem()
    assert problem["status"] == 409
    assert problem["available_kg"] == pytest.approx(0.01425)
    assert problem["short_kg"] == pytest.approx(0.00075)


def test_an_item_carries_one_claim_per_account() -> None:
    kept, entries = account("controlled_blending"), _blend()
    first = decide(kept, RJC, Q3, 0.01, ["ring-1"], entries, [])
    with pytest.raises(Conflict, match="already carry a claim"):
        decide(kept, RJC, Q3, 0.001, ["ring-1"], entries, [first])


def test_remelted_own_scrap_keeps_its_batch_share_and_earns_no_new_credit() -> None:
    entries = [
        *_blend()[:2],
        make([("recycled", 0.03), ("mined", 0.01)], [("ring", 0.03), ("scrap", 0.01)], 9),
        make([("scrap", 0.01)], [("grain", 0.0098)], 10, group="grain", step="remelting"),
    ]
    kept = account("mass_balance_credit", pack="iscc-plus")
    held = lineage(entries, kept, ISCC)
    assert held["grain"].share == pytest.approx(0.75)
    # the credit method: only the recycled receipt earns credit, 0.2 kg, whatever is remelted
    made = decide(kept, ISCC, Q3, 0.0098, ["grain"], entries, [])
    assert sum(a.kg for a in made.allocations) == pytest.approx(0.0098)
    assert {a.event_id for a in made.allocations} == {entries[0].event_id}


def test_segregated_output_must_be_wholly_certified() -> None:
    kept, entries = account("segregated"), _blend()
    with pytest.raises(Conflict, match="wholly certified"):
        decide(kept, RJC, Q3, 0.01, ["ring-1"], entries, [])
    pure = [*entries, make([("recycled", 0.02)], [("ring-3", 0.019)], 12)]
    assert decide(kept, RJC, Q3, 0.019, ["ring-3"], pure, []).share == pytest.approx(1.0)


def test_identity_preserved_output_comes_from_one_source() -> None:
    entries = [
        receipt("a", 0.1, 1.0, 1),
        receipt("b", 0.1, 1.0, 2),
        make([("a", 0.01), ("b", 0.01)], [("ring", 0.02)], 3),
        make([("a", 0.01)], [("ring-a", 0.01)], 4),
    ]
    kept = account("identity_preserved")
    with pytest.raises(Conflict, match="one certified source"):
        decide(kept, RJC, Q3, 0.02, ["ring"], entries, [])
    assert decide(kept, RJC, Q3, 0.01, ["ring-a"], entries, []).kg == pytest.approx(0.01)


def test_credit_method_converts_with_the_product_group_factor_and_uses_credits_first_in() -> None:
    kept = account("mass_balance_credit", pack="iscc-plus", rings=0.8)
    entries = [
        receipt("r1", 0.01, 1.0, 1),
        receipt("r2", 0.01, 1.0, 2),
        receipt("virgin", 0.1, 0.0, 3),
        make([("virgin", 0.05)], [("batch", 0.04)], 4),
    ]
    made = decide(kept, ISCC, Q3, 0.012, ["batch"], entries, [])
    # 0.012 kg of output at factor 0.8 uses 0.015 kg of input credit: all of r1, half of r2
    assert [round(a.kg, 9) for a in made.allocations] == [0.01, 0.005]
    with pytest.raises(OverClaim) as caught:
        decide(kept, ISCC, Q3, 0.005, ["virgin"], entries, [made])
    assert caught.value.problem()["available_kg"] == pytest.approx(0.004)


def test_claims_may_not_cross_product_groups() -> None:
    kept = account("mass_balance_credit", pack="iscc-plus", rings=0.9, chains=0.8)
    entries = [
        receipt("r", 1.0, 1.0, 1),
        make([("r", 0.1)], [("ring", 0.09)], 2, group="rings"),
        make([("r", 0.1)], [("chain", 0.08)], 3, group="chains"),
    ]
    with pytest.raises(Conflict, match="different product groups"):
        decide(kept, ISCC, Q3, 0.01, ["ring", "chain"], entries, [])


def test_rolling_average_applies_the_period_share_to_the_output() -> None:
    kept = account("mass_balance_rolling_average", pack="iscc-plus")
    entries = [
        receipt("r", 30.0, 1.0, 1),
        receipt("v", 70.0, 0.0, 2, category=None),
        make([("r", 30.0), ("v", 70.0)], [("lot-1", 50.0), ("lot-2", 45.0)], 3),
    ]
    made = decide(kept, ISCC, Q3, 15.0, ["lot-1"], entries, [])
    assert made.share == pytest.approx(0.3)
    with pytest.raises(OverClaim) as caught:
        decide(kept, ISCC, Q3, 14.0, ["lot-2"], entries, [made])
    assert caught.value.problem()["available_kg"] == pytest.approx(13.5)


def test_book_and_claim_draws_on_certificates_without_carry_over_past_its_period() -> None:
    kept = account("book_and_claim", pack="iscc-plus")
    entries = [
        certificate(5.0, 1),
        receipt("v", 10.0, 0.0, 2, category=None),
        make([("v", 10.0)], [("lot", 9.0)], 3),
    ]
    made = decide(kept, ISCC, Q3, 5.0, ["lot"], entries, [])
    assert made.allocations[0].kg == pytest.approx(5.0)


def test_grs_refuses_a_claim_below_its_20_percent_threshold() -> None:
    kept = account("controlled_blending", pack="te-grs")
    entries = [
        receipt("rw", 100.0, 1.0, 1, category="post-consumer"),
        receipt("vw", 900.0, 0.0, 2, category=None),
        make([("rw", 100.0), ("vw", 900.0)], [("fabric", 950.0)], 3),
    ]
    with pytest.raises(Conflict, match="below the 20%"):
        decide(kept, GRS, Q3, 95.0, ["fabric"], entries, [])


def test_a_claim_names_items_the_site_holds_by_the_period_end() -> None:
    kept, entries = account("controlled_blending"), _blend()
    with pytest.raises(InvalidInput, match="not an item or lot") as caught:
        decide(kept, RJC, parse_period("2026-06"), 0.001, ["ring-1"], entries, [])
    assert caught.value.field == "items"
    with pytest.raises(InvalidInput, match="positive"):
        decide(kept, RJC, Q3, 0.0, ["ring-1"], entries, [])


def test_the_balance_closes_with_what_was_claimed_and_lost() -> None:
    kept, entries = account("controlled_blending"), _blend()
    made = decide(kept, RJC, Q3, 0.01425, ["ring-1"], entries, [])
    b = balance(kept, RJC, Q3, entries, [made])
    assert b.credited_kg == pytest.approx(0.2)
    assert b.claimed_kg == pytest.approx(0.01425)
    # 0.2 certified in; the casting lost 2 g of a 75% batch: 1.5 g of recycled gold
    assert b.closing_kg == pytest.approx(0.2 - 0.0015 - 0.01425)
    assert b.reconciliation.book_kg == pytest.approx(0.3 - 0.002)
    assert b.reconciliation.counted_kg is None
    assert at(0) == Q3.start_time
