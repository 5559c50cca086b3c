"""Rule packs are data: every shipped rule names its source; wordings follow thresholds."""

from __future__ import annotations

import pytest

from mics.custody.pack import MODELS, check_model, load, parse, shipped
from mics.errors import InvalidInput, NotFound


def test_the_four_schemes_ship_as_packs() -> None:
    assert {"iscc-plus", "rjc-coc", "te-rcs", "te-grs"} <= set(shipped())


@pytest.mark.parametrize("pack_id", shipped())
def test_every_rule_of_a_shipped_pack_names_its_source(pack_id: str) -> None:
    pack = load(pack_id)
    assert pack.rules, pack_id
    assert all(rule.source.strip() for rule in pack.rules)
    assert all(label.source.strip() for label in pack.labels)
    assert set(pack.models) <= set(MODELS)


def test_iscc_plus_limits_a_period_to_three_months_and_stock_to_half_a_percent() -> None:
    pack = load("iscc-plus")
    assert pack.rule("max_period_months") == 3
    assert pack.rule("stock_tolerance") == pytest.approx(0.005)
    assert pack.rule("negative_balance") is False
    assert pack.rule("cross_product_groups") is False


def test_rcs_labels_blended_from_5_percent_and_rcs_100_from_95() -> None:
    pack = load("te-rcs")
    assert pack.label(0.04) is None
    blended = pack.label(0.05)
    assert blended is not None
    assert blended.text.startswith("RCS Blended")
    label = pack.label(0.95)
    assert label is not None
    assert label.text.startswith("RCS 100")


def test_grs_certifies_from_20_percent_and_labels_from_50() -> None:
    pack = load("te-grs")
    assert pack.rule("claim_threshold") == pytest.approx(0.2)
    certified = pack.label(0.3)
    labelled = pack.label(0.5)
    assert certified is not None
    assert labelled is not None
    assert certified.text.startswith("GRS certified")
    assert labelled.text.startswith("GRS labelled")


def test_rjc_counts_only_recycled_material_as_recycled() -> None:
    pack = load("rjc-coc")
    assert pack.eligible("recycled", "recycled")
    assert not pack.eligible("recycled", "mined")
    assert pack.eligible("certified_origin", "grandfathered")
    assert not pack.eligible("certified_origin", "scrap")


def test_rjc_refuses_mass_balance_credit() -> None:
    with pytest.raises(InvalidInput, match="does not allow") as caught:
        check_model(load("rjc-coc"), "mass_balance_credit")
    assert caught.value.field == "model"


def test_an_unknown_scheme_is_not_found_naming_the_shipped_ones() -> None:
    with pytest.raises(NotFound, match="iscc-plus"):
        load("fsc-coc")


def test_a_new_pack_is_a_data_file_and_a_rule_without_source_is_refused() -> None:
    text = """
id = "demo"
name = "Demo scheme"
version = "1"
source = "test"
[[rules]]
key = "models"
value = ["book_and_claim"]
source = "the test"
[[rules]]
key = "max_period_months"
value = 1
"""
    with pytest.raises(InvalidInput, match="without a source"):
        parse(text)
    pack = parse(text.replace("value = 1\n", 'value = 1\nsource = "x"\n'))
    assert pack.models == ("book_and_claim",)
    assert pack.rule("max_period_months") == 1
