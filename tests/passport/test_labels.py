"""QR codes and A4 label sheets: the encoded text, the page layout."""

from __future__ import annotations

import re

import segno

from mics.passport import labels

URI = "https://mics.test/01/08012345000012/21/BA00001"


def test_qr_svg_and_png_encode_the_uri_at_level_m() -> None:
    code = labels.qr_code(URI)
    expected = segno.make(URI, error="m", micro=False, boost_error=False)
    assert code.matrix == expected.matrix
    assert code.error == "M"
    assert not code.is_micro
    assert code.matrix != segno.make(URI + "X", error="m", micro=False).matrix
    svg = labels.qr_svg(URI).decode()
    assert svg.startswith("<svg") and 'class="segno"' in svg  # noqa: PT018
    assert labels.qr_png(URI).startswith(b"\x89PNG\r\n\x1a\n")


def test_module_path_draws_every_dark_module_once() -> None:
    code = labels.qr_code(URI)
    runs = re.findall(r"M(\d+) (\d+)h(\d+)", labels.module_path(code))
    drawn = sum(int(n) for _, _, n in runs)
    assert drawn == sum(sum(1 for m in row if m) for row in code.matrix)
    x, y, n = (int(v) for v in runs[0])
    assert all(code.matrix[y][x + i] for i in range(n))


def test_label_sheets_hold_24_labels_per_a4_page() -> None:
    items = [
        labels.Label(
            f"{URI[:-7]}SN{i:05d}", "Borsa Aurora in pelle", "08012345000012", f"SN{i:05d}"
        )
        for i in range(30)
    ]
    pages = labels.label_sheets(items)
    assert len(pages) == 2
    first, second = pages
    assert 'width="210.0mm" height="297.0mm"' in first
    assert first.count("<desc>") == 24 and second.count("<desc>") == 6  # noqa: PT018
    assert "SN SN00029" in second and "GTIN 08012345000012" in first  # noqa: PT018
    assert labels.module_path(labels.qr_code(items[0].uri)) in first
    assert "Lot" not in first
    with_lot = labels.label_sheets([labels.Label(URI, "Sedia", "08012345000111", "S1", "L&1")])
    assert "Lot L&amp;1" in with_lot[0]
