"""GS1 Digital Link parsing and building, GTIN check digits, EPC SGTIN URNs."""

from __future__ import annotations

import pytest

from mics.errors import InvalidInput
from mics.passport.digital_link import (
    DigitalLink,
    gtin_is_valid,
    normalise_gtin,
    parse_digital_link,
)

GTIN = "09506000134352"  # GS1's own example GTIN (check digit 2)


def test_parse_full_uri_with_every_qualifier() -> None:
    link = parse_digital_link(f"https://id.gs1.org/01/{GTIN}/22/V2/10/LOT7/21/SN-001?17=261231")
    assert link == DigitalLink(gtin=GTIN, serial="SN-001", lot="LOT7", cpv="V2")


def test_parse_bare_path() -> None:
    assert parse_digital_link(f"/01/{GTIN}/21/42") == DigitalLink(gtin=GTIN, serial="42")


def test_parse_keeps_a_resolver_path_prefix_out_of_the_link() -> None:
    link = parse_digital_link(f"https://passports.mics.example/dl/01/{GTIN}/10/L1")
    assert link == DigitalLink(gtin=GTIN, lot="L1")


def test_parse_pads_a_gtin_13_to_14_digits() -> None:
    assert parse_digital_link("/01/9506000134352").gtin == GTIN


def test_parse_decodes_percent_encoded_serial() -> None:
    assert parse_digital_link(f"/01/{GTIN}/21/A%2FB").serial == "A/B"


def test_bad_check_digit_names_the_gtin() -> None:
    with pytest.raises(InvalidInput, match="Expected 2, got 3") as caught:
        parse_digital_link("https://id.gs1.org/01/09506000134353/21/1")
    assert caught.value.field == "gtin"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("/01/ABC/21/1", "gtin"),
        (f"/01/{GTIN}/21/" + "1" * 21, "serial"),
        (f"/01/{GTIN}/10/" + "L" * 21, "lot"),
        (f"/01/{GTIN}/21/1/10/L", "digital_link"),  # qualifiers out of order
        (f"ftp://id.gs1.org/01/{GTIN}", "digital_link"),
        ("https://id.gs1.org/products/123", "digital_link"),
        ("/00/106141412345678908", "digital_link"),  # an SSCC, not a GTIN
        (f"/01/{GTIN}/235/X", "digital_link"),
        ("01/09506000134352", "digital_link"),
    ],
)
def test_bad_links_name_the_field(text: str, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_digital_link(text)
    assert caught.value.field == field
    assert caught.value.value == text


def test_uri_is_canonical_order_under_the_base_url() -> None:
    link = DigitalLink(gtin=GTIN, serial="SN1", lot="L/1", cpv="V")
    assert link.uri("https://passports.mics.example/dl/") == (
        f"https://passports.mics.example/dl/01/{GTIN}/22/V/10/L%2F1/21/SN1"
    )
    assert DigitalLink(gtin=GTIN).uri() == f"https://id.gs1.org/01/{GTIN}"


def test_uri_round_trips_through_parse() -> None:
    link = DigitalLink(gtin=GTIN, serial='A/B%&<>?"x!', lot="(7)", cpv="+:;")
    assert parse_digital_link(link.uri("https://x.example")) == link


def test_uri_refuses_a_base_that_is_not_http() -> None:
    with pytest.raises(InvalidInput) as caught:
        DigitalLink(gtin=GTIN).uri("passports.mics.example")
    assert caught.value.field == "base_url"


def test_constructor_validates_fields() -> None:
    with pytest.raises(InvalidInput) as caught:
        DigitalLink(gtin="9506000134352")  # 13 digits: normalise first
    assert caught.value.field == "gtin"
    with pytest.raises(InvalidInput) as caught:
        DigitalLink(gtin=GTIN, serial="é")
    assert caught.value.field == "serial"


def test_epc_urn_of_the_tds_example() -> None:
    # EPC TDS: urn:epc:id:sgtin:0614141.112345.400 is GTIN 10614141123459, serial 400.
    link = DigitalLink(gtin="10614141123459", serial="400")
    assert link.epc_urn() == "urn:epc:id:sgtin:0614141.112345.400"


def test_epc_urn_with_another_company_prefix_length() -> None:
    link = DigitalLink(gtin="04012345111118", serial="987")
    assert link.epc_urn(7) == "urn:epc:id:sgtin:4012345.011111.987"
    assert link.epc_urn(9) == "urn:epc:id:sgtin:401234511.0111.987"


def test_epc_urn_escapes_serial_per_tds_table_a1() -> None:
    link = DigitalLink(gtin="10614141123459", serial='A/B%&<>?"x!')
    assert link.epc_urn() == "urn:epc:id:sgtin:0614141.112345.A%2FB%25%26%3C%3E%3F%22x!"


def test_epc_urn_agrees_with_the_epcis_reference_normaliser() -> None:
    normaliser = pytest.importorskip("epcis_event_hash_generator.dl_normaliser").normaliser
    for link in (
        DigitalLink(gtin="04012345111118", serial="987"),
        DigitalLink(gtin="10614141123459", serial="A/B!x"),
        DigitalLink(gtin=GTIN, serial="S-1"),
    ):
        assert normaliser(link.epc_urn()) == link.uri()


def test_epc_urn_needs_a_serial_and_a_sane_prefix_length() -> None:
    with pytest.raises(InvalidInput) as caught:
        DigitalLink(gtin=GTIN).epc_urn()
    assert caught.value.field == "serial"
    with pytest.raises(InvalidInput) as caught:
        DigitalLink(gtin=GTIN, serial="1").epc_urn(13)
    assert caught.value.field == "company_prefix_length"


@pytest.mark.parametrize(
    ("gtin", "valid"),
    [
        (GTIN, True),
        ("9506000134352", True),
        ("96385074", True),  # GTIN-8
        ("614141123452", True),  # GTIN-12 (UPC-A)
        ("09506000134353", False),
        ("950600013435", False),  # 12 digits with a wrong check digit
        ("0950600013435", False),
        ("123", False),
        ("0950600013435X", False),
        ("", False),
    ],
)
def test_gtin_is_valid(gtin: str, valid: bool) -> None:
    assert gtin_is_valid(gtin) is valid


def test_normalise_gtin_pads_and_accepts_spaces() -> None:
    assert normalise_gtin(" 9 506000 134352 ") == GTIN
    assert normalise_gtin("96385074") == "00000096385074"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("9506000134353", "check digit 3 but its digits give 2"),
        ("95060001", "check digit"),
        ("abc", "expected 8, 12, 13 or 14 digits"),
        ("123456789", "expected 8, 12, 13"),
    ],
)
def test_normalise_gtin_errors_name_the_gtin(text: str, problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem) as caught:
        normalise_gtin(text)
    assert caught.value.field == "gtin"
