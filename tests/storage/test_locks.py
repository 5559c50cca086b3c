"""Named locks across processes (``mics.storage.locks``): one holder at a time per database."""

from __future__ import annotations

import threading
import time

from mics.db import Database, make_engine
from mics.storage.locks import exclusive


def _second(db: Database) -> Database:
    """Another engine on the same database: what another process would open."""
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        return Database.from_url(url.render_as_string(hide_password=False))
    with db.engine.connect() as connection:
        schema = connection.exec_driver_sql("SELECT current_schema()").scalar()
    return Database(
        make_engine(
            url.render_as_string(hide_password=False),
            connect_args={"options": f"-csearch_path={schema}"},
        )
    )


def test_one_holder_at_a_time_across_engines(db: Database) -> None:
    other = _second(db)
    try:
        with exclusive(db, "publisher") as first:
            assert first
            with exclusive(other, "publisher") as second:
                assert not second  # held elsewhere: skip the turn
            with exclusive(other, "deliveries") as unrelated:
                assert unrelated  # another name is another lock
        with exclusive(other, "publisher") as after:
            assert after  # given back when the block ends
    finally:
        other.dispose()


def test_waiting_queues_until_the_holder_is_done(db: Database) -> None:
    other = _second(db)
    order: list[str] = []
    try:
        with exclusive(db, "round") as held:
            assert held

            def wait_for_it() -> None:
                with exclusive(other, "round", wait=True) as got:
                    order.append(f"second {got}")

            waiter = threading.Thread(target=wait_for_it)
            waiter.start()
            time.sleep(0.3)
            order.append("first done")
        waiter.join(timeout=30)
        assert order == ["first done", "second True"]
    finally:
        other.dispose()


def test_in_memory_databases_lock_within_the_process() -> None:
    db = Database.from_url("sqlite://")
    with exclusive(db, "x") as first, exclusive(db, "x") as second:
        assert (first, second) == (True, False)
