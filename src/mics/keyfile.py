"""Secret files under ``$MICS_HOME``: created once, atomically, readable by their owner only.

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


def create_once(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` (mode 0600) unless it exists; whether this call created it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:  # mkstemp: mode 0600
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        except OSError:  # no hard links here (vfat, some FUSE and SMB mounts)
            return _create_exclusive(path, text)
        return True
    finally:
        os.unlink(temporary)


def _create_exclusive(path: Path, text: str) -> bool:
    """``O_CREAT | O_EXCL``: one creator wins, but a reader may catch it mid-write."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
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
