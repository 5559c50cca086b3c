"""Registry rules that need no database."""

from __future__ import annotations

import pytest

from mics.errors import InvalidInput
from mics.registry import domain


@pytest.mark.parametrize(
    ("raw", "gtin14"),
    [
        ("8012345000012", "08012345000012"),
        ("08012345000258", "08012345000258"),
        ("96385074", "00000096385074"),
        ("036000291452", "00036000291452"),
    ],
)
def test_normalise_gtin_pads_valid_gtins_to_14_digits(raw: str, gtin14: str) -> None:
    assert domain.normalise_gtin(raw) == gtin14


def test_gtin_with_wrong_check_digit_names_field_value_and_expected_digit() -> None:
    with pytest.raises(InvalidInput) as caught:
        domain.normalise_gtin("8012345000013")
    assert caught.value.field == "gtin"
    assert caught.value.value == "8012345000013"
    assert "Expected 2" in str(caught.value)


@pytest.mark.parametrize("raw", ["80123450000", "80123abc00012", "", "123456789012345"])
def test_gtin_of_wrong_shape_is_rejected(raw: str) -> None:
    with pytest.raises(InvalidInput, match="8, 12, 13 or 14 digits"):
        domain.normalise_gtin(raw)


@pytest.mark.parametrize("share", [-0.01, 1.01, float("nan")])
def test_shares_outside_unit_interval_are_rejected(share: float) -> None:
    with pytest.raises(InvalidInput) as caught:
        domain.check_share(share, "recycled_share")
    assert caught.value.field == "recycled_share"


def test_share_bounds_are_inclusive() -> None:
    assert domain.check_share(0, "s") == 0.0
    assert domain.check_share(1, "s") == 1.0


@pytest.mark.parametrize("mass", [0, -1.5, float("inf")])
def test_mass_must_be_positive_and_finite(mass: float) -> None:
    with pytest.raises(InvalidInput, match="positive number of kg"):
        domain.check_positive(mass, "mass_kg", "kg")


@pytest.mark.parametrize("serial", ["", "A" * 21, "has space", "é123"])
def test_serials_follow_gs1_character_set_82(serial: str) -> None:
    with pytest.raises(InvalidInput):
        domain.check_serial(serial)


def test_serial_accepts_cset82_punctuation() -> None:
    assert domain.check_serial("AB-12/x_9.%") == "AB-12/x_9.%"


def test_bom_cycle_is_found_through_sub_products() -> None:
    edges = {"a": ["b"], "b": ["c"], "c": ["a"]}
    assert domain.find_bom_cycle(edges, "a") == ["a", "b", "c", "a"]
    assert domain.find_bom_cycle({"a": ["b"], "b": ["c"]}, "a") is None
