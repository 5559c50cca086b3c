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
from collections.abc import Callable, Iterator, Sequence
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
TEXT_MM = LABEL_MM[0] - QR_MM - 2.0  # the column right of the QR code, 1 mm each side
NAME_LINES = 2
# Advance widths in em of Helvetica Bold (Adobe's AFM; Arial and Liberation Sans share
# them), by kind of character, with 12% to spare for wider fallbacks (DejaVu Sans).
# A line estimated wider than the column is squeezed to it by SVG's textLength, so no
# name can spill into the next label (tests/web/test_labels_browser.py measures it).
_EM = {"MW": 0.944, "mw": 0.889, "ijlI.,:;'!| ": 0.278, "ft": 0.333}
_EM_UPPER, _EM_OTHER, _SPARE = 0.722, 0.611, 1.12


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


def text_width(text: str, font_mm: float) -> float:
    """A generous estimate of ``text``'s width in mm at ``font_mm`` (bold sans-serif)."""
    em = 0.0
    for char in text:
        found = next((width for chars, width in _EM.items() if char in chars), None)
        em += found if found is not None else _EM_UPPER if char.isupper() else _EM_OTHER
    return em * font_mm * _SPARE


def name_lines(name: str, font_mm: float) -> list[str]:
    """``name`` broken at spaces into at most NAME_LINES lines that fit the text column
    at ``font_mm``; what does not fit ends in an ellipsis."""

    def fits(text: str) -> bool:
        return text_width(text, font_mm) <= TEXT_MM

    lines: list[str] = []
    words = name.split()
    while words and len(lines) < NAME_LINES:
        line = words.pop(0)
        while words and fits(f"{line} {words[0]}"):
            line += " " + words.pop(0)
        lines.append(line)
    if words:
        lines[-1] = " ".join([lines[-1], *words])
    return [_cut(line, fits) for line in lines]


def _cut(line: str, fits: Callable[[str], bool]) -> str:
    """``line``, or its longest beginning that fits with an ellipsis after it."""
    if fits(line):
        return line
    while line and not fits(line + "…"):
        line = line[:-1]
    return line.rstrip() + "…"


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
    lines = [(3.2, True, line) for line in name_lines(label.product_name, 3.2)]
    lines.append((2.6, False, f"GTIN {label.gtin}"))
    if label.lot is not None:
        lines.append((2.6, False, f"Lot {label.lot}"))
    lines.append((2.6, False, f"SN {label.serial}"))
    text_x = x + QR_MM + 1.0
    texts = []
    line_y = y + 6.5
    for font, bold, line in lines:
        weight = ' font-weight="bold"' if bold else ""
        fit = (
            f' textLength="{TEXT_MM:.2f}" lengthAdjust="spacingAndGlyphs"'
            if text_width(line, font) > TEXT_MM
            else ""
        )
        texts.append(
            f'<text x="{text_x:.2f}" y="{line_y:.2f}" font-size="{font}"{weight}{fit}>'
            f"{escape(line)}</text>"
        )
        line_y += font + 1.4
    return (
        f'<g><rect x="{x:.2f}" y="{y:.2f}" width="{LABEL_MM[0]}" height="{LABEL_MM[1]}" '
        'fill="none" stroke="#bbb" stroke-width="0.1" stroke-dasharray="1 1"/>'
        f'<path transform="translate({x + offset:.2f} {y + 2.0 + offset:.2f}) '
        f'scale({scale:.5f})" '
        f'd="{module_path(code)}" fill="#000"/>'
        f"<desc>{escape(label.uri)}</desc>{''.join(texts)}</g>"
    )
