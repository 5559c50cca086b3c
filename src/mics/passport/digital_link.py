"""GS1 Digital Link URIs for serialised trade items, and their EPC identity.

Follows the GS1 Digital Link Standard: URI Syntax (primary key
``/01/{GTIN-14}`` with the key qualifiers ``/22/{cpv}``, ``/10/{lot}``,
``/21/{serial}`` in that order, after a resolver domain and optional path prefix;
canonical form §4.12), the GS1 General Specifications §7.9 (GTIN check digit) and the GS1 EPC
Tag Data Standard §6.3.1 (SGTIN pure identity URI
``urn:epc:id:sgtin:CompanyPrefix.Indicator+ItemRef.Serial``) with the escaping of
its Table A-1. Parsing is done by ``biip`` (``GS1DigitalLinkURI``); query
attributes such as ``?17=YYMMDD`` are accepted and not kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from biip import ParseError
from biip.checksums import gs1_standard_check_digit
from biip.gs1_digital_link_uris import GS1DigitalLinkURI

from mics.errors import InvalidInput

GS1_RESOLVER = "https://id.gs1.org"
DIGITAL_LINK_SHAPE = "https://{host}[/{prefix}]/01/{GTIN}[/22/{cpv}][/10/{lot}][/21/{serial}]"

# The length of a GS1 Company Prefix (6..12 digits) cannot be read off a GTIN:
# GS1 member organisations assign prefixes of different lengths, and only the
# licensee (or GS1's prefix-length table) knows it. 7 is the length used in the
# EPC Tag Data Standard's own examples (company prefix 0614141), so it is the
# least surprising default; callers pass the length written on their GS1 licence.
DEFAULT_COMPANY_PREFIX_LENGTH = 7

_AI_FIELDS = {"01": "gtin", "22": "cpv", "10": "lot", "21": "serial"}
# GS1 AI encodable character set 82, 1..20 characters (AIs 10, 21, 22).
_CS82_20 = re.compile(r'[!"%-?A-Z_a-z]{1,20}')
# EPC TDS Table A-1: CS82 characters that must be %-escaped in an EPC URI.
_EPC_ESCAPES = str.maketrans(
    {'"': "%22", "%": "%25", "&": "%26", "/": "%2F", "<": "%3C", ">": "%3E", "?": "%3F"}
)
_GTIN_LENGTHS = (8, 12, 13, 14)


@dataclass(frozen=True)
class DigitalLink:
    """A trade item (GTIN-14) with optional variant, lot and serial."""

    gtin: str
    serial: str | None = None
    lot: str | None = None
    cpv: str | None = None

    def __post_init__(self) -> None:
        if not (len(self.gtin) == 14 and gtin_is_valid(self.gtin)):
            raise InvalidInput(
                f"{self.gtin!r} is not a 14-digit GTIN with a valid check digit; "
                "use normalise_gtin() on user input",
                field="gtin",
                value=self.gtin,
                expected="14 digits with a GS1 check digit",
            )
        for name in ("serial", "lot", "cpv"):
            value = getattr(self, name)
            if value is not None and not _CS82_20.fullmatch(value):
                raise InvalidInput(
                    f"{value!r} is not 1-20 characters of the GS1 set 82 "
                    "(letters, digits and !\"%&'()*+,-./:;<=>?_)",
                    field=name,
                    value=value,
                    expected="1-20 GS1 CS82 characters",
                )

    def uri(self, base_url: str = GS1_RESOLVER) -> str:
        """The canonical Digital Link URI under ``base_url`` (a resolver, maybe a path)."""
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise InvalidInput(
                f"{base_url!r} is not an http(s) URL without a query",
                field="base_url",
                value=base_url,
                expected="https://host[/path]",
            )
        path = f"/01/{self.gtin}"
        for ai, value in (("22", self.cpv), ("10", self.lot), ("21", self.serial)):
            if value is not None:
                path += f"/{ai}/{quote(value, safe='')}"
        return base_url.rstrip("/") + path

    def epc_urn(self, company_prefix_length: int = DEFAULT_COMPANY_PREFIX_LENGTH) -> str:
        """The EPC pure identity URI ``urn:epc:id:sgtin:...`` (EPC TDS §6.3.1)."""
        if self.serial is None:
            raise InvalidInput(
                "is missing; an SGTIN names one item, so it needs a serial (AI 21)",
                field="serial",
                expected="a serial number",
            )
        if not 6 <= company_prefix_length <= 12:
            raise InvalidInput(
                f"is {company_prefix_length}; a GS1 Company Prefix has 6 to 12 digits",
                field="company_prefix_length",
                value=company_prefix_length,
                expected="6..12",
            )
        indicator, rest = self.gtin[0], self.gtin[1:13]
        company_prefix = rest[:company_prefix_length]
        item_reference = indicator + rest[company_prefix_length:]
        serial = self.serial.translate(_EPC_ESCAPES)
        return f"urn:epc:id:sgtin:{company_prefix}.{item_reference}.{serial}"


def parse_digital_link(text: str) -> DigitalLink:
    """A Digital Link from a full URI or a bare path such as ``/01/{gtin}/21/{serial}``."""
    uri = text.strip()
    if uri.startswith("/"):
        uri = GS1_RESOLVER + uri
    try:
        parsed = GS1DigitalLinkURI.parse(uri)
    except ParseError as error:
        ai = re.search(r"AI \((\d+)\)", str(error))
        raise InvalidInput(
            f"{text!r} is not a GS1 Digital Link: {error}",
            field=_AI_FIELDS.get(ai.group(1), "digital_link") if ai else "digital_link",
            value=text,
            expected=DIGITAL_LINK_SHAPE,
        ) from None
    found = {es.ai.ai: es for es in parsed.element_strings}
    gtin = found.get("01")
    if gtin is None:
        raise InvalidInput(
            f"{text!r} names no GTIN (AI 01); passports are keyed by GTIN",
            field="digital_link",
            value=text,
            expected=DIGITAL_LINK_SHAPE,
        )
    if gtin.gtin_error is not None:
        raise InvalidInput(
            f"{gtin.value!r} in {text!r}: {gtin.gtin_error}",
            field="gtin",
            value=gtin.value,
            expected="14 digits with a GS1 check digit",
        )
    if "235" in found:
        raise InvalidInput(
            f"{text!r} carries a third-party GTIN extension (AI 235), which MICS does not use",
            field="digital_link",
            value=text,
            expected=DIGITAL_LINK_SHAPE,
        )

    def value(ai: str) -> str | None:
        element = found.get(ai)
        return None if element is None else element.value

    return DigitalLink(gtin=gtin.value, serial=value("21"), lot=value("10"), cpv=value("22"))


def gtin_is_valid(gtin: str) -> bool:
    """True for 8, 12, 13 or 14 digits whose last digit is the GS1 check digit."""
    if len(gtin) not in _GTIN_LENGTHS or not (gtin.isascii() and gtin.isdigit()):
        return False
    return gs1_standard_check_digit(gtin[:-1]) == int(gtin[-1])


def normalise_gtin(text: str) -> str:
    """A GTIN-8/12/13/14 as typed (spaces allowed) as the 14-digit GTIN."""
    digits = "".join(text.split())
    if len(digits) not in _GTIN_LENGTHS or not (digits.isascii() and digits.isdigit()):
        raise InvalidInput(
            f"{text!r} is not a GTIN; expected 8, 12, 13 or 14 digits",
            field="gtin",
            value=text,
            expected="8, 12, 13 or 14 digits",
        )
    check = gs1_standard_check_digit(digits[:-1])
    if check != int(digits[-1]):
        raise InvalidInput(
            f"{text!r} ends in check digit {digits[-1]} but its digits give {check}; "
            "re-read the number under the barcode",
            field="gtin",
            value=text,
            expected=f"check digit {check}",
        )
    return digits.zfill(14)
