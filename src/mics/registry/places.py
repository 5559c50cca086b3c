"""Where partners are: the coordinates of the cities the registry names (WGS 84, EPSG:4326).

A partner record carries its city; ``data/places.csv`` gives each city's latitude and
longitude in decimal degrees with the source of every row. The trace map
(``mics.web.trace_pages``) puts the read points and business locations of events
(GS1 GLNs, ``/414/`` and ``/417/`` Digital Links) on it through their partner's city.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

from mics.db import Database
from mics.registry.service import list_partners


@dataclass(frozen=True)
class Place:
    """A named point: a partner's site at its city's coordinates."""

    name: str
    city: str
    latitude: float
    longitude: float


@cache
def city_positions() -> dict[str, tuple[float, float]]:
    """City name (lower case) -> (latitude, longitude), from ``data/places.csv``."""
    text = (resources.files("mics.registry") / "data" / "places.csv").read_text("utf-8")
    return {
        row["city"].strip().lower(): (float(row["latitude"]), float(row["longitude"]))
        for row in csv.DictReader(text.splitlines())
    }


def places_by_gln(db: Database) -> dict[str, Place]:
    """Each partner with a GLN and a city of known coordinates, by GLN."""
    found: dict[str, Place] = {}
    positions = city_positions()
    offset = 0
    while True:
        page = list_partners(db, limit=500, offset=offset)
        for partner in page.items:
            position = positions.get(partner.city.strip().lower())
            if partner.gln and position is not None:
                found[partner.gln] = Place(partner.name, partner.city, *position)
        offset += len(page.items)
        if not page.items or offset >= page.total:
            return found
