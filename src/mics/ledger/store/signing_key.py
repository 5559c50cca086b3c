"""The log's Ed25519 signing key: created on first start, kept outside the database.

The key lives in ``$MICS_HOME/ledger.key`` as a C2SP signed-note private key
string (``PRIVATE+KEY+<origin>+<keyid>+<base64>``), readable by its owner only
(mode 0600, folder 0700). The public half is published as the note verifier
string at ``GET /ledger/key``.
"""

from __future__ import annotations

from pathlib import Path

from mics.errors import InvalidInput, NotFound
from mics.ledger.note import Signer
from mics.secret_file import create_once, private_folder, read_private

KEY_FILE = "ledger.key"


def load_or_create_signer(home: Path, origin: str) -> Signer:
    """The log signer stored under ``home``, created (owner-only) when absent.

    Only the commands that own the key call this (``mics db upgrade``, ``mics demo``,
    ``mics serve``); a command that only reads uses :func:`load_signer`."""
    return _signer(home, origin, create=True)


def load_signer(home: Path, origin: str) -> Signer:
    """The log signer stored under ``home``; NotFound naming the fix when there is none."""
    return _signer(home, origin, create=False)


def _signer(home: Path, origin: str, *, create: bool) -> Signer:
    path = home / KEY_FILE
    if not path.exists() and not create:
        raise NotFound(
            f"no log signing key at {path.absolute()}; run `mics db upgrade` (or `mics serve`) "
            "with this MICS_HOME first, or set MICS_HOME to the folder that holds ledger.key"
        )
    if not path.exists():
        private_folder(home)
        create_once(path, Signer.generate(origin).skey + "\n")  # or another process did
    signer = Signer.parse(read_private(path).strip())
    if signer.name != origin:
        raise InvalidInput(
            f"{path} signs for {signer.name!r}, not this instance's origin {origin!r}",
            field="MICS_INSTANCE",
            value=origin,
            expected=signer.name,
        )
    return signer
