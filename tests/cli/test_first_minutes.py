"""A newcomer's first ten minutes, as they run them: fresh folder, demo, server, scan link."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.support import run_mics

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["footprint"], "Missing argument"),
        (["--bogus"], "No such option"),
        (["nosuchcommand"], "No such command"),
        (["footprint", "borsa-aurora", "--monte-carlo", "abc"], "--monte-carlo"),
        (["passport", "verify", "/nonexistent.json"], "does not exist"),
    ],
)
def test_a_usage_error_prints_usage_and_exits_2_without_a_traceback(
    tmp_path: Path, args: list[str], says: str
) -> None:
    out = run_mics(tmp_path, *args)
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    assert "Usage: mics" in out.stderr
    assert says in out.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["tag", "simulate", "1"],
        ["trace", "upstream", "urn:epc:id:sgtin:8012345.000001.1"],
        ["registry", "list", "partners"],
        ["footprint", "borsa-aurora"],
        ["epcis", "capture", "--help"],  # a usage page needs no database either
    ],
)
def test_a_command_in_a_folder_without_a_database_refuses_and_creates_nothing(
    tmp_path: Path, args: list[str]
) -> None:
    out = run_mics(tmp_path, *args)
    if args[-1] == "--help":
        assert out.returncode == 0
    else:
        assert out.returncode == 1
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1, out.stderr
        assert lines[0].startswith(f"error: no MICS database at {tmp_path / 'cli.db'}")
        assert "mics db upgrade" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no cli.db, no var/ with keys


def test_an_unmigrated_database_is_refused_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / "cli.db").touch()  # e.g. made by some other tool
    out = run_mics(tmp_path, "registry", "list", "partners")
    assert out.returncode == 1
    assert "(no MICS tables)" in out.stderr
    assert "run `mics db upgrade`" in out.stderr
    assert not (tmp_path / "var").exists()


@pytest.mark.parametrize("args", [["db", "upgrade"], ["demo"], ["registry", "list", "items"]])
@pytest.mark.parametrize("url", ["postgresql+psycopg://mics@127.0.0.1:{port}/mics", "nonsense"])
def test_a_database_url_that_does_not_answer_or_parse_is_one_line_and_creates_nothing(
    tmp_path: Path, args: list[str], url: str
) -> None:
    out = run_mics(tmp_path, *args, MICS_DATABASE_URL=url.format(port=_free_port()))
    assert out.returncode == 1, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    if url == "nonsense":
        assert lines[0].startswith("error: MICS_DATABASE_URL: not a database URL MICS can open")
        assert "got 'nonsense'; expected sqlite:///" in lines[0]
    else:
        assert lines[0].startswith("error: cannot open the database at postgresql+psycopg://")
        assert "Connection refused" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no keys made for no database


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, int, str]]:
    """``mics db upgrade``, ``mics demo --port P`` and ``mics serve --port P`` in a fresh
    folder, with MICS_BASE_URL unset as on a newcomer's machine."""
    monkeypatch.delenv("MICS_BASE_URL", raising=False)
    env = dict(os.environ)
    port = _free_port()
    assert run_mics(tmp_path, "db", "upgrade").returncode == 0
    demo = run_mics(tmp_path, "demo", "--port", str(port))
    assert demo.returncode == 0, demo.stderr
    server = subprocess.Popen(
        [sys.executable, "-m", "mics", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env | {"MICS_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "MICS_HOME": "var"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "the server did not start in 60 s"
                time.sleep(0.2)
        yield tmp_path, port, demo.stdout
    finally:
        server.terminate()
        server.wait(timeout=30)
        if server.stderr is not None:
            server.stderr.close()


def test_the_demo_prints_a_key_and_a_scan_link_that_opens_a_genuine_passport_on_its_port(
    served: tuple[Path, int, str],
) -> None:
    folder, port, printed = served
    base = f"http://127.0.0.1:{port}"
    assert f"MICS serves at {base}" in printed
    key = re.search(r"mics_[0-9a-f]{8}_\S+", printed)
    assert key is not None, printed
    assert (folder / "var" / "demo-operator.key").read_text().strip() == key.group(0)
    scan = re.search(rf"{re.escape(base)}/01/\S+\?e=\S+", printed)
    assert scan is not None, printed
    page = httpx.get(scan.group(0), headers={"Accept": BROWSER, "Accept-Language": "en"})
    assert page.status_code == 200
    assert "Genuine product" in page.text
    assert ":8000" not in page.text
    # the key works, and the next run of `mics demo` shows the same one again
    who = httpx.get(f"{base}/epcis/events", headers={"Authorization": f"Bearer {key.group(0)}"})
    assert who.status_code == 200
    again = run_mics(folder, "demo", "--port", str(port))
    assert key.group(0) in again.stdout
    # CLI commands that print URLs use the address the server is serving at
    simulated = run_mics(folder, "tag", "simulate", "1")
    assert simulated.stdout.startswith(f"{base}/01/"), simulated.stdout + simulated.stderr
    linked = httpx.get(f"{base}/01/08012345000012/21/BA00001", params={"linkType": "all"})
    assert f"{base}/" in linked.text
    assert ":8000" not in linked.text


def test_a_browser_gets_an_html_error_page_for_a_damaged_code(
    served: tuple[Path, int, str],
) -> None:
    _, port, _ = served
    base = f"http://127.0.0.1:{port}"
    damaged = f"{base}/01/08012345000012/21/NOPE"
    page = httpx.get(damaged, headers={"Accept": BROWSER, "Accept-Language": "it"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert '<html lang="it">' in page.text
    assert "Non trovato" in page.text
    assert "no item with serial" in page.text  # the problem's detail, escaped
    machine = httpx.get(damaged, headers={"Accept": "application/json"})
    assert machine.headers["content-type"] == "application/problem+json"
    assert machine.json()["status"] == 404


def test_starting_the_cli_loads_no_lca_engine() -> None:
    """Every command starts by importing ``mics.cli``: bw2calc, SciPy and pandas (seconds of
    CPU on a small machine) load only in the commands that compute a footprint."""
    heavy = ("bw2calc", "bw_processing", "pandas", "scipy", "mics.footprint")
    probe = f"import sys, mics.cli; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]", out.stdout


def test_every_command_group_run_bare_shows_its_commands() -> None:
    from typer.testing import CliRunner

    from mics.cli.app import app

    groups = [g.name for g in app.registered_groups if g.name]
    assert "tag" in groups
    for group in groups:
        result = CliRunner().invoke(app, [group])
        assert "Missing command" not in result.output, group
        assert "Commands" in result.output, (group, result.output)
