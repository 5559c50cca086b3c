"""Server-side SVG charts of factory runs: lines over time, bars, a Sankey of flows.

Plain SVG 1.1 text built here (nothing fetched at run time, no plotting library);
every label is XML-escaped. Used by ``mics factory simulate --plot`` and
``mics factory sweep --plot`` and by the run's web page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

__all__ = ["bars", "lines", "material_flows", "sankey", "stack", "stock_chart", "sweep_chart"]

PALETTE = ("#1b6ca8", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d96a3", "#30638e")
WIDTH, HEIGHT, PAD = 640, 300, 48


def lines(
    title: str,
    xs: Sequence[float],
    series: Mapping[str, Sequence[float]],
    *,
    x_label: str,
    y_label: str,
) -> str:
    """A line chart of ``series`` (name -> values at ``xs``)."""
    values = [v for ys in series.values() for v in ys if v == v]
    top = max(values, default=1.0) or 1.0
    left, right = (min(xs), max(xs)) if xs else (0.0, 1.0)
    span = (right - left) or 1.0

    def x(v: float) -> float:
        return PAD + (v - left) / span * (WIDTH - 2 * PAD)

    def y(v: float) -> float:
        return HEIGHT - PAD - v / top * (HEIGHT - 2 * PAD)

    body = [_axes(title, f"{left:g}", f"{right:g}", f"{top:.3g}", x_label, y_label)]
    for n, (name, ys) in enumerate(series.items()):
        color = PALETTE[n % len(PALETTE)]
        points = " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b in zip(xs, ys, strict=False))
        body.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{points}"/>')
        body.append(
            f'<text x="{WIDTH - PAD + 4}" y="{PAD + 14 * n}" font-size="11" fill="{color}">'
            f"{escape(name)}</text>"
        )
    return _svg(body, WIDTH + 120)


def bars(title: str, values: Mapping[str, float], unit: str) -> str:
    """Horizontal bars, one per key."""
    top = max(values.values(), default=1.0) or 1.0
    row = 22
    height = PAD + row * len(values) + 16
    body = [f'<text x="{PAD}" y="20" font-size="14">{escape(title)}</text>']
    for n, (name, value) in enumerate(values.items()):
        y = PAD + n * row
        width = max(0.0, value) / top * (WIDTH - 260)
        body.append(f'<text x="{PAD}" y="{y + 14}" font-size="11">{escape(name)}</text>')
        body.append(
            f'<rect x="170" y="{y + 3}" width="{width:.1f}" height="14" '
            f'fill="{PALETTE[n % len(PALETTE)]}"/>'
        )
        body.append(
            f'<text x="{176 + width:.1f}" y="{y + 14}" font-size="11">'
            f"{value:.3g} {escape(unit)}</text>"
        )
    return _svg(body, WIDTH, height)


def sankey(title: str, flows: Sequence[tuple[str, str, float]]) -> str:
    """A Sankey diagram of ``(source, target, kg)`` flows: nodes in columns by order of
    first appearance along the flows, band widths proportional to mass."""
    column: dict[str, int] = {}
    for source, target, _ in flows:
        column.setdefault(source, 0)
        # a node met first as a source keeps its column: a loop back to it (recycled
        # feedstock) is drawn as a band running backwards, not as a new column
        column.setdefault(target, column[source] + 1)
    columns = max(column.values(), default=0) + 1
    inflow: dict[str, float] = {}
    outflow: dict[str, float] = {}
    for source, target, kg in flows:
        outflow[source] = outflow.get(source, 0.0) + kg
        inflow[target] = inflow.get(target, 0.0) + kg
    size = {n: max(inflow.get(n, 0.0), outflow.get(n, 0.0)) for n in column}
    gap = 14.0
    heights = [
        (sum(size[n] for n in column if column[n] == c), sum(1 for n in column if column[n] == c))
        for c in range(columns)
    ]
    room = min((HEIGHT - 2 * PAD - gap * (k - 1)) / (total or 1.0) for total, k in heights)
    scale = max(room, 1e-9)
    step = (WIDTH - 2 * PAD) / max(1, columns - 1)
    top: dict[int, float] = {}
    box: dict[str, tuple[float, float, float]] = {}  # node -> x, y, height
    for node in column:
        c = column[node]
        h = max(2.0, size[node] * scale)
        y0 = top.get(c, float(PAD))
        box[node] = (PAD + c * step, y0, h)
        top[c] = y0 + h + gap
    out_used: dict[str, float] = {}
    in_used: dict[str, float] = {}
    body = [f'<text x="{PAD}" y="20" font-size="14">{escape(title)}</text>']
    for n, (source, target, kg) in enumerate(flows):
        sx, sy, _ = box[source]
        tx, ty, _ = box[target]
        w = max(1.0, kg * scale)
        y1 = sy + out_used.get(source, 0.0) + w / 2
        y2 = ty + in_used.get(target, 0.0) + w / 2
        out_used[source] = out_used.get(source, 0.0) + w
        in_used[target] = in_used.get(target, 0.0) + w
        mid = (sx + tx) / 2
        body.append(
            f'<path d="M{sx + 8:.1f},{y1:.1f} C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} '
            f'{tx:.1f},{y2:.1f}" fill="none" stroke="{PALETTE[n % len(PALETTE)]}" '
            f'stroke-opacity="0.45" stroke-width="{w:.1f}"><title>{escape(source)} to '
            f"{escape(target)}: {kg:.3f} kg</title></path>"
        )
    for node, (x, y, h) in box.items():
        body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="8" height="{h:.1f}" fill="#333"/>')
        body.append(
            f'<text x="{x + 11:.1f}" y="{y + min(h, 20) / 2 + 4:.1f}" font-size="11">'
            f"{escape(node)} {size[node]:.2f} kg</text>"
        )
    return _svg(body, WIDTH + 140, max(HEIGHT, int(max(top.values(), default=HEIGHT)) + 10))


def stock_chart(result: Mapping[str, Any]) -> str:
    """Feedstock by quality band and the backlog over the run, from a Result's JSON."""
    series = result["series"]
    days = [s["day"] for s in series]
    lines_by: dict[str, list[float]] = {}
    for sample in series:
        for material, bands in sample["stock_kg"].items():
            for band, kg in bands.items():
                lines_by.setdefault(f"{material} {band}", []).append(kg)
    return lines(
        f"{result['scenario']}: feedstock by quality band",
        days,
        lines_by,
        x_label="day",
        y_label="kg",
    )


def material_flows(result: Mapping[str, Any]) -> str:
    """The Sankey of a Result's JSON ``flows_kg``."""
    flows = [(str(a), str(b), float(kg)) for a, b, kg in result["flows_kg"]]
    return sankey(f"{result['scenario']}: material flows (kg)", flows)


def sweep_chart(rows: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> str:
    """Days without resupply (the horizon where never short) over the first key's values,
    one line per combination of the other keys."""
    first = keys[0]
    groups: dict[str, list[tuple[float, float]]] = {}
    for row in rows:
        label = ", ".join(f"{k}={row[k]:.3g}" for k in keys[1:]) or "days"
        days = row["self_sufficiency_days"]
        groups.setdefault(label, []).append(
            (float(row[first]), float(row["end_day"] if days is None else days))
        )
    xs = sorted({x for points in groups.values() for x, _ in points})
    series = {
        label: [dict(points).get(x, float("nan")) for x in xs] for label, points in groups.items()
    }
    return lines("days without resupply", xs, series, x_label=first, y_label="days")


def stack(svgs: Sequence[str]) -> str:
    """Several SVG charts one under the other, in one SVG document."""
    y = 0
    parts = []
    for svg in svgs:
        height = int(svg.split('height="', 1)[1].split('"', 1)[0])
        parts.append(f'<g transform="translate(0,{y})">{svg}</g>')
        y += height + 10
    return _svg(parts, WIDTH + 160, y)


def _axes(title: str, x0: str, x1: str, y1: str, x_label: str, y_label: str) -> str:
    bottom, right = HEIGHT - PAD, WIDTH - PAD
    return (
        f'<text x="{PAD}" y="20" font-size="14">{escape(title)}</text>'
        f'<line x1="{PAD}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#444"/>'
        f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{bottom}" stroke="#444"/>'
        f'<text x="{PAD}" y="{bottom + 16}" font-size="11">{escape(x0)}</text>'
        f'<text x="{right}" y="{bottom + 16}" font-size="11" text-anchor="end">{escape(x1)}</text>'
        f'<text x="{WIDTH / 2}" y="{bottom + 32}" font-size="11">{escape(x_label)}</text>'
        f'<text x="{PAD - 4}" y="{PAD + 4}" font-size="11" text-anchor="end">{escape(y1)}</text>'
        f'<text x="6" y="{PAD - 10}" font-size="11">{escape(y_label)}</text>'
    )


def _svg(body: Sequence[str], width: int, height: int = HEIGHT) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif">' + "".join(body) + "</svg>"
    )
