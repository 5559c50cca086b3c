"""Named queries and webhook subscriptions: new events only, signed, retried with backoff."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from mics import registry
from mics.db import Database
from mics.errors import Conflict, InvalidInput, NotFound, TamperDetected
from mics.registry.demo import ensure_instance
from mics.registry.schemas import PartnerIn
from mics.trace import capture, subscriptions
from mics.trace.webhook_tokens import TokenSeal

CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
T0 = datetime(2026, 11, 24, 12, tzinfo=UTC)
SEAL = TokenSeal(bytes(range(32)))


def event(serial: str, step: str) -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "action": "OBSERVE",
        "bizStep": step,
        "eventTime": "2026-03-01T10:00:00.000+01:00",
        "eventTimeZoneOffset": "+01:00",
        "epcList": [f"https://id.gs1.org/01/08012345000012/21/{serial}"],
    }


class Receiver:
    """A webhook endpoint that answers with the statuses it is given, in turn."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.calls: list[tuple[str, bytes, dict[str, str]]] = []

    def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        self.calls.append((url, body, headers))
        return self.statuses.pop(0) if self.statuses else 200

    def event_ids(self, call: int) -> list[str]:
        body = json.loads(self.calls[call][1])
        return [
            e["epcList"][0][-2:]
            for e in body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        ]


@pytest.fixture
def repo(db: Database) -> Database:
    ensure_instance(db, "op")
    registry.create_partner(
        db, PartnerIn(id="brand", name="Brand", kind="enterprise", is_public=False)
    )
    capture.capture_events(db, [event("01", "shipping")], CONTEXT, "brand", now=T0)
    subscriptions.create_query(db, "Shipping", {"EQ_bizStep": ["shipping"]}, "brand")
    return db


def test_subscription_gets_only_new_matching_events_signed(repo: Database) -> None:
    sub = subscriptions.subscribe(
        repo,
        "Shipping",
        {"dest": "https://client.example/cb", "signatureToken": "s3cret", "stream": True},
        "brand",
        SEAL,
    )
    receiver = Receiver()
    assert subscriptions.deliver(repo, receiver, SEAL, T0) == []  # the old event is not resent
    capture.capture_events(
        repo, [event("02", "shipping"), event("03", "receiving")], CONTEXT, "brand", now=T0
    )
    sent = subscriptions.deliver(repo, receiver, SEAL, T0)
    assert [(d.subscription, d.events, d.status) for d in sent] == [(sub["subscriptionID"], 1, 200)]
    url, body, headers = receiver.calls[0]
    assert url == "https://client.example/cb"
    assert receiver.event_ids(0) == ["02"]
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["GS1-Signature"] == f"sha256={expected}"
    assert subscriptions.deliver(repo, receiver, SEAL, T0) == []  # delivered once


def test_failed_delivery_is_retried_with_backoff_then_resumes(repo: Database) -> None:
    subscriptions.subscribe(
        repo, "Shipping", {"dest": "http://client.example/cb", "stream": True}, "brand", SEAL
    )
    capture.capture_events(repo, [event("04", "shipping")], CONTEXT, "brand", now=T0)
    receiver = Receiver(500, 503)
    assert [d.status for d in subscriptions.deliver(repo, receiver, SEAL, T0)] == [500]
    assert subscriptions.deliver(repo, receiver, SEAL, T0 + timedelta(milliseconds=500)) == []
    assert [
        d.status for d in subscriptions.deliver(repo, receiver, SEAL, T0 + timedelta(seconds=1))
    ] == [503]
    # second failure: wait 2 s
    assert subscriptions.deliver(repo, receiver, SEAL, T0 + timedelta(seconds=2)) == []
    assert [
        d.status for d in subscriptions.deliver(repo, receiver, SEAL, T0 + timedelta(seconds=3))
    ] == [200]
    assert [receiver.event_ids(i) for i in range(3)] == [["04"]] * 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"dest": "ftp://x", "stream": True}, "dest"),
        ({"dest": "https://x.example/" + "a" * 500, "stream": True}, "dest"),
        ({"dest": "https://x.example/\x00", "stream": True}, "dest"),
        ({"dest": "https://x\x00y.example/", "stream": True}, "dest"),
        ({"dest": "https://x.example"}, "stream"),
        ("nope", "body"),
    ],
)
def test_bad_subscriptions_are_rejected(repo: Database, body: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        subscriptions.subscribe(repo, "Shipping", body, "brand", SEAL)
    assert caught.value.field == field


def test_query_names_are_unique_and_parameters_checked(repo: Database) -> None:
    with pytest.raises(Conflict):
        subscriptions.create_query(repo, "Shipping", {}, "brand")
    with pytest.raises(InvalidInput) as caught:
        subscriptions.create_query(repo, "Bad", {"EQ_flavour": ["salty"]}, "brand")
    assert caught.value.field == "EQ_flavour"


def _second_partner(db: Database) -> None:
    registry.create_partner(
        db, PartnerIn(id="other", name="Other", kind="enterprise", is_public=False)
    )


def test_query_names_are_per_partner(repo: Database) -> None:
    _second_partner(repo)
    created = subscriptions.create_query(repo, "Shipping", {"EQ_bizStep": ["receiving"]}, "other")
    assert created == {"name": "Shipping", "query": {"EQ_bizStep": ["receiving"]}}
    assert subscriptions.get_query(repo, "Shipping", "brand").params == {"EQ_bizStep": ["shipping"]}
    assert subscriptions.get_query(repo, "Shipping", "other").params == {
        "EQ_bizStep": ["receiving"]
    }
    assert subscriptions.list_queries(repo, "other") == [created]
    subscriptions.delete_query(repo, "Shipping", "other")
    assert [q["name"] for q in subscriptions.list_queries(repo, "brand")] == ["Shipping"]
    with pytest.raises(NotFound):
        subscriptions.get_query(repo, "Shipping", "other")


def test_each_partner_subscribes_to_its_own_query_of_a_shared_name(repo: Database) -> None:
    _second_partner(repo)
    subscriptions.create_query(repo, "Shipping", {"EQ_bizStep": ["receiving"]}, "other")
    mine = {"dest": "https://brand.example/cb", "stream": True}
    theirs = {"dest": "https://other.example/cb", "stream": True}
    subscriptions.subscribe(repo, "Shipping", mine, "brand", SEAL)
    subscriptions.subscribe(repo, "Shipping", theirs, "other", SEAL)
    assert [s["dest"] for s in subscriptions.list_subscriptions(repo, "Shipping", "brand")] == [
        "https://brand.example/cb"
    ]
    capture.capture_events(
        repo, [event("05", "shipping"), event("06", "receiving")], CONTEXT, "brand", now=T0
    )
    capture.capture_events(repo, [event("07", "receiving")], CONTEXT, "other", now=T0)
    receiver = Receiver()
    subscriptions.deliver(repo, receiver, SEAL, T0)
    sent = {url: receiver.event_ids(i) for i, (url, _, _) in enumerate(receiver.calls)}
    # each runs its own query over what it may see: brand's shipping, other's receiving
    assert sent == {"https://brand.example/cb": ["05"], "https://other.example/cb": ["07"]}


TOKEN = "tok-4b1d-Secret-9f2e"


def _stored(db: Database) -> str:
    """Every column of every subscription row as the database holds it."""
    with db.read() as s:
        return repr(s.execute(text("SELECT * FROM epcis_subscription")).all())


def test_signature_tokens_are_stored_sealed_and_still_sign(repo: Database) -> None:
    body = {"dest": "https://client.example/cb", "signatureToken": TOKEN, "stream": True}
    sub = subscriptions.subscribe(repo, "Shipping", body, "brand", SEAL)
    assert TOKEN not in _stored(repo)
    assert "aesgcm1:" in _stored(repo)
    assert TOKEN not in repr(sub) + repr(
        subscriptions.list_subscriptions(repo, "Shipping", "brand")
    )
    capture.capture_events(repo, [event("08", "shipping")], CONTEXT, "brand", now=T0)
    receiver = Receiver()
    subscriptions.deliver(repo, receiver, SEAL, T0)
    _, sent, headers = receiver.calls[0]
    assert headers["GS1-Signature"] == subscriptions.signature(TOKEN, sent)


def test_sqlite_file_and_wal_never_hold_a_token(sqlite_db: Database) -> None:
    ensure_instance(sqlite_db, "op")
    subscriptions.create_query(sqlite_db, "All", {}, "op")
    body = {"dest": "https://client.example/cb", "signatureToken": TOKEN, "stream": True}
    subscriptions.subscribe(sqlite_db, "All", body, "op", SEAL)
    path = Path(str(sqlite_db.engine.url.database))
    files = [path, path.with_name(path.name + "-wal")]
    assert all(TOKEN.encode() not in f.read_bytes() for f in files if f.exists())


def test_a_token_does_not_open_on_another_subscription_or_key(repo: Database) -> None:
    sealed = SEAL.seal("sub-a", TOKEN)
    assert SEAL.open("sub-a", sealed) == TOKEN
    with pytest.raises(TamperDetected) as moved:
        SEAL.open("sub-b", sealed)
    with pytest.raises(TamperDetected):
        TokenSeal(bytes(32)).open("sub-a", sealed)
    assert TOKEN not in str(moved.value) + repr(moved.value.problem()) + repr(SEAL)


def test_tokens_from_before_the_migration_are_sealed_and_keep_signing(repo: Database) -> None:
    sub = subscriptions.subscribe(
        repo, "Shipping", {"dest": "https://c.example/cb", "stream": True}, "brand", SEAL
    )
    with repo.transaction() as s:  # what migration 0006 leaves of a clear token
        s.execute(text("UPDATE epcis_subscription SET sealed_token = :t"), {"t": "clear:" + TOKEN})
    assert subscriptions.clear_tokens(repo) == 1
    capture.capture_events(repo, [event("09", "shipping")], CONTEXT, "brand", now=T0)
    receiver = Receiver()
    assert [d.subscription for d in subscriptions.deliver(repo, receiver, SEAL, T0)] == [
        sub["subscriptionID"]
    ]
    _, sent, headers = receiver.calls[0]
    assert headers["GS1-Signature"] == subscriptions.signature(TOKEN, sent)
    assert subscriptions.clear_tokens(repo) == 0
    assert TOKEN not in _stored(repo)


@pytest.mark.parametrize("token", ["x" * 257, "\ud800", 918273645])
def test_bad_tokens_are_refused_without_echoing_them(repo: Database, token: Any) -> None:
    body = {"dest": "https://c.example/cb", "signatureToken": token, "stream": True}
    with pytest.raises(InvalidInput) as caught:
        subscriptions.subscribe(repo, "Shipping", body, "brand", SEAL)
    assert caught.value.field == "signatureToken"
    assert str(token) not in repr(caught.value.problem())


def test_an_unopenable_token_is_logged_by_subscription_never_by_value(
    repo: Database, caplog: pytest.LogCaptureFixture
) -> None:
    body = {"dest": "https://c.example/cb", "signatureToken": TOKEN, "stream": True}
    subscriptions.subscribe(repo, "Shipping", body, "brand", SEAL)
    capture.capture_events(repo, [event("10", "shipping")], CONTEXT, "brand", now=T0)
    receiver = Receiver()
    assert subscriptions.deliver(repo, receiver, TokenSeal(bytes(32)), T0) == []
    assert receiver.calls == []
    assert "does not open" in caplog.text
    assert TOKEN not in caplog.text


def test_migration_0006_keeps_queries_and_marks_clear_tokens(db: Database) -> None:
    from alembic import command

    from mics.db import alembic_config

    def migrate(step: str, revision: str) -> None:
        with db.engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            getattr(command, step)(config, revision)

    ensure_instance(db, "op")
    migrate("downgrade", "0005_product_texts")
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO epcis_query (name, partner_id, params, created_at) "
                "VALUES ('Old', 'op', '{}', '2026-01-01')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO epcis_subscription (id, query_name, partner_id, dest, secret, "
                "last_event, created_at, failures) VALUES "
                "('s1', 'Old', 'op', 'https://c.example/cb', :t, 0, '2026-01-01', 0)"
            ),
            {"t": TOKEN},
        )
    migrate("upgrade", "heads")
    assert subscriptions.get_query(db, "Old", "op").params == {}
    assert subscriptions.clear_tokens(db) == 1
    assert subscriptions.seal_clear_tokens(db, SEAL) == 1
    assert TOKEN not in _stored(db)
    assert [s["subscriptionID"] for s in subscriptions.list_subscriptions(db, "Old", "op")] == [
        "s1"
    ]


def test_a_subscription_failing_for_days_waits_an_hour_and_blocks_no_other(
    repo: Database,
) -> None:
    first = {"dest": "https://down.example/cb", "stream": True}
    down = subscriptions.subscribe(repo, "Shipping", first, "brand", SEAL, now=T0)
    up = {"dest": "https://up.example/cb", "stream": True}
    subscriptions.subscribe(repo, "Shipping", up, "brand", SEAL, now=T0 + timedelta(seconds=1))
    with repo.transaction() as s:  # two months of hourly failures
        s.execute(
            text("UPDATE epcis_subscription SET failures = 1500 WHERE id = :id"),
            {"id": down["subscriptionID"]},
        )
    capture.capture_events(repo, [event("11", "shipping")], CONTEXT, "brand", now=T0)
    receiver = Receiver(503)
    sent = subscriptions.deliver(repo, receiver, SEAL, T0)
    assert [(d.subscription == down["subscriptionID"], d.status) for d in sent] == [
        (True, 503),
        (False, 200),
    ]
    assert subscriptions.deliver(repo, receiver, SEAL, T0 + timedelta(minutes=59)) == []
    again = subscriptions.deliver(repo, receiver, SEAL, T0 + timedelta(hours=1))
    assert [d.subscription for d in again] == [down["subscriptionID"]]
