"""Two signers of one tree size (two ``mics serve`` processes, two threads): one checkpoint.

The race is forced: while one signer is between reading the head and storing its
row, another signs the same size and commits first. The first must then answer the
stored checkpoint (the same root), and must refuse, naming both roots, when the
stored one has another root: the log never serves two trees of one size.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from tests.ledger.conftest import ORIGIN, Logged

from mics.errors import Conflict
from mics.ledger import note
from mics.ledger.note import Signer
from mics.ledger.store import log
from mics.ledger.store.tables import CheckpointRow


def _race(monkeypatch: pytest.MonkeyPatch, meanwhile: Callable[[], None]) -> None:
    """Run ``meanwhile`` once, inside the next signer's transaction, before it stores its row."""
    sign = note.sign_note
    pending = [meanwhile]

    def slow_sign(text: str, *signers: Signer) -> str:
        if pending:
            pending.pop()()
        return sign(text, *signers)

    monkeypatch.setattr(log, "sign_note", slow_sign)


def test_the_second_signer_of_a_size_answers_the_first_ones_checkpoint(
    logged: Logged, capture: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, signer = logged.db, logged.signer
    capture(db, 100, 3)
    other = Signer.generate(ORIGIN)  # another process's key would sign another note
    first: list[CheckpointRow] = []
    _race(monkeypatch, lambda: first.append(log.checkpoint(db, other, ORIGIN)))
    second = log.checkpoint(db, signer, ORIGIN)
    assert first[0].size == second.size == 19
    assert second.note == first[0].note  # the stored one, not the note it signed itself
    assert log.checkpoint_at(db, 19).note == first[0].note


def test_a_stored_checkpoint_with_another_root_is_refused(
    logged: Logged, capture: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, signer = logged.db, logged.signer
    capture(db, 100, 2)

    def forged() -> None:
        with db.transaction() as s:
            s.add(CheckpointRow(size=18, root=bytes(32), note="x", created_at=datetime.now(UTC)))

    _race(monkeypatch, forged)
    with pytest.raises(Conflict, match=r"tree size 18 has root 0{64}, but this process"):
        log.checkpoint(db, signer, ORIGIN)
