"""EPC URNs and GS1 Digital Link URIs: which parse, at which level, and which are refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mics.errors import InvalidInput
from mics.trace.identifier_syntax import (
    InvalidIdentifier,
    gs1_check_digit,
    is_absolute_uri,
    parse_identifier,
)


@pytest.mark.parametrize(
    ("digits", "check"),
    [
        ("0950600013435", 2),  # GTIN 09506000134352 (GS1 General Specifications example)
        ("10614141234567890", 8),  # SSCC 106141412345678908
        ("950600013430", 7),  # GLN 9506000134307
        ("0401234598765", 2),  # GTIN 04012345987652 from the EPCIS examples
        ("", 0),
    ],
)
def test_gs1_check_digit_matches_published_keys(digits: str, check: int) -> None:
    assert gs1_check_digit(digits) == check


@pytest.mark.parametrize(
    ("uri", "scheme", "level"),
    [
        ("urn:epc:id:sgtin:0614141.107346.2017", "sgtin", "instance"),
        ("urn:epc:id:sgtin:4012345.033333.AGHFG", "sgtin", "instance"),
        ("urn:epc:id:sgtin:0614141.107346.a%2Fb.c", "sgtin", "instance"),
        ("urn:epc:id:sscc:0614141.1234567890", "sscc", "instance"),
        ("urn:epc:id:sgln:952005385.011.ts4711", "sgln", "instance"),
        ("urn:epc:id:grai:4012345.55555.987", "grai", "instance"),
        ("urn:epc:id:giai:952005385.vehicle2", "giai", "instance"),
        ("urn:epc:id:gsrn:95252084.000000001", "gsrn", "instance"),
        ("urn:epc:id:gdti:0614141.12345.400", "gdti", "instance"),
        ("urn:epc:id:pgln:4012345.00225", "pgln", "instance"),
        ("urn:epc:id:sgcn:4012345.67890.04711", "sgcn", "instance"),
        ("urn:epc:id:itip:4012345.012345.01.02.987", "itip", "instance"),
        ("urn:epc:id:cpi:0614141.5PQ7%2FZ43.12345", "cpi", "instance"),
        ("urn:epc:id:gid:95100000.12345.400", "gid", "instance"),
        ("urn:epc:class:lgtin:4012345.012345.998877", "lgtin", "class"),
        ("urn:epc:class:lgtin:4023333.002000.2019-10-07", "lgtin", "class"),
        ("urn:epc:idpat:sgtin:4012345.098765.*", "sgtin", "class"),
        ("urn:epc:idpat:grai:4012345.55555.*", "grai", "class"),
    ],
)
def test_epc_urns_parse_with_scheme_and_level(uri: str, scheme: str, level: str) -> None:
    found = parse_identifier(uri)
    assert found is not None
    assert (found.syntax, found.scheme, found.level) == ("epc-urn", scheme, level)


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("urn:epc:id:sgtin:0614141.10734.2017", "13 digits"),  # 12 digits in CP + ref
        ("urn:epc:id:sgtin:06141.41107346.2017", "6 to 12 digits"),  # prefix too short
        ("urn:epc:id:sgtin:0614141.107346", "3 dot-separated fields"),
        ("urn:epc:id:sgtin:0614141.107346.123456789012345678901", "1 to 20"),
        ("urn:epc:id:sgtin:0614141.107346.a/b", "URN characters"),
        ("urn:epc:id:sgtin:0614141.1O7346.1", "numeric reference"),
        ("urn:epc:id:sscc:0614141.123456789", "17 digits"),
        ("urn:epc:id:sgln:0614141.0734.0", "12 digits"),
        ("urn:epc:id:giai:4000001.1234567890123456789012345", "at most 30"),
        ("urn:epc:id:sgcn:4012345.67890.A4711", "numeric serial"),
        ("urn:epc:id:lgtin:4012345.012345.998877", "class, not an id"),
        ("urn:epc:class:sgtin:4012345.012345.998877", "urn:epc:class:lgtin"),
        ("urn:epc:idpat:sgtin:4012345.*.*", "numeric reference"),
        ("urn:epc:idpat:sscc:0614141.*", "idpat scheme"),
        ("urn:epc:tag:sgtin-96:3.0614141.812345.6789", "urn:epc:id:<scheme>"),
        ("urn:epc:id:widget:1.2.3", "EPC scheme among"),
    ],
)
def test_malformed_epc_urns_are_refused_saying_what_was_expected(uri: str, says: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        parse_identifier(uri)
    assert says in (caught.value.expected or "")
    assert caught.value.value == uri


@pytest.mark.parametrize(
    ("uri", "scheme", "level"),
    [
        ("https://id.gs1.org/01/09506000134352", "01", "class"),
        ("https://id.gs1.org/01/70614141123451/10/998877", "01", "class"),
        ("https://id.gs1.org/01/09506000134352/21/12345", "01", "instance"),
        ("https://id.gs1.org/01/09506000134352/10/L1/21/S%2F1", "01", "instance"),
        ("https://brand.example.com/shop/01/09506000134352/21/1?17=251231", "01", "instance"),
        ("https://id.gs1.org/01/96385074", "01", "class"),  # GTIN-8
        ("https://id.gs1.org/00/106141412345678908", "00", "instance"),
        ("https://id.gs1.org/414/9506000134307", "414", "instance"),
        ("https://id.gs1.org/414/9506000134307/254/5", "414", "instance"),
        ("https://id.gs1.org/417/9506000134307", "417", "instance"),
        ("https://id.example.com/8003/040123450007718765", "8003", "instance"),
        ("https://id.gs1.org/8003/04012345000771", "8003", "class"),
        ("https://id.gs1.org/8004/4000001111", "8004", "instance"),
        ("https://id.gs1.org/8018/106141412345678908", "8018", "instance"),
        ("https://example.com/253/4012345000054987", "253", "instance"),
    ],
)
def test_digital_links_parse_with_key_and_level(uri: str, scheme: str, level: str) -> None:
    found = parse_identifier(uri)
    assert found is not None
    assert (found.syntax, found.scheme, found.level) == ("digital-link", scheme, level)


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("https://id.gs1.org/01/09506000134353", "check digit 2"),
        ("https://example.com/01/04012345123457/21/1", "check digit 6"),
        ("https://id.gs1.org/00/106141412345678907", "check digit 8"),
        ("https://id.gs1.org/414/9506000134308", "check digit 7"),
        ("https://id.gs1.org/8018/106141412345678900", "check digit 8"),
        ("https://id.gs1.org/8003/04012345000772", "check digit 1"),
        ("https://example.com/253/4012345000055987", "check digit 4"),
        ("https://id.gs1.org/01/09506000134", "a valid GTIN"),  # 11 digits
        ("https://id.gs1.org/01/abc", "a valid GTIN"),
        ("https://id.gs1.org/01/09506000134352/21/12345/10/L1", "22/10/21 or 235"),
        ("https://id.gs1.org/00/106141412345678908/21/1", "none"),
        ("https://id.gs1.org/01/09506000134352/21/123456789012345678901", "AI (21)"),
        ("https://id.gs1.org/products/123", "GS1 Digital Link path"),
    ],
)
def test_broken_digital_links_are_refused(uri: str, says: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        parse_identifier(uri)
    assert says in (caught.value.expected or "")


@pytest.mark.parametrize(
    "uri",
    [
        "https://example.com/items/4711",
        "https://example.com/01",  # an AI with no value is not a Digital Link
        "urn:uuid:6926712e-599f-4c4e-b6e9-8dd888c906bd",
        "urn:epcglobal:cbv:bt:0614141073467:1152",
        "ni:///sha-256;df7bb3c352fef055578554f09f5e2aa41782150ced7bd0b8af24dd3ccb30ba69?ver=CBV2.0",
    ],
)
def test_other_uris_are_not_gs1_identifiers(uri: str) -> None:
    assert parse_identifier(uri) is None


def test_location_identifiers_are_sgln_and_gln_only() -> None:
    places = ["urn:epc:id:sgln:0614141.00777.0", "https://id.gs1.org/414/9506000134307"]
    others = ["urn:epc:id:pgln:4012345.00225", "https://id.gs1.org/01/09506000134352"]
    assert [found.is_location for found in map(parse_identifier, places) if found] == [True, True]
    assert [found.is_location for found in map(parse_identifier, others) if found] == [False, False]


def test_invalid_identifier_is_an_invalid_input_naming_the_uri() -> None:
    with pytest.raises(InvalidInput, match=r"urn:epc:id:sscc:1\.2"):
        parse_identifier("urn:epc:id:sscc:1.2")


@pytest.mark.parametrize(
    ("value", "absolute"),
    [
        ("https://example.com/a?b=c#d", True),
        ("urn:epc:id:sgtin:0614141.107346.2017", True),
        ("example:myField", True),
        ("https://example.com/a%20b", True),
        ("shipping", False),
        ("https://example.com/a b", False),
        ("https://example.com/%zz", False),
        ("1abc:def", False),
        ("", False),
        (42, False),
    ],
)
def test_is_absolute_uri(value: object, absolute: bool) -> None:
    assert is_absolute_uri(value) is absolute


@given(st.text(alphabet="0123456789", min_size=13, max_size=13), st.integers(1, 9))
def test_a_gtin_parses_only_with_its_own_check_digit(body: str, shift: int) -> None:
    good = gs1_check_digit(body)
    found = parse_identifier(f"https://id.gs1.org/01/{body}{good}")
    assert found is not None
    assert found.scheme == "01"
    with pytest.raises(InvalidIdentifier):
        parse_identifier(f"https://id.gs1.org/01/{body}{(good + shift) % 10}")
