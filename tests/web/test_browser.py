"""The web UI in Debian's headless Chromium, against a real server on a loopback port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium): browser tests skipped")
    home = tmp_path_factory.mktemp("web")
    env = os.environ | {
        "MICS_DATABASE_URL": f"sqlite:///{home / 'web.db'}",
        "MICS_HOME": str(home / "var"),
    }
    for args in (["db", "upgrade"], ["demo"]):
        subprocess.run(
            [sys.executable, "-m", "mics", *args],
            env=env,
            cwd=home,
            check=True,
            capture_output=True,
            timeout=120,
        )
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mics", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=home,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{url}/health", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the server did not start within 10 s")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def chromium(tmp_path: Path, *args: str) -> str:
    assert CHROMIUM is not None
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        f"--user-data-dir={tmp_path / 'profile'}",
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_dashboard_shows_the_partnership_at_a_glance(server: str, tmp_path: Path) -> None:
    dom = chromium(tmp_path, "--dump-dom", f"{server}/")
    assert '<b id="stat-sectors">3</b>' in dom
    assert '<b id="stat-spokes">8</b>' in dom
    assert '<b id="stat-partners">25</b>' in dom
    assert "Closed-loop, sustainable, inclusive factories and processes" in dom
    assert "Sedia Quercia oak chair" in dom


def test_product_page_draws_the_bill_of_materials_tree(server: str, tmp_path: Path) -> None:
    dom = chromium(tmp_path, "--dump-dom", f"{server}/products/pinza-robotica")
    assert '<h1 id="product-name">Pinza R2 robotic gripper</h1>' in dom
    assert "08012345000258" in dom
    bom = dom[dom.index('id="bom"') :]
    for line in ("Housing", "Fingers (x2), printed", "Servo motor"):
        assert line in bom
    assert "0.650 kg" in bom
    assert "/01/08012345000258/21/PR00001" in dom


def test_pages_render_at_phone_width(server: str, tmp_path: Path) -> None:
    shot = tmp_path / "phone.png"
    chromium(
        tmp_path,
        "--window-size=390,844",
        "--hide-scrollbars",
        f"--screenshot={shot}",
        f"{server}/products/borsa-aurora",
    )
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(data[16:20], "big")
    assert width == 390
