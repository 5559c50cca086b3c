"""Secret files created once: racing creators agree on one key, readers never see half a file."""

from __future__ import annotations

import stat
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from mics.ledger.store.signing_key import load_or_create_signer
from mics.passport.issuer_keys import load_or_create_partner_key
from mics.passport.tags import load_or_create_master_key
from mics.secret_file import create_once, private_folder, replace


def test_create_once_writes_an_owner_only_file_once(tmp_path: Path) -> None:
    path = tmp_path / "home" / "secret.key"
    assert create_once(path, "first\n") is True
    assert create_once(path, "second\n") is False
    assert path.read_text() == "first\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["secret.key"]  # no temporaries


def test_replace_swaps_a_whole_owner_only_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("old")
    path.chmod(0o644)
    replace(path, "new\n")
    assert path.read_text() == "new\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_private_folder_makes_an_existing_folder_owner_only(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    assert private_folder(home) == home
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


@pytest.mark.parametrize(
    "load",
    [
        lambda home: load_or_create_signer(home, "log.example"),
        lambda home: load_or_create_master_key(home, "log.example"),
        lambda home: load_or_create_partner_key(home, "acme"),
    ],
    ids=["log signing key", "tag master key", "issuer key"],
)
def test_every_key_file_is_0600_in_a_0700_home(
    tmp_path: Path, load: Callable[[Path], object]
) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    load(home)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    files = [p for p in home.rglob("*") if p.is_file()]
    assert files
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)


def _race(load: Callable[[], object], runners: int = 8) -> list[object]:
    start = threading.Barrier(runners)
    found: list[object] = []
    errors: list[BaseException] = []

    def run() -> None:
        start.wait()
        try:
            found.append(load())
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(runners)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return found


@pytest.mark.parametrize("attempt", range(5))
def test_processes_starting_together_on_a_fresh_home_share_one_key(
    tmp_path: Path, attempt: int
) -> None:
    home = tmp_path / f"home{attempt}"
    signers = _race(lambda: load_or_create_signer(home, "mics.test/log").skey)
    assert len(set(signers)) == 1
    masters = _race(lambda: load_or_create_master_key(home, "mics.test/log").key)
    assert len(set(masters)) == 1
    partners = _race(lambda: load_or_create_partner_key(home, "maison").seed)
    assert len(set(partners)) == 1
