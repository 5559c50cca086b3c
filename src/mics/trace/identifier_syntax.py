"""GS1 identifiers as EPCIS carries them: EPC URNs and GS1 Digital Link URIs.

EPCIS 2.0 (§7.3, its data types EPC, EPCClass and location/party identifiers)
names objects, classes, places and parties with three kinds of URI:

* EPC pure identity URNs, ``urn:epc:id:sgtin:0614141.107346.2017``, with the
  class forms ``urn:epc:class:lgtin:...`` and ``urn:epc:idpat:sgtin:...*``
  (GS1 EPC Tag Data Standard 2.1: EPC pure identity, class and pattern URIs,
  and their per-scheme grammar). These carry no check digit;
  what is checked is that the company prefix and reference together have the
  number of digits the GS1 key needs.
* GS1 Digital Link URIs on any host, ``https://id.gs1.org/01/09506000134352/21/12345``
  (GS1 Digital Link URI Syntax 1.x, the URI path grammar): a primary key application identifier and
  its value, then key qualifiers in their fixed order. Numeric keys end in a GS1
  mod-10 check digit (GS1 General Specifications §7.9.1), which is verified.
* Any other absolute URI (CBV 2.0 §8, user vocabularies): accepted as is.

``parse_identifier`` returns an ``Identifier`` for the first two kinds, ``None``
for the third, and raises ``InvalidIdentifier`` for a URI that claims to be one of
the first two but is malformed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote, urlsplit

from mics.errors import InvalidInput

__all__ = [
    "Identifier",
    "InvalidIdentifier",
    "gs1_check_digit",
    "is_absolute_uri",
    "parse_identifier",
]

Level = Literal["instance", "class"]

# RFC 3986 §3: scheme ":" then only unreserved, reserved or percent-encoded characters.
_ABSOLUTE_URI = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-]*:(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*"
)
# GS1 AI encodable character set 82 (General Specifications §7.11, figure 7.11-1).
_CSET82 = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]*")
# Character set 39, used by CPID (AI 8010).
_CSET39 = re.compile(r"[#\-/0-9A-Z]*")
# TDS 2.1 URN grammar: characters allowed unescaped in the last URN component, or %-escapes.
_URN_CHARS = re.compile(r"(?:[A-Za-z0-9\-._!'()*+,:;=]|%[0-9A-Fa-f]{2})+")


class InvalidIdentifier(InvalidInput):
    """A URI that claims to be an EPC URN or a GS1 Digital Link but breaks its syntax."""


@dataclass(frozen=True)
class Identifier:
    """A GS1 identifier found in a URI.

    ``scheme`` is the EPC scheme (``sgtin``, ``lgtin``, ``sgln``, ...) for a URN, or
    the primary key application identifier (``01``, ``00``, ``414``, ...) for a
    Digital Link. ``level`` tells an individual object, place or party from a class.
    """

    uri: str
    syntax: Literal["epc-urn", "digital-link"]
    scheme: str
    level: Level

    @property
    def is_location(self) -> bool:
        """True for SGLN URNs and GLN (AI 414) Digital Links, the GS1 place identifiers."""
        return self.scheme in {"sgln", "414"}


def is_absolute_uri(value: object) -> bool:
    """True when ``value`` is a string holding an absolute URI (RFC 3986 §4.3)."""
    return isinstance(value, str) and _ABSOLUTE_URI.fullmatch(value) is not None


def gs1_check_digit(digits: str) -> int:
    """The GS1 mod-10 check digit for ``digits`` (all the digits before the check digit)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


_PARSED: dict[str, Identifier | None] = {}
_PARSED_LIMIT = 50_000  # a capture batch names each lot, place and party many times


def parse_identifier(uri: str) -> Identifier | None:
    """The GS1 identifier in ``uri``, ``None`` for a plain URI, or raise ``InvalidIdentifier``."""
    try:
        return _PARSED[uri]
    except KeyError:
        pass
    found: Identifier | None = None
    if uri[:8].lower() == "urn:epc:":
        found = _parse_epc_urn(uri)
    elif uri[:7].lower() == "http://" or uri[:8].lower() == "https://":
        found = _parse_digital_link(uri)
    if len(_PARSED) >= _PARSED_LIMIT:
        _PARSED.clear()
    _PARSED[uri] = found  # only what parsed: a malformed URI raises again, with its message
    return found


def _fail(uri: str, expected: str) -> InvalidIdentifier:
    return InvalidIdentifier(
        f"{uri!r} is not a valid GS1 identifier: expected {expected}",
        field="identifier",
        value=uri,
        expected=expected,
    )


# --- EPC URNs (TDS 2.1) ------------------------------------------------------------

# scheme -> (digits in company prefix + reference, kind of the last component, max length).
# Kinds: "digits" = whole reference is numeric and completes the key; "serial" = a last
# component in URN characters (cset 82 once unescaped) of at most ``max`` characters.
_URN_RULES: dict[str, tuple[str, ...]] = {
    "sgtin": ("13", "serial:20"),
    "sscc": ("17",),
    "sgln": ("12", "serial:20"),
    "grai": ("12", "serial:16"),
    "giai": ("free:30",),
    "gsrn": ("17",),
    "gsrnp": ("17",),
    "gdti": ("12", "serial:17"),
    "pgln": ("12",),
    "sgcn": ("12", "digits:12"),
    "ginc": ("free:30",),
    "gsin": ("16",),
    "itip": ("13", "digits2", "digits2", "serial:20"),
    "upui": ("13", "serial:28"),
    "cpi": ("cpi:30", "digits:12"),
    "lgtin": ("13", "serial:20"),
}
_NON_GS1_SCHEMES = {"gid", "usdod", "adi", "bic", "imovn"}
_PATTERN_SCHEMES = {"sgtin", "grai", "gdti", "sgcn", "itip", "upui", "cpi"}


def _parse_epc_urn(uri: str) -> Identifier:
    parts = uri.split(":", 4)
    if len(parts) != 5 or parts[2] not in {"id", "class", "idpat"}:
        raise _fail(uri, "urn:epc:id:<scheme>:..., urn:epc:class:lgtin:... or urn:epc:idpat:...")
    kind, scheme, body = parts[2], parts[3].lower(), parts[4]
    if kind == "class" and scheme != "lgtin":
        raise _fail(uri, "urn:epc:class:lgtin:<company prefix>.<item reference>.<lot>")
    if kind == "id" and scheme == "lgtin":
        raise _fail(uri, "urn:epc:class:lgtin:... (an LGTIN is a class, not an id)")
    if kind == "idpat" and scheme not in _PATTERN_SCHEMES:
        raise _fail(uri, f"an idpat scheme among {sorted(_PATTERN_SCHEMES)}")
    if scheme in _NON_GS1_SCHEMES and kind == "id":
        if not _URN_CHARS.fullmatch(body):
            raise _fail(uri, f"a non-empty urn:epc:id:{scheme}: body")
        return Identifier(uri, "epc-urn", scheme, "instance")
    rules = _URN_RULES.get(scheme)
    if rules is None:
        raise _fail(uri, f"an EPC scheme among {sorted(_URN_RULES.keys() | _NON_GS1_SCHEMES)}")
    fields = body.split(".", len(rules))  # the last component may itself hold dots
    if kind == "idpat":
        if fields[-1] != "*" or len(fields) != len(rules) + 1:
            raise _fail(uri, f"urn:epc:idpat:{scheme}:<all fields>.* (only the serial as '*')")
        fields, rules = fields[:-1], rules[:-1]
    _check_urn_fields(uri, scheme, fields, rules)
    level: Level = "class" if kind in {"class", "idpat"} else "instance"
    return Identifier(uri, "epc-urn", scheme, level)


def _check_urn_fields(uri: str, scheme: str, fields: list[str], rules: tuple[str, ...]) -> None:
    expected_parts = len(rules) + 1  # the first rule covers company prefix + reference
    if len(fields) != expected_parts:
        raise _fail(uri, f"{expected_parts} dot-separated fields after urn:epc:...:{scheme}:")
    prefix, reference, rest = fields[0], fields[1], fields[2:]
    if not (prefix.isdigit() and prefix.isascii() and 6 <= len(prefix) <= 12):
        raise _fail(uri, "a GS1 company prefix of 6 to 12 digits as the first field")
    head, *tail = rules
    if head.isdigit():
        # TDS 2.1 §6.3: a 12-digit company prefix leaves a 12-digit key (SGLN, GRAI, GDTI,
        # SGCN, PGLN) no digit for its reference, which is then empty
        empty = not reference and len(prefix) == int(head)
        if not (empty or (reference.isdigit() and reference.isascii())):
            raise _fail(uri, "a numeric reference after the company prefix")
        if len(prefix) + len(reference) != int(head):
            raise _fail(uri, f"company prefix + reference of {head} digits for {scheme}")
    else:
        kind, limit = head.split(":")
        pattern = _CSET39 if kind == "cpi" else _CSET82
        text = _unescape(uri, reference)
        if not text or not pattern.fullmatch(text) or len(prefix) + len(text) > int(limit):
            raise _fail(uri, f"company prefix + reference of at most {limit} GS1 characters")
    for value, rule in zip(rest, tail, strict=True):
        _check_urn_tail(uri, value, rule)


def _check_urn_tail(uri: str, value: str, rule: str) -> None:
    if rule == "digits2":
        if not (len(value) == 2 and value.isdigit()):
            raise _fail(uri, "a two-digit piece or total number")
        return
    kind, limit = rule.split(":")
    text = _unescape(uri, value)
    if kind == "digits":
        if not (text.isdigit() and text.isascii() and 1 <= len(text) <= int(limit)):
            raise _fail(uri, f"a numeric serial of 1 to {limit} digits")
    elif not (1 <= len(text) <= int(limit) and _CSET82.fullmatch(text)):
        raise _fail(uri, f"a serial/extension of 1 to {limit} GS1 characters (cset 82)")


def _unescape(uri: str, component: str) -> str:
    if not _URN_CHARS.fullmatch(component):
        raise _fail(uri, "only URN characters or %-escapes in each field")
    return unquote(component)


# --- GS1 Digital Link (DL URI Syntax 1.x; AI formats: General Specifications §3) ---


@dataclass(frozen=True)
class _Key:
    name: str
    value: re.Pattern[str]
    check: int | None  # leading digits that end in the check digit (0 = all), or no check
    qualifiers: tuple[tuple[str, ...], ...]  # allowed qualifier sequences, in order
    instance_qualifiers: frozenset[str]  # qualifiers that make it one object
    instance: bool  # an individual even without qualifiers


def _x(limit: int) -> re.Pattern[str]:
    return re.compile(rf"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{{1,{limit}}}")


_N = re.compile
_GTIN_QUALIFIERS = (("22", "10", "21"), ("235",))
_PRIMARY_KEYS: dict[str, _Key] = {
    "01": _Key(
        "GTIN", _N(r"\d{8}|\d{12,14}"), 0, _GTIN_QUALIFIERS, frozenset({"21", "235"}), False
    ),
    "8006": _Key("ITIP", _N(r"\d{18}"), 14, (("22", "10", "21"),), frozenset({"21"}), False),
    "00": _Key("SSCC", _N(r"\d{18}"), 18, (), frozenset(), True),
    "414": _Key("GLN", _N(r"\d{13}"), 13, (("254",), ("7040",)), frozenset(), True),
    "415": _Key("GLN of invoicing party", _N(r"\d{13}"), 13, (("8020",),), frozenset(), True),
    "417": _Key("party GLN", _N(r"\d{13}"), 13, (), frozenset(), True),
    "8017": _Key("GSRN provider", _N(r"\d{18}"), 18, (("8019",),), frozenset(), True),
    "8018": _Key("GSRN recipient", _N(r"\d{18}"), 18, (("8019",),), frozenset(), True),
    "402": _Key("GSIN", _N(r"\d{17}"), 17, (), frozenset(), True),
    "253": _Key("GDTI", _N(r"\d{13}[!-z]{0,17}"), 13, (), frozenset(), False),
    "255": _Key("GCN", _N(r"\d{13}\d{0,12}"), 13, (), frozenset(), False),
    "8003": _Key("GRAI", _N(r"0\d{13}[!-z]{0,16}"), 14, (), frozenset(), False),
    "8004": _Key("GIAI", _x(30), None, (), frozenset(), True),
    "401": _Key("GINC", _x(30), None, (), frozenset(), True),
    "8010": _Key("CPID", _N(r"[#\-/0-9A-Z]{1,30}"), None, (("8011",),), frozenset({"8011"}), False),
    "8013": _Key("GMN", _x(25), None, (), frozenset(), False),
}
_QUALIFIER_VALUES: dict[str, re.Pattern[str]] = {
    "22": _x(20),
    "10": _x(20),
    "21": _x(20),
    "235": _x(28),
    "254": _x(20),
    "7040": _N(r"\d[!-z]{3}"),
    "8011": _N(r"\d{1,12}"),
    "8019": _N(r"\d{1,10}"),
    "8020": _x(25),
}
# Serialised forms: a GDTI, GCN or GRAI with a serial after the key is one object.
_SERIAL_AFTER = {"253": 13, "255": 13, "8003": 14}


def _parse_digital_link(uri: str) -> Identifier | None:
    parts = urlsplit(uri)
    segments = parts.path.split("/")[1:]
    start = _key_position(segments)
    if start is None:
        if parts.hostname == "id.gs1.org":
            raise _fail(uri, "a GS1 Digital Link path /<primary key AI>/<value>[/<AI>/<value>...]")
        return None
    ai = segments[start]
    key = _PRIMARY_KEYS[ai]
    value = unquote(segments[start + 1])
    if not key.value.fullmatch(value) or not _CSET82.fullmatch(value):
        raise _fail(uri, f"a valid {key.name} after /{ai}/, got {value!r}")
    if key.check is not None:
        digits = value[: key.check or len(value)]
        check = gs1_check_digit(digits[:-1])
        if check != int(digits[-1]):
            raise _fail(uri, f"{key.name} {digits} to end in check digit {check}")
    pairs = segments[start + 2 :]
    names = tuple(pairs[0::2])
    if names and not any(_in_order(names, allowed) for allowed in key.qualifiers):
        orders = " or ".join("/".join(order) for order in key.qualifiers) or "none"
        raise _fail(uri, f"key qualifiers allowed for {key.name}, in this order: {orders}")
    for name, raw in zip(pairs[0::2], pairs[1::2], strict=True):
        if not _QUALIFIER_VALUES[name].fullmatch(unquote(raw)):
            raise _fail(uri, f"a valid value for AI ({name}), got {unquote(raw)!r}")
    serialised = ai in _SERIAL_AFTER and len(value) > _SERIAL_AFTER[ai]
    instance = key.instance or serialised or bool(key.instance_qualifiers.intersection(names))
    return Identifier(uri, "digital-link", ai, "instance" if instance else "class")


def _key_position(segments: list[str]) -> int | None:
    """Where the primary key starts: an AI, a value, then only qualifier AI/value pairs."""
    all_qualifiers = set(_QUALIFIER_VALUES)
    for i, segment in enumerate(segments):
        if segment not in _PRIMARY_KEYS or (len(segments) - i) % 2:
            continue
        if all(segments[j] in all_qualifiers for j in range(i + 2, len(segments), 2)):
            return i
    return None


def _in_order(names: tuple[str, ...], allowed: tuple[str, ...]) -> bool:
    positions = [allowed.index(n) for n in names if n in allowed]
    return len(positions) == len(names) and positions == sorted(set(positions))
