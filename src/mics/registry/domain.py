"""Registry rules that hold whatever the store: identifiers, shares, masses, BOM trees.

GTINs follow the GS1 General Specifications §7.9 (mod-10 check digit, parsed with
``biip``); serials follow AI (21): 1-20 characters of GS1 character set 82.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

from biip import ParseError
from biip.gtin import Gtin

from mics.errors import InvalidInput

PARTNER_KINDS = ("university", "research_centre", "public_body", "enterprise")
PROJECT_STATUSES = ("proposed", "active", "completed")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
# GS1 General Specifications §7.11, character set 82 (AI 21 serial, AI 10 lot).
CSET82 = re.compile(r"^[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")


def normalise_gtin(value: str, field: str = "gtin") -> str:
    """The 14-digit GTIN for ``value`` (8, 12, 13 or 14 digits), check digit verified."""
    text = str(value).strip()
    if not text.isdigit() or len(text) not in (8, 12, 13, 14):
        raise InvalidInput(
            "a GTIN is 8, 12, 13 or 14 digits",
            field=field,
            value=value,
            expected="GTIN-8/12/13/14 digits with a valid check digit",
        )
    try:
        return Gtin.parse(text).as_gtin_14()
    except ParseError as error:
        raise InvalidInput(
            f"{error}",
            field=field,
            value=value,
            expected="a GTIN whose last digit is its GS1 mod-10 check digit",
        ) from error


def check_gln(value: str, field: str = "gln") -> str:
    """A 13-digit GS1 Global Location Number with a valid check digit."""
    if not (value.isdigit() and len(value) == 13) or _mod10(value[:-1]) != int(value[-1]):
        raise InvalidInput(
            "a GLN is 13 digits ending in its GS1 mod-10 check digit",
            field=field,
            value=value,
            expected="13 digits with a valid check digit",
        )
    return value


def _mod10(digits: str) -> int:
    """GS1 General Specifications §7.9.1 check digit of ``digits``."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def check_serial(value: str, field: str = "serial") -> str:
    if not CSET82.match(value):
        raise InvalidInput(
            "serial numbers are 1-20 characters of GS1 character set 82",
            field=field,
            value=value,
            expected="1-20 of A-Z a-z 0-9 and !\"%&'()*+,-./:;<=>?_",
        )
    return value


def check_slug(value: str, field: str = "id") -> str:
    if not SLUG.match(value):
        raise InvalidInput(
            "ids are lower-case letters, digits and hyphens, up to 80 characters",
            field=field,
            value=value,
            expected="a slug such as 'pelletteria-rossi'",
        )
    return value


LANGUAGE = re.compile(r"^[a-z]{2}$")


def check_language(code: str, field: str = "lang") -> str:
    """An ISO 639-1 code of a language other than English (the main texts' language)."""
    if not LANGUAGE.match(code) or code == "en":
        raise InvalidInput(
            "is not a language code for translated texts",
            field=field,
            value=code,
            expected="a lower-case ISO 639-1 code other than 'en' (the main texts), e.g. 'it'",
        )
    return code


def check_share(value: float, field: str) -> float:
    if not isinstance(value, (int, float)) or math.isnan(value) or not 0.0 <= value <= 1.0:
        raise InvalidInput(
            "a share is a fraction between 0 and 1",
            field=field,
            value=value,
            expected="a number in [0, 1] (0.3 means 30 %)",
        )
    return float(value)


def check_positive(value: float, field: str, unit: str) -> float:
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise InvalidInput(
            f"must be a positive number of {unit}",
            field=field,
            value=value,
            expected=f"a number > 0 ({unit})",
        )
    return float(value)


def check_choice(value: str, choices: Sequence[str], field: str) -> str:
    if value not in choices:
        raise InvalidInput(
            f"unknown value {value!r}",
            field=field,
            value=value,
            expected="one of " + ", ".join(choices),
        )
    return value


def check_country(value: str, field: str = "country") -> str:
    if not COUNTRY.match(value):
        raise InvalidInput(
            "countries are ISO 3166-1 alpha-2 codes",
            field=field,
            value=value,
            expected="two upper-case letters such as IT",
        )
    return value


def find_bom_cycle(edges: Mapping[str, Sequence[str]], start: str) -> list[str] | None:
    """A path ``start -> ... -> start`` through sub-products, or None when the BOM is a tree."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for child in edges.get(node, ()):
            if child == start:
                return [*path, child]
            if child not in seen:
                seen.add(child)
                stack.append((child, [*path, child]))
    return None
