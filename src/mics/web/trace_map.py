"""A map of the places on a trace, drawn on the server as SVG over Natural Earth outlines.

The outlines are ``static/world/countries-110m.json``: Natural Earth 1:110m countries
(public domain) as TopoJSON from the npm package ``world-atlas`` (see its LICENSE.txt).
TopoJSON (topojson-specification §2.1.4 quantized positions, §2.2 arcs): each arc is a
list of delta-encoded integer positions, turned into longitude/latitude by the
topology's ``transform`` (``scale`` and ``translate``); a polygon's rings list arc
indexes, a negative index ``~i`` meaning arc ``i`` reversed.

The projection is equirectangular with longitudes scaled by the cosine of the middle
latitude (a local plate carrée), good enough for the few hundred kilometres of a
Made-in-Italy supply chain. The view is the places' bounding box with a margin.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from markupsafe import Markup, escape

from mics.web import static_dir

WIDTH = 640  # SVG user units; the picture scales to its box
MIN_SPAN_DEGREES = 4.0  # one place alone still shows its region
MARGIN = 0.25  # of the span, on every side

Ring = list[tuple[float, float]]  # (longitude, latitude)


@dataclass(frozen=True)
class Pin:
    """A place on the map: its label, its coordinates, and what happened there."""

    label: str
    latitude: float
    longitude: float
    note: str = ""


@cache
def country_rings() -> tuple[tuple[str, tuple[Ring, ...]], ...]:
    """(country name, its rings in degrees) for every country of the 110m outlines."""
    topology = json.loads((static_dir() / "world" / "countries-110m.json").read_text("utf-8"))
    arcs = _decoded_arcs(topology)
    countries = []
    for geometry in topology["objects"]["countries"]["geometries"]:
        polygons: list[Any] = []
        if geometry.get("type") == "Polygon":
            polygons = [geometry["arcs"]]
        elif geometry.get("type") == "MultiPolygon":
            polygons = geometry["arcs"]
        rings = tuple(_ring(ring, arcs) for polygon in polygons for ring in polygon)
        countries.append((str(geometry.get("properties", {}).get("name", "")), rings))
    return tuple(countries)


def _decoded_arcs(topology: dict[str, Any]) -> list[Ring]:
    transform = topology.get("transform")
    decoded = []
    for arc in topology["arcs"]:
        if transform is None:
            decoded.append([(float(x), float(y)) for x, y in arc])
            continue
        (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        decoded.append(points)
    return decoded


def _ring(indexes: Sequence[int], arcs: list[Ring]) -> Ring:
    points: Ring = []
    for index in indexes:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc[1:] if points else arc)  # arcs share their end points
    return points


@dataclass(frozen=True)
class View:
    """The window of the map, in degrees, and its scale to SVG units."""

    west: float
    south: float
    east: float
    north: float

    @property
    def stretch(self) -> float:  # a degree of longitude is shorter than one of latitude
        return math.cos(math.radians((self.south + self.north) / 2))

    @property
    def height(self) -> float:
        return WIDTH * (self.north - self.south) / ((self.east - self.west) * self.stretch)

    def xy(self, longitude: float, latitude: float) -> tuple[float, float]:
        x = (longitude - self.west) / (self.east - self.west) * WIDTH
        y = (self.north - latitude) / (self.north - self.south) * self.height
        return round(x, 1), round(y, 1)


def view_of(pins: Sequence[Pin]) -> View:
    """The places' bounding box, at least ``MIN_SPAN_DEGREES`` wide, with a margin."""
    south, north = min(p.latitude for p in pins), max(p.latitude for p in pins)
    west, east = min(p.longitude for p in pins), max(p.longitude for p in pins)
    span = max(north - south, (east - west) * math.cos(math.radians((south + north) / 2)))
    span = max(span, MIN_SPAN_DEGREES) * (1 + 2 * MARGIN)
    middle_lat, middle_lon = (south + north) / 2, (west + east) / 2
    stretch = math.cos(math.radians(middle_lat))
    return View(
        middle_lon - span / stretch / 2,
        middle_lat - span / 2,
        middle_lon + span / stretch / 2,
        middle_lat + span / 2,
    )


def _outline_path(view: View) -> str:
    parts = []
    for _name, rings in country_rings():
        for ring in rings:
            lons = [p[0] for p in ring]
            lats = [p[1] for p in ring]
            outside = (
                max(lons) < view.west
                or min(lons) > view.east
                or max(lats) < view.south
                or min(lats) > view.north
            )
            if outside:
                continue
            points = [view.xy(lon, lat) for lon, lat in ring]
            parts.append("M" + "L".join(f"{x:g},{y:g}" for x, y in points) + "Z")
    return "".join(parts)


def map_svg(
    pins: Sequence[Pin], route: Sequence[int] = (), title: str = "map of the places on the way"
) -> Markup:
    """The SVG of ``pins`` over the country outlines, ``route`` (pin indexes) joined in order;
    ``title`` is its accessible name."""
    if not pins:
        return Markup("")
    view = view_of(pins)
    height = round(view.height, 1)
    out = [
        f'<svg class="trace-map" viewBox="0 0 {WIDTH} {height:g}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f'<rect width="{WIDTH}" height="{height:g}" class="sea"/>',
        f'<path class="land" d="{_outline_path(view)}"/>',
    ]
    if len(route) > 1:
        line = " ".join(
            "{:g},{:g}".format(*view.xy(pins[i].longitude, pins[i].latitude)) for i in route
        )
        out.append(f'<polyline class="route" points="{line}"/>')
    for number, pin in enumerate(pins, 1):
        x, y = view.xy(pin.longitude, pin.latitude)
        side = 1 if x < WIDTH * 0.7 else -1  # labels stay inside the picture
        out.append(
            f'<g class="pin"><title>{escape(pin.label)}: {escape(pin.note)}</title>'
            f'<circle cx="{x:g}" cy="{y:g}" r="7"/>'
            f'<text x="{x:g}" y="{y + 4:g}" text-anchor="middle">{number}</text>'
            f'<text class="pin-label" x="{x + side * 10:g}" y="{y - 8:g}" '
            f'text-anchor="{"start" if side > 0 else "end"}">{escape(pin.label)}</text></g>'
        )
    out.append("</svg>")
    return Markup("".join(out))
