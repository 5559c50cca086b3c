"""The CLI's one error line: field, message, value received and expected form, each once."""

from __future__ import annotations

from mics.cli import one_line
from mics.custody.period import parse_period
from mics.errors import InvalidInput, NotFound, TamperDetected


def test_bad_input_names_field_value_and_expected_form() -> None:
    error = InvalidInput("bad seed", field="--seed", value=-5, expected="0 <= seed < 2**32")
    assert one_line(error) == "--seed: bad seed: got -5; expected 0 <= seed < 2**32"


def test_a_message_that_already_says_the_value_and_form_is_not_repeated() -> None:
    error = InvalidInput(
        "'x' is not a GTIN; expected 14 digits", field="gtin", value="x", expected="14 digits"
    )
    assert one_line(error) == "gtin: 'x' is not a GTIN; expected 14 digits"


def test_a_bad_period_reads_as_one_line_with_the_forms_expected() -> None:
    try:
        parse_period("2026-13")
    except InvalidInput as error:
        line = one_line(error)
    assert line.startswith("period: not a period")
    assert line.count("2026-13") == 1
    assert "expected 2026Q3, 2026H2, 2026-07, 2026 or 2026-07-01/2026-09-30" in line
    assert "\n" not in line


def test_not_found_with_context_says_what_was_expected() -> None:
    error = NotFound("no API key with prefix 'zz'", field="prefix", value="zz", expected="8 hex")
    assert one_line(error) == "no API key with prefix 'zz': expected 8 hex"


def test_a_long_value_is_cut_and_a_multi_line_message_folded() -> None:
    error = InvalidInput("not JSON\nat line 2", field="FILE", value="y" * 500)
    line = one_line(error)
    assert line.startswith("FILE: not JSON at line 2: got 'yyy")
    assert line.endswith("...")
    assert len(line) < 200


def test_an_error_without_context_is_its_message() -> None:
    assert one_line(TamperDetected("leaf 3 differs")) == "leaf 3 differs"
