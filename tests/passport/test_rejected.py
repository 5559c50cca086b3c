"""The rejected-scan stream: the migration moves what the log was still to receive."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import text
from tests.support import tag_demo

from mics.db import Database, alembic_config
from mics.passport.rejected import rejected_scans
from mics.registry import find_item


def test_the_migration_moves_unpublished_not_authentic_scans_out_of_the_outbox(
    tmp_path: Path,
) -> None:
    db = Database.from_url(f"sqlite:///{tmp_path / 'old.db'}")
    config = alembic_config()
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0007_access")  # the revision before 0008_abuse
    tag_demo(db)
    item = find_item(db, "08012345000012", "BA00001").id
    rows = [
        ("not_authentic", "forged, waiting", None),
        ("not_authentic", "forged, in the log already", "urn:uuid:1"),
        ("authentic", "genuine, waiting", None),
    ]
    with db.engine.begin() as connection:
        for verdict, reason, event in rows:
            connection.execute(
                text(
                    "INSERT INTO tag_scan (item_id, verdict, reason, scanned_at, event_id) "
                    "VALUES (:item, :verdict, :reason, '2026-05-01 10:00:00.000000', :event)"
                ),
                {"item": item, "verdict": verdict, "reason": reason, "event": event},
            )
    db.upgrade()
    with db.engine.connect() as connection:
        left = connection.execute(text("SELECT reason FROM tag_scan ORDER BY id")).scalars()
        assert list(left) == ["forged, in the log already", "genuine, waiting"]
    assert [r.reason for r in rejected_scans(db, item)] == ["forged, waiting"]
    db.dispose()
