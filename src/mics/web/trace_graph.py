"""A genealogy (``mics.trace.genealogy``) drawn on the server as an SVG graph.

Layered drawing: one column per depth from the traced object, material flowing left
to right (upstream: the raw lots on the left, the traced item on the right;
downstream: the lot on the left, the finished goods and their cases on the right).
Edges run as the genealogy's do, from an input to what was made of it and from a
child to its parent (EPCIS 2.0 §7.4 transformation and aggregation), as arrows.
Boxes carry names, not URIs (``mics.cli.trace_view.Labels``); a box's tooltip and
link keep the identifier.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from urllib.parse import quote

from markupsafe import Markup, escape

from mics.cli.trace_view import Labels

BOX_WIDTH = 210
BOX_HEIGHT = 40
COLUMN_GAP = 70
ROW_GAP = 14
MAX_BOXES = 120  # more is not readable as a picture: the timeline lists them all
LABEL_CHARS = 30
RELATION_WORDS = {
    "made_from": "made into",
    "contains": "inside",
    "same_lot": "item of lot",
    "part_of": "packed in",
}


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def graph_svg(
    answer: dict[str, Any], labels: Labels, title: str = "what was made of what"
) -> Markup:
    """The SVG of ``answer`` (``Genealogy.as_json()``), ``title`` its accessible name;
    empty for a lone node."""
    nodes = answer["nodes"][:MAX_BOXES]
    if len(nodes) < 2:
        return Markup("")
    upstream = answer["direction"] == "upstream"
    columns: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for node in nodes:
        columns[int(node["depth"])].append(node)
    deepest = max(columns)
    place: dict[str, tuple[float, float]] = {}
    for depth, members in columns.items():
        column = deepest - depth if upstream else depth
        for row, node in enumerate(members):
            place[node["id"]] = (column * (BOX_WIDTH + COLUMN_GAP), row * (BOX_HEIGHT + ROW_GAP))
    width = (deepest + 1) * (BOX_WIDTH + COLUMN_GAP) - COLUMN_GAP + 2
    height = max(len(m) for m in columns.values()) * (BOX_HEIGHT + ROW_GAP) - ROW_GAP + 2
    out = [
        f'<svg class="trace-graph" viewBox="-1 -1 {width} {height}" width="{width}" '
        f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z"/></marker></defs>',
    ]
    for edge in answer["edges"]:
        if edge["from"] not in place or edge["to"] not in place:
            continue
        (x1, y1), (x2, y2) = place[edge["from"]], place[edge["to"]]
        if x1 > x2:  # drawn with the flow: left to right
            (x1, y1), (x2, y2) = (x2, y2), (x1, y1)
        start = (x1 + BOX_WIDTH, y1 + BOX_HEIGHT / 2)
        end = (x2 - 2, y2 + BOX_HEIGHT / 2)
        bend = (start[0] + end[0]) / 2
        words = RELATION_WORDS.get(edge["relation"], edge["relation"])
        out.append(
            f'<path class="edge {escape(edge["relation"])}" marker-end="url(#arrow)" '
            f'd="M{start[0]:g},{start[1]:g} C{bend:g},{start[1]:g} {bend:g},{end[1]:g} '
            f'{end[0]:g},{end[1]:g}"><title>{escape(words)}</title></path>'
        )
    for node in nodes:
        x, y = place[node["id"]]
        name = labels.thing(node["id"])
        root = " root" if node["depth"] == 0 else ""
        link = f"/trace?epc={quote(node['id'], safe='')}"
        out.append(
            f'<a href="{link}"><g class="node {escape(node["kind"])}{root}">'
            f"<title>{escape(node['id'])}</title>"
            f'<rect x="{x:g}" y="{y:g}" width="{BOX_WIDTH}" height="{BOX_HEIGHT}" rx="8"/>'
            f'<text x="{x + 10:g}" y="{y + 25:g}">{escape(_short(name))}</text></g></a>'
        )
    out.append("</svg>")
    return Markup("".join(out))
