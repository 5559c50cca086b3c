"""``mics passport export | verify | secrets`` as a user runs them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support import run_mics

BAG = "08012345000012"


def _verify(
    folder: Path, credential: Path, env: dict[str, str], *flags: str
) -> subprocess.CompletedProcess[str]:
    """``mics passport verify`` with only ``env`` added to this process's environment."""
    return subprocess.run(
        [sys.executable, "-m", "mics", "passport", "verify", str(credential), *flags],
        capture_output=True,
        text=True,
        env=os.environ | env,
        cwd=folder,
        timeout=60,
        check=False,
    )


def mics(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_mics(folder, *args, MICS_BASE_URL="https://passports.example")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("passport-cli")
    assert mics(folder, "db", "upgrade").returncode == 0
    demo = mics(folder, "demo")
    assert demo.returncode == 0, demo.stderr
    # 15 items and the custody demo's 13 rings; the line may wrap at 80 columns
    assert re.search(r"\b28\s+packaging_secrets", demo.stdout), demo.stdout
    out = mics(folder, "passport", "export", f"{BAG}/BA00001", "--tier", "authority")
    assert out.returncode == 0, out.stderr
    (folder / "bag.json").write_text(out.stdout, "utf-8")
    return folder


def test_export_prints_a_signed_credential_in_canonical_form(exported: Path) -> None:
    text = (exported / "bag.json").read_text("utf-8")
    assert text.count("\n") == 1
    assert text.endswith("}\n")
    credential = json.loads(text)
    assert credential["issuer"]["id"] == "did:web:passports.example:partners:maison-aurora"
    assert credential["credentialSubject"]["product"]["serialNumber"] == "BA00001"
    assert credential["proof"]["verificationMethod"].startswith(
        credential["issuer"]["id"] + "#z6Mk"
    )


def test_verify_exits_0_offline_and_1_after_one_changed_byte(exported: Path) -> None:
    moved = exported / "offline"
    moved.mkdir(exist_ok=True)
    good = moved / "bag.json"
    good.write_bytes((exported / "bag.json").read_bytes())
    env_free = {"MICS_DATABASE_URL": "sqlite:////nonexistent/none.db"}
    done = _verify(moved, good, env_free)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["verified"] is True
    assert report["events_proven"] >= 5
    raw = bytearray(good.read_bytes())
    for offset in (raw.index(b"Borsa Aurora") + 3, raw.index(b'"hashes":["') + 15):
        bad = bytearray(raw)
        bad[offset] = ord("x") if bad[offset] != ord("x") else ord("y")
        broken = moved / f"bad{offset}.json"
        broken.write_bytes(bytes(bad))
        failed = mics(moved, "passport", "verify", str(broken))
        assert failed.returncode == 1, (offset, failed.stdout)
        assert failed.stderr.startswith("error: ")


def test_reformatted_credentials_need_the_flag(exported: Path) -> None:
    credential = json.loads((exported / "bag.json").read_text("utf-8"))
    pretty = exported / "pretty.json"
    pretty.write_text(json.dumps(credential, indent=2), "utf-8")
    assert mics(exported, "passport", "verify", str(pretty)).returncode == 1
    assert mics(exported, "passport", "verify", str(pretty), "--allow-reformatted").returncode == 0


def test_secrets_are_printed_once_and_bad_items_are_one_line(exported: Path) -> None:
    again = mics(exported, "passport", "secrets", "borsa-aurora")
    assert again.returncode == 0
    assert "no item needed a new secret" in again.stdout
    fresh = mics(exported, "passport", "secrets", BAG, "--reissue")
    lines = fresh.stdout.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == [f"BA0000{i}" for i in range(1, 6)]
    bad = mics(exported, "passport", "export", "08012345000013/BA00001")
    assert bad.returncode == 1
    assert bad.stderr.count("\n") == 1
    assert "check digit" in bad.stderr


def test_verify_without_the_schema_says_so_and_fails_under_strict(exported: Path) -> None:
    alone = exported / "no-schema"
    alone.mkdir(exist_ok=True)
    good = alone / "bag.json"
    good.write_bytes((exported / "bag.json").read_bytes())
    env = {"MICS_SHARED": str(alone / "nothing-here")}
    done = _verify(alone, good, env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["schema_checked"] is False
    assert report["checked_against"] == "structural rules"
    assert "the UNTP JSON schema check did not run" in done.stderr
    strict = _verify(alone, good, env, "--strict")
    assert strict.returncode == 1
    assert "--schema" in strict.stderr
