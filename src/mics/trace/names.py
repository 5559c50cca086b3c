"""Keys of EPCIS JSON-LD events as XML element names (EPCIS 2.0 §11 and §12; XML Names 1.0).

The JSON-LD binding names an extension field ``prefix:localName`` with a prefix its
``@context`` declares (``{"example": "https://ns.example.com/epcis/"}``); the XML binding
writes it as the element ``localName`` in that namespace. Capture therefore refuses a key
that the XML binding could not write as its capturer meant (``problem``): an undeclared
prefix, or a key that is no name at all (``"a b"``, ``"@id"``, ``"1st"``).

``xml_name`` writes any key, so that an event stored before these rules, or built by MICS
itself, never fails a reader: an undeclared prefix is declared as the IRI JSON-LD reads
the key as (``foo:bar`` is the IRI ``foo:bar``: namespace ``foo:``, local name ``bar``),
and characters outside ASCII names are escaped ``_xHHHH_`` (the name mapping of ISO/IEC
9075-14 §9.1, SQL/XML, also .NET's ``XmlConvert.EncodeName``): expat, the parser most XML
readers use, knows only the names of XML 1.0's 4th edition.
"""

from __future__ import annotations

import re
from typing import Any

from mics.trace.canonical_uri import CONTEXT_PREFIXES

__all__ = ["TEXT", "declared_prefixes", "problem", "xml_name"]

TEXT = "#text"  # the text of an element that also has children (mics.trace.xml_binding)
# A name: a letter or "_", then letters, digits, "_", "." or "-" (XML's NCName, near enough
# for capture: what is beyond ASCII is escaped on output anyway).
_NAME = re.compile(r"[^\W\d][\w.\-]*")
_ASCII_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9._\-]*")


def declared_prefixes(*contexts: Any) -> dict[str, str]:
    """Prefix -> IRI of each JSON-LD ``@context`` given (a URI, an object, or a list)."""
    found: dict[str, str] = {}
    for context in contexts:
        for entry in context if isinstance(context, list) else [context]:
            if isinstance(entry, dict):
                for prefix, iri in entry.items():
                    if isinstance(iri, str) and _NAME.fullmatch(prefix):
                        found[prefix] = iri
    return found


def problem(key: str, declared: dict[str, str], *, qualified: bool) -> str | None:
    """What ``key`` should be, or None when it is fine.

    ``qualified``: an extension of a standard EPCIS object, which must be ``prefix:name``;
    otherwise (inside an extension's value, a place, an extension event type) a plain name
    will also do.
    """
    prefix, colon, local = key.partition(":")
    if colon:
        if not (_NAME.fullmatch(prefix) and _NAME.fullmatch(local)):
            return "a namespaced extension 'prefix:name', e.g. 'example:myField'"
        if prefix not in declared and prefix not in CONTEXT_PREFIXES:
            return (
                f"a prefix that the @context declares: {prefix!r} is not declared "
                f"(add {{{prefix!r}: 'https://...'}} to the document's @context)"
            )
        return None
    if qualified:
        return "a namespaced extension like 'example:myField' whose prefix the @context declares"
    if key == TEXT or _NAME.fullmatch(key):
        return None
    return "a name: a letter or '_', then letters, digits, '_', '.' or '-'"


def xml_name(key: str, prefixes: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The XML name for ``key`` and the ``xmlns`` attributes it needs on its element.

    ``prefixes`` are the namespaces in scope (prefix -> IRI).
    """
    prefix, colon, local = key.partition(":")
    if colon and local and _ASCII_NAME.fullmatch(prefix) and not prefix.lower().startswith("xml"):
        name = f"{prefix}:{_escaped(local)}"
        if prefixes.get(prefix):
            return name, {}
        return name, {f"xmlns:{prefix}": f"{prefix}:"}  # the IRI JSON-LD reads it as
    return _escaped(key), {}


def _escaped(text: str) -> str:
    """``text`` as an ASCII XML name: any other character (a leading digit too) ``_xHHHH_``."""
    if _ASCII_NAME.fullmatch(text) and "_x" not in text and text != "xmlns":
        return text  # "xmlns" alone would declare a namespace as an attribute
    out = []
    for i, char in enumerate(text):
        if char == "_" and text.startswith("x", i + 1):
            out.append("_x005F_")  # the key's own "_x", so that no two keys meet
        elif (
            char.isascii()
            and (char.isalpha() or char == "_" or (i > 0 and (char.isdigit() or char in ".-")))
            and not (i == 0 and text == "xmlns")
        ):
            out.append(char)
        else:
            out.append(f"_x{ord(char):04X}_" if ord(char) <= 0xFFFF else f"_x{ord(char):08X}_")
    return "".join(out) or "_x_"  # an empty key: a name no other key gives
