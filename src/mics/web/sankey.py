"""A two-column Sankey diagram as inline SVG: where a footprint comes from, stage by stage.

Left, the sources (a product's materials); right, the life-cycle stages (ISO
14040 §5.2.3: the system boundary from raw material to end of life); each band's
width is the GWP100 a source adds to a stage. Credits (negative values, e.g.
recycling at end of life) cannot be drawn as a flow: they are summed apart and
the caller says so under the chart. Drawn on the server, no script, no library.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT, NODE, GAP, LABEL_MIN = 520.0, 280.0, 12.0, 8.0, 12.0


@dataclass(frozen=True)
class Flow:
    source: str  # a label: a material's name
    target: str  # a stage id
    value: float  # kg CO2e, > 0


def flows(lines: Sequence[tuple[str, str, float]]) -> tuple[list[Flow], float]:
    """(source, stage, value) lines summed into flows; and the sum of the credits left out."""
    summed: dict[tuple[str, str], float] = {}
    for source, stage, value in lines:
        summed[source, stage] = summed.get((source, stage), 0.0) + value
    kept = [Flow(s, t, v) for (s, t), v in summed.items() if v > 0]
    return kept, sum(v for v in summed.values() if v < 0)


def sankey(
    found: Sequence[Flow],
    stage_order: Sequence[str],
    stage_labels: Mapping[str, str],
    stage_colours: Mapping[str, str],
    unit: str,
    title: str,
) -> Markup:
    """The SVG: sources sorted by size on the left, stages in life-cycle order on the right."""
    total = sum(f.value for f in found)
    if total <= 0:
        return Markup("")
    by_source: dict[str, float] = {}
    by_stage: dict[str, float] = {}
    for f in found:
        by_source[f.source] = by_source.get(f.source, 0.0) + f.value
        by_stage[f.target] = by_stage.get(f.target, 0.0) + f.value
    sources = sorted(by_source, key=lambda s: -by_source[s])
    stages = [s for s in stage_order if s in by_stage]
    gaps = GAP * max(len(sources) - 1, len(stages) - 1, 0)
    scale = (HEIGHT - gaps) / total
    left = _stack(sources, by_source, scale)
    right = _stack(stages, by_stage, scale)
    left_used = {s: left[s][0] for s in sources}
    right_used = {s: right[s][0] for s in stages}
    parts = []
    x0, x1, mid = NODE, WIDTH - NODE, WIDTH / 2
    for f in sorted(found, key=lambda f: (sources.index(f.source), stages.index(f.target))):
        h = f.value * scale
        ya, yb = left_used[f.source], right_used[f.target]
        left_used[f.source] += h
        right_used[f.target] += h
        colour = stage_colours.get(f.target, "#999")
        label = f"{f.source} → {stage_labels.get(f.target, f.target)}: {f.value:.3f} {unit}"
        parts.append(
            f'<path class="band" d="M{x0:.1f},{ya:.2f} C{mid:.1f},{ya:.2f} {mid:.1f},{yb:.2f} '
            f"{x1:.1f},{yb:.2f} L{x1:.1f},{yb + h:.2f} C{mid:.1f},{yb + h:.2f} {mid:.1f},"
            f'{ya + h:.2f} {x0:.1f},{ya + h:.2f} Z" fill="{colour}" fill-opacity="0.38">'
            f"<title>{escape(label)}</title></path>"
        )
    for name, (y, h) in left.items():
        parts.append(_node(0.0, y, h, "#344054", name, by_source[name], unit, "start", NODE + 4))
    for stage, (y, h) in right.items():
        parts.append(
            _node(
                WIDTH - NODE,
                y,
                h,
                stage_colours.get(stage, "#999"),
                stage_labels.get(stage, stage),
                by_stage[stage],
                unit,
                "end",
                WIDTH - NODE - 4,
            )
        )
    return Markup(
        f'<svg class="chart sankey" viewBox="0 0 {WIDTH:.0f} {HEIGHT:.0f}" role="img" '
        f'aria-label="{escape(title)}">' + "".join(parts) + "</svg>"
    )


def _stack(
    names: Sequence[str], size: Mapping[str, float], scale: float
) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    y = 0.0
    for name in names:
        h = size[name] * scale
        out[name] = (y, h)
        y += h + GAP
    return out


def _node(
    x: float,
    y: float,
    h: float,
    colour: str,
    name: str,
    value: float,
    unit: str,
    anchor: str,
    tx: float,
) -> str:
    text = ""
    if h >= LABEL_MIN:
        text = (
            f'<text x="{tx:.1f}" y="{y + h / 2 + 4:.2f}" text-anchor="{anchor}" font-size="13">'
            f"{escape(name)} {value:.2f}</text>"
        )
    return (
        f'<rect class="node" x="{x:.1f}" y="{y:.2f}" width="{NODE:.0f}" height="{max(h, 1.0):.2f}" '
        f'fill="{colour}"><title>{escape(name)}: {value:.3f} {escape(unit)}</title></rect>{text}'
    )
