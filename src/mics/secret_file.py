"""Secret files: created once, atomically, readable by their owner only (the one rule).

Every key MICS keeps outside the database is written here: the log's signing key
(``ledger.store.signing_key``), the tag master key (``passport.tags``), partners'
passport-signing keys (``passport.issuer_keys``), the webhook token key, the web
session key, the demo's API key and a witness's key (``mics ledger witness-key``).
Secret files are mode 0600 in an owner-only (0700) folder (``private_folder``);
state that must never be half-written is replaced atomically (``replace``).

Several processes may start on a fresh home at once (``uvicorn --workers 2``,
a CLI command beside the server). Each writes its candidate to a private
temporary file and links it into place: ``link(2)`` fails if the name exists,
so exactly one candidate wins and every reader sees either no file or a whole
one - never the empty or half-written file an ``O_CREAT | O_EXCL`` writer
shows until it has finished writing.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from mics.errors import InvalidInput


def private_folder(folder: Path) -> Path:
    """``folder``, created when absent, and made readable by its owner only (mode 0700)."""
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder


def create_once(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` (mode 0600) unless it exists; whether this call created it."""
    temporary = _written_aside(path, text)
    try:
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        except OSError:  # no hard links here (vfat, some FUSE and SMB mounts)
            return _create_exclusive(path, text)
        return True
    finally:
        os.unlink(temporary)


def replace(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (mode 0600) atomically: readers see the old or the new, whole."""
    temporary = _written_aside(path, text)
    try:
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _written_aside(path: Path, text: str) -> str:
    """A private temporary file beside ``path`` holding ``text``, synced to disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:  # mkstemp: mode 0600
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    return temporary


def _create_exclusive(path: Path, text: str) -> bool:
    """``O_CREAT | O_EXCL``: one creator wins, but a reader may catch it mid-write."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    return True


def read_private(path: Path) -> str:
    """The text of a secret file, refused when anyone but its owner may read it."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise InvalidInput(
            f"{path} is readable by others (mode {mode:o})",
            field="MICS_HOME",
            value=str(path),
            expected="mode 0600: run chmod 600 on it",
        )
    return path.read_text("ascii")
