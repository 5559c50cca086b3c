"""The tag registry and its master key; the ``mics tag`` and ``mics passport labels`` CLI."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from tests.support import run_mics

from mics.db import Database
from mics.errors import Conflict, InvalidInput, NotFound
from mics.passport import tags
from mics.registry import create_item, find_item
from mics.registry.demo import ensure_instance, load_demo_registry
from mics.registry.schemas import ItemIn

# NXP AN12196 §3.4 worked example (zero keys).
AN12196_E, AN12196_C = "EF963FF7828658A599F3041510671E88", "94EED9EE65337086"


@pytest.fixture
def demo_db(sqlite_db: Database) -> Database:
    ensure_instance(sqlite_db, "mics-operator")
    load_demo_registry(sqlite_db)
    return sqlite_db


def test_master_key_is_created_owner_only_and_stable(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = tags.load_or_create_master_key(home, "mics.test/a")
    assert stat.S_IMODE((home / tags.KEY_FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    again = tags.load_or_create_master_key(home, "mics.test/a")
    assert again.key == first.key and again.meta_read_key == first.meta_read_key  # noqa: PT018
    assert first.key.hex() not in repr(first)
    other = tags.load_or_create_master_key(tmp_path / "other", "mics.test/a")
    assert other.key != first.key
    os.chmod(home / tags.KEY_FILE, 0o644)
    with pytest.raises(InvalidInput, match="readable by others"):
        tags.load_or_create_master_key(home, "mics.test/a")


def test_register_binds_one_tag_to_one_item(demo_db: Database) -> None:
    item = find_item(demo_db, "08012345000012", "BA00001").id
    tag = tags.register_tag(demo_db, item, "04:de:5f:1e:ac:c0:40")
    assert (tag.uid, tag.item_id, tag.counter) == ("04DE5F1EACC040", item, None)
    assert set(tag.as_json()) == {"id", "uid", "item", "gtin", "serial", "counter", "registered_at"}
    other = find_item(demo_db, "08012345000012", "BA00002").id
    with pytest.raises(Conflict, match="already registered to item"):
        tags.register_tag(demo_db, other, "04DE5F1EACC040")
    with pytest.raises(Conflict, match="already has a tag"):
        tags.register_tag(demo_db, item, "04DE5F1EACC041")
    with pytest.raises(InvalidInput, match="uid"):
        tags.register_tag(demo_db, other, "04DE5F")
    with pytest.raises(NotFound):
        tags.register_tag(demo_db, 99999, "04DE5F1EACC042")
    with pytest.raises(NotFound, match="no NFC tag"):
        tags.tag_of_item(demo_db, other)


def test_demo_tags_are_idempotent(demo_db: Database) -> None:
    assert tags.load_tag_demo(demo_db) == {"tags_added": 15}
    assert tags.load_tag_demo(demo_db) == {"tags_added": 0}
    new = create_item(demo_db, ItemIn(product="sedia-quercia", serial="SQ99999"))
    assert tags.load_tag_demo(demo_db) == {"tags_added": 1}
    assert tags.tag_of_item(demo_db, new.id).uid.startswith("04")


def test_simulated_url_is_the_item_digital_link_with_e_and_c(
    demo_db: Database, tmp_path: Path
) -> None:
    master = tags.load_or_create_master_key(tmp_path, "mics.test/a")
    item = find_item(demo_db, "08012345000111", "SQ00001").id
    tags.register_tag(demo_db, item, "04AABBCCDDEE01")
    url = tags.simulate_scan_url(demo_db, master, item, "https://mics.test", counter=42)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "https://mics.test/01/08012345000111/21/SQ00001"
    )
    query = parse_qs(parts.query)
    assert len(query["e"][0]) == 32 and len(query["c"][0]) == 16  # noqa: PT018


def _mics(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_mics(folder, *args, MICS_BASE_URL="https://mics.test")


def test_cli_verify_sun_with_the_an12196_vector(tmp_path: Path) -> None:
    zero = "00" * 16
    ok = _mics(
        tmp_path, "tag", "verify-sun", "--e", AN12196_E, "--c", AN12196_C,
        "--meta-key", zero, "--file-key", zero,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout) == {"uid": "04de5f1eacc040", "counter": 61, "verdict": "authentic"}
    bad = _mics(
        tmp_path, "tag", "verify-sun", "--e", AN12196_E, "--c", "94EED9EE65337087",
        "--meta-key", zero, "--file-key", zero,
    )  # fmt: skip
    assert bad.returncode == 1
    verdict = json.loads(bad.stdout)
    assert verdict["verdict"] == "not_authentic" and "SDMMAC" in verdict["reason"]  # noqa: PT018
    short = _mics(tmp_path, "tag", "verify-sun", "--e", "EF96", "--c", AN12196_C)
    assert short.returncode == 1
    assert "e:" in short.stderr and "Traceback" not in short.stderr  # noqa: PT018


def test_cli_register_simulate_verify_and_labels(tmp_path: Path) -> None:
    assert _mics(tmp_path, "db", "upgrade").returncode == 0
    assert _mics(tmp_path, "demo").returncode == 0  # the demo puts a tag on every item
    new = _mics(tmp_path, "tag", "register", "08012345000012/BA00001", "--uid", "04DE5F1EACC040")
    assert new.returncode == 1 and "already has a tag" in new.stderr  # noqa: PT018
    url = _mics(tmp_path, "tag", "simulate", "08012345000012/BA00001", "--counter", "5")
    assert url.returncode == 0, url.stderr
    query = parse_qs(urlsplit(url.stdout.strip()).query)
    checked = _mics(tmp_path, "tag", "verify-sun", "--e", query["e"][0], "--c", query["c"][0])
    assert json.loads(checked.stdout)["verdict"] == "authentic"
    assert json.loads(checked.stdout)["counter"] == 5
    key_file = json.loads((tmp_path / "var" / tags.KEY_FILE).read_text())
    for output in (url.stdout, checked.stdout, checked.stderr):
        assert key_file["master_key"] not in output.lower()
    out = tmp_path / "sheet.svg"
    labels = _mics(tmp_path, "passport", "labels", "borsa-aurora", "--out", str(out))
    assert labels.returncode == 0, labels.stderr
    assert out.read_text().count("<desc>https://mics.test/01/08012345000012/21/BA") == 5


def test_cli_rejected_prints_the_items_not_authentic_scans(
    demo_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime

    from typer.testing import CliRunner

    from mics.cli import app
    from mics.passport import scans
    from mics.passport.digital_link import DigitalLink

    tags.load_tag_demo(demo_db)
    master = tags.load_or_create_master_key(tmp_path / "home", "mics.test/cli")
    link = DigitalLink(gtin="08012345000012", serial="BA00001")
    at = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    scans.verify_scan(demo_db, master, link, "0" * 32, "0" * 16, now=at)
    monkeypatch.setenv("MICS_DATABASE_URL", str(demo_db.engine.url))
    out = CliRunner().invoke(app, ["tag", "rejected", "08012345000012/BA00001"])
    assert out.exit_code == 0, out.output
    [row] = json.loads(out.output)
    assert row["scanned_at"] == at.isoformat()
    assert "did not verify" in row["reason"]
    assert row["uid"] is None
