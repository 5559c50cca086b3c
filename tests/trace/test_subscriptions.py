"""Named queries and webhook subscriptions: new events only, signed, retried with backoff."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mics import registry
from mics.db import Database
from mics.errors import Conflict, InvalidInput
from mics.registry.demo import ensure_instance
from mics.registry.schemas import PartnerIn
from mics.trace import capture, subscriptions

CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
T0 = datetime(2026, 11, 24, 12, tzinfo=UTC)


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
    )
    receiver = Receiver()
    assert subscriptions.deliver(repo, receiver, T0) == []  # the old event is not resent
    capture.capture_events(
        repo, [event("02", "shipping"), event("03", "receiving")], CONTEXT, "brand", now=T0
    )
    sent = subscriptions.deliver(repo, receiver, T0)
    assert [(d.subscription, d.events, d.status) for d in sent] == [(sub["subscriptionID"], 1, 200)]
    url, body, headers = receiver.calls[0]
    assert url == "https://client.example/cb"
    assert receiver.event_ids(0) == ["02"]
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["GS1-Signature"] == f"sha256={expected}"
    assert subscriptions.deliver(repo, receiver, T0) == []  # delivered once


def test_failed_delivery_is_retried_with_backoff_then_resumes(repo: Database) -> None:
    subscriptions.subscribe(
        repo, "Shipping", {"dest": "http://client.example/cb", "stream": True}, "brand"
    )
    capture.capture_events(repo, [event("04", "shipping")], CONTEXT, "brand", now=T0)
    receiver = Receiver(500, 503)
    assert [d.status for d in subscriptions.deliver(repo, receiver, T0)] == [500]
    assert subscriptions.deliver(repo, receiver, T0 + timedelta(milliseconds=500)) == []
    assert [d.status for d in subscriptions.deliver(repo, receiver, T0 + timedelta(seconds=1))] == [
        503
    ]
    # second failure: wait 2 s
    assert subscriptions.deliver(repo, receiver, T0 + timedelta(seconds=2)) == []
    assert [d.status for d in subscriptions.deliver(repo, receiver, T0 + timedelta(seconds=3))] == [
        200
    ]
    assert [receiver.event_ids(i) for i in range(3)] == [["04"]] * 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"dest": "ftp://x", "stream": True}, "dest"),
        ({"dest": "https://x.example"}, "stream"),
        ("nope", "body"),
    ],
)
def test_bad_subscriptions_are_rejected(repo: Database, body: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        subscriptions.subscribe(repo, "Shipping", body, "brand")
    assert caught.value.field == field


def test_query_names_are_unique_and_parameters_checked(repo: Database) -> None:
    with pytest.raises(Conflict):
        subscriptions.create_query(repo, "Shipping", {}, "brand")
    with pytest.raises(InvalidInput) as caught:
        subscriptions.create_query(repo, "Bad", {"EQ_flavour": ["salty"]}, "brand")
    assert caught.value.field == "EQ_flavour"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/cb",
        "http://localhost/cb",
        "http://10.1.2.3/cb",
        "http://169.254.169.254/latest",
        "http://[::1]/cb",
    ],
)
def test_webhooks_into_private_networks_are_refused(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MICS_WEBHOOKS_ALLOW_PRIVATE", raising=False)
    assert subscriptions.public_destination(url) is False
    assert subscriptions.http_post(url, b"{}", {}) == 0
