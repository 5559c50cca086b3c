"""A Sankey diagram of a period's material flows at a site, as server-side SVG.

Inputs by eligible-material category flow into the process steps that used them,
steps into the product groups they made (and into losses), unused input into
stock. Each band's width is proportional to its kilograms; its colour is the
certified share of what flows in it (green: certified, grey: not). Pure: entries
in, SVG text out; no script, nothing fetched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import escape

from mics.custody.ledger import Output, walk
from mics.custody.model import Account, Entry
from mics.custody.pack import Pack
from mics.custody.period import Period

WIDTH, HEIGHT, NODE_WIDTH, GAP, MARGIN = 960, 380, 14, 18, 8
CERTIFIED, OTHER = (15, 123, 95), (152, 162, 179)  # the page's green and grey
STOCK = "unused, in stock"


@dataclass(frozen=True)
class Band:
    source: str
    target: str
    kg: float
    share: float  # certified share of what flows


def bands(entries: Sequence[Entry], account: Account, pack: Pack, period: Period) -> list[Band]:
    """The period's flows: category -> step -> product group (or losses), category -> stock."""
    before = [e for e in entries if e.time < period.end_time]
    producer: dict[str, str] = {}
    found: dict[tuple[str, str], list[float]] = {}

    def add(source: str, target: str, kg: float, certified: float) -> None:
        if kg <= 0:
            return
        total = found.setdefault((source, target), [0.0, 0.0])
        total[0] += kg
        total[1] += certified

    used_later = {f.identifier for e in before if e.kind == "transformation" for f in e.inputs}
    shares: dict[str, Output] = {}
    for entry in walk(before, account, pack, shares):
        inside = period.holds(entry.time)
        if entry.kind == "receipt":
            share = float(entry.shares.get(account.characteristic, 0.0))
            if not pack.eligible(account.characteristic, entry.category):
                share = 0.0
            label = f"{entry.category or 'uncertified'} input"
            for flow in entry.outputs:
                producer[flow.identifier] = label
                if inside:
                    add(label, STOCK, flow.kg, flow.kg * share)
        elif entry.kind == "transformation":
            step = entry.step or "transformation"
            made = sum(f.kg for f in entry.outputs)
            used = certified = 0.0
            for flow in entry.inputs:
                source = producer.get(flow.identifier, "other input")
                held = shares.get(flow.identifier)
                share = held.share if held else 0.0
                certified += flow.kg * share
                used += flow.kg
                if inside:
                    add(source, step, flow.kg, flow.kg * share)
                    if source.endswith(" input"):  # taken out of stock again
                        _less(found, source, STOCK, flow.kg, share)
            share = certified / used if used else 0.0
            for flow in entry.outputs:
                producer[flow.identifier] = step
            if inside:
                items = sum(f.kg for f in entry.outputs if "/21/" in f.identifier)
                lots = sum(
                    f.kg
                    for f in entry.outputs
                    if "/21/" not in f.identifier and f.identifier not in used_later
                )
                add(step, entry.product_group or "output", items, items * share)
                add(step, f"{step} lots", lots, lots * share)
                add(step, "losses", used - made, (used - made) * share)
    return [
        Band(s, t, kg, cert / kg if kg else 0.0)
        for (s, t), (kg, cert) in found.items()
        if kg > 1e-12
    ]


def _less(
    found: dict[tuple[str, str], list[float]], source: str, target: str, kg: float, share: float
) -> None:
    total = found.get((source, target))
    if total is not None:
        total[0] -= kg
        total[1] -= kg * share


def svg(flows: Sequence[Band], title: str) -> str:
    """The diagram as an ``<svg>`` element scaled to its container (``viewBox``)."""
    if not flows:
        return ""
    nodes = _columns(flows)
    columns = max(nodes.values()) + 1
    through: dict[str, float] = {}
    for b in flows:
        through[b.source] = through.get(b.source, 0.0) + b.kg
    inflow: dict[str, float] = {}
    for b in flows:
        inflow[b.target] = inflow.get(b.target, 0.0) + b.kg
    size = {n: max(through.get(n, 0.0), inflow.get(n, 0.0)) for n in nodes}
    per_column: dict[int, list[str]] = {}
    for name, column in sorted(nodes.items(), key=lambda kv: (kv[1], kv[0])):
        per_column.setdefault(column, []).append(name)
    usable = HEIGHT - 2 * MARGIN
    scale = min(
        (usable - GAP * (len(names) - 1)) / sum(size[n] for n in names)
        for names in per_column.values()
    )
    place: dict[str, tuple[float, float, float]] = {}  # x, y, height
    step = (WIDTH - 2 * MARGIN - NODE_WIDTH) / max(columns - 1, 1)
    for column, names in per_column.items():
        y = float(MARGIN)
        for name in names:
            height = max(size[name] * scale, 1.0)
            place[name] = (MARGIN + column * step, y, height)
            y += height + GAP
    out_at = {n: place[n][1] for n in nodes}
    in_at = {n: place[n][1] for n in nodes}
    parts = [
        f'<svg class="chart sankey" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for b in sorted(flows, key=lambda b: (nodes[b.source], b.source, nodes[b.target])):
        width = max(b.kg * scale, 0.8)
        x0 = place[b.source][0] + NODE_WIDTH
        x1 = place[b.target][0]
        y0 = out_at[b.source] + width / 2
        y1 = in_at[b.target] + width / 2
        out_at[b.source] += width
        in_at[b.target] += width
        middle = (x0 + x1) / 2
        parts.append(
            f'<path d="M{x0:.1f},{y0:.1f} C{middle:.1f},{y0:.1f} {middle:.1f},{y1:.1f} '
            f'{x1:.1f},{y1:.1f}" fill="none" stroke="{_colour(b.share)}" '
            f'stroke-opacity="0.45" stroke-width="{width:.2f}"><title>'
            f"{escape(b.source)} → {escape(b.target)}: {b.kg:.6g} kg, "
            f"{b.share:.0%} certified</title></path>"
        )
    for name, (left, top, height) in place.items():
        parts.append(
            f'<rect x="{left:.1f}" y="{top:.1f}" width="{NODE_WIDTH}" height="{height:.1f}" '
            f'fill="#344054"><title>{escape(name)}: {size[name]:.6g} kg</title></rect>'
        )
        at_end = left > WIDTH / 2
        x = left - 4 if at_end else left + NODE_WIDTH + 4
        anchor = ' text-anchor="end"' if at_end else ""
        parts.append(
            f'<text x="{x:.1f}" y="{top + height / 2 + 4:.1f}" font-size="12"{anchor}>'
            f"{escape(name)} · {size[name]:.4g} kg</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _columns(flows: Sequence[Band]) -> dict[str, int]:
    """Each node's column: one right of the furthest node feeding it (cycles cut)."""
    column: dict[str, int] = {}
    for b in flows:
        column.setdefault(b.source, 0)
        column.setdefault(b.target, 0)
    for _ in range(len(column)):
        changed = False
        for b in flows:
            if column[b.target] < column[b.source] + 1 <= len(column):
                column[b.target] = column[b.source] + 1
                changed = True
        if not changed:
            break
    last = max(column.values())
    sources = {b.source for b in flows}
    return {n: last if n not in sources else c for n, c in column.items()}


def _colour(share: float) -> str:
    share = min(max(share, 0.0), 1.0)
    r, g, b = (round(o + (c - o) * share) for c, o in zip(CERTIFIED, OTHER, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"
