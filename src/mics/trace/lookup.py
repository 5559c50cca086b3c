"""Turn what a user types into the identifier genealogy starts from.

Accepted: an EPC URN (``urn:epc:id:sgtin:...``, ``urn:epc:class:lgtin:...``), a GS1
Digital Link (``https://id.gs1.org/01/.../21/...`` or any host, or a bare
``/01/.../21/...`` path), or ``GTIN/serial`` of a registered item. For a
registered item with a lot, the lot's class is traced too: an item was made
from what its lot was made from.
"""

from __future__ import annotations

from mics.db import Database
from mics.errors import InvalidInput, NotFound
from mics.registry import find_item
from mics.registry.domain import normalise_gtin
from mics.trace.canonical_uri import canonical


def resolve(db: Database, text: str) -> tuple[str, list[str]]:
    """The canonical identifier for ``text`` and the extra roots (its lot) to trace with it."""
    text = text.strip()
    if text.startswith("/01/"):
        text = "https://id.gs1.org" + text
    if "/" in text and not text.startswith(("urn:", "http://", "https://")):
        gtin, _, serial = text.partition("/")
        uri = f"https://id.gs1.org/01/{normalise_gtin(gtin)}/21/{serial}"
    elif text.startswith(("urn:", "http://", "https://")):
        uri = canonical(text)
    else:
        raise InvalidInput(
            "not an identifier MICS can trace",
            field="epc",
            value=text,
            expected="an EPC URN, a GS1 Digital Link, or GTIN/serial of an item",
        )
    extra: list[str] = []
    parts = uri.split("/")
    if uri.startswith("https://id.gs1.org/01/") and len(parts) >= 7 and parts[5] == "21":
        try:
            item = find_item(db, parts[4], parts[6])
        except (NotFound, InvalidInput):
            item = None
        if item is not None and item.lot:
            extra.append(f"https://id.gs1.org/01/{item.gtin}/10/{item.lot}")
    return uri, extra
