"""QR codes carrying an item's GS1 Digital Link, and printable A4 label sheets.

The QR code follows ISO/IEC 18004 as ``segno`` makes it, with error correction
level M: the level GS1 recommends for Digital Link QR codes on products (GS1
General Specifications §5.7.3, "QR Code with GS1 Digital Link URI": M or higher)
and a 4-module quiet zone (ISO/IEC 18004 §6.3.8). A label sheet is an A4 SVG
page (210 mm x 297 mm, user units in millimetres) of 3 x 8 labels, each with
the QR code, the product name, its GTIN, lot and serial in human-readable form.

Pure: in text and bytes out; the CLI and the API write files and responses.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

import segno

ERROR_LEVEL = "m"
QUIET_ZONE = 4
PAGE_MM = (210.0, 297.0)
MARGIN_MM = (10.5, 12.5)
GRID = (3, 8)  # columns, rows: 24 labels of 63 x 34 mm
LABEL_MM = (63.0, 34.0)
QR_MM = 30.0
NAME_CHARS = 22


@dataclass(frozen=True)
class Label:
    """What one label shows: the QR text and the human-readable lines under it."""

    uri: str
    product_name: str
    gtin: str
    serial: str
    lot: str | None = None


def qr_code(uri: str) -> segno.QRCode:
    """The QR code of a Digital Link URI (never a Micro QR: phones do not read those)."""
    return segno.make(uri, error=ERROR_LEVEL, micro=False, boost_error=False)


def qr_svg(uri: str, *, scale: int = 4) -> bytes:
    out = io.BytesIO()
    qr_code(uri).save(out, kind="svg", scale=scale, border=QUIET_ZONE, xmldecl=False)
    return out.getvalue()


def qr_png(uri: str, *, scale: int = 8) -> bytes:
    out = io.BytesIO()
    qr_code(uri).save(out, kind="png", scale=scale, border=QUIET_ZONE)
    return out.getvalue()


def module_path(code: segno.QRCode) -> str:
    """An SVG path drawing the dark modules, one unit per module, no quiet zone."""
    parts = []
    for y, row in enumerate(code.matrix):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                parts.append(f"M{start} {y}h{x - start}v1h{start - x}z")
            else:
                x += 1
    return "".join(parts)


def label_sheets(labels: Sequence[Label]) -> list[str]:
    """One A4 SVG page per 24 labels, in order."""
    per_page = GRID[0] * GRID[1]
    return [_page(labels[i : i + per_page]) for i in range(0, len(labels), per_page)] or [_page([])]


def _page(labels: Sequence[Label]) -> str:
    width, height = PAGE_MM
    body = "".join(
        _label(label, *origin) for label, origin in zip(labels, _origins(), strict=False)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}mm" height="{height}mm" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif">'
        f"<title>MICS item labels</title>{body}</svg>\n"
    )


def _origins() -> Iterator[tuple[float, float]]:
    columns, rows = GRID
    for row in range(rows):
        for column in range(columns):
            yield MARGIN_MM[0] + column * LABEL_MM[0], MARGIN_MM[1] + row * LABEL_MM[1]


def _label(label: Label, x: float, y: float) -> str:
    code = qr_code(label.uri)
    # The quiet zone sits inside the QR_MM square, so a neighbour never intrudes.
    scale = QR_MM / (len(code.matrix) + 2 * QUIET_ZONE)
    offset = QUIET_ZONE * scale
    name = label.product_name
    if len(name) > NAME_CHARS:
        name = name[: NAME_CHARS - 1] + "…"
    lines = [(3.2, f"<tspan font-weight='bold'>{escape(name)}</tspan>")]
    lines.append((2.6, f"GTIN {escape(label.gtin)}"))
    if label.lot is not None:
        lines.append((2.6, f"Lot {escape(label.lot)}"))
    lines.append((2.6, f"SN {escape(label.serial)}"))
    text_x = x + QR_MM + 1.0
    texts = []
    line_y = y + 8.0
    for font, line in lines:
        texts.append(f'<text x="{text_x:.2f}" y="{line_y:.2f}" font-size="{font}">{line}</text>')
        line_y += font + 1.6
    return (
        f'<g><rect x="{x:.2f}" y="{y:.2f}" width="{LABEL_MM[0]}" height="{LABEL_MM[1]}" '
        'fill="none" stroke="#bbb" stroke-width="0.1" stroke-dasharray="1 1"/>'
        f'<path transform="translate({x + offset:.2f} {y + 2.0 + offset:.2f}) '
        f'scale({scale:.5f})" '
        f'd="{module_path(code)}" fill="#000"/>'
        f"<desc>{escape(label.uri)}</desc>{''.join(texts)}</g>"
    )
