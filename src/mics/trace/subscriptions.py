"""Named queries and their webhook subscriptions (EPCIS 2.0 REST binding, ``/queries``).

Query names are per partner: each partner (the operator included) creates, reads,
subscribes to and deletes only its own named queries, so two partners may both
have a ``Shipping`` query.
A subscription (``stream: true``) delivers each new matching event once: the
subscription remembers the capture position it has delivered up to, and starts
at the repository's current end, so old events are never resent. Each POST to
``dest`` carries an EPCISQueryDocument and a ``GS1-Signature`` header,
``sha256=<hex HMAC-SHA256 of the body keyed by the subscriber's signatureToken>``.
Failed deliveries are retried with exponential backoff (1 s, 2 s, 4 s, ... up to
an hour); the position only moves on after a 2xx answer. Where a delivery may go
is ``mics.trace.destinations``' business; the token is stored sealed
(``mics.trace.webhook_tokens``) and never returned or logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select

from mics.db import Database
from mics.errors import Conflict, InvalidInput, MicsError, NotFound
from mics.storage.locks import exclusive
from mics.trace.destinations import http_post
from mics.trace.query import Viewer, as_event, build, ordered_rows
from mics.trace.store import EventRow, NamedQueryRow, SubscriptionRow
from mics.trace.visibility import viewer_for
from mics.trace.webhook_tokens import CLEAR, TokenSeal

logger = logging.getLogger(__name__)
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,120}$")
MAX_BACKOFF = timedelta(hours=1)
_MAX_EXPONENT = math.ceil(math.log2(MAX_BACKOFF.total_seconds()))  # 2**12 s passes the hour
BATCH = 500
CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
# HMAC-SHA256 hashes a key longer than its 64-byte block (RFC 2104 §2), so a longer
# token adds no strength; 256 bytes leaves room for any encoding of a strong one.
MAX_TOKEN_BYTES = 256
MAX_DEST = 500  # epcis_subscription.dest's column width
DEST = re.compile(r"https?://[^\x00-\x20\x7f/]+[^\x00-\x20\x7f]*", re.IGNORECASE)

Post = Callable[[str, bytes, dict[str, str]], int]
"""``post(url, body, headers) -> HTTP status``: how deliveries leave (injectable in tests)."""


def _params(query: Any) -> dict[str, Any]:
    if not isinstance(query, dict):
        raise InvalidInput(
            "a named query's 'query' is an object of EPCIS query parameters",
            field="query",
            value=query,
            expected='{"eventType": ["ObjectEvent"], "EQ_bizStep": ["shipping"]}',
        )
    params: dict[str, str | list[str]] = {}
    for key, value in query.items():
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            params[key] = value
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            params[key] = str(value)
        else:  # what a query string cannot carry either: refused, not a 500 in build
            raise InvalidInput(
                "a query parameter's value is a string, a number or a list of strings",
                field=f"query.{key}",
                value=value,
                expected='e.g. "shipping" or ["shipping", "receiving"]',
            )
    build(params)  # raises InvalidInput naming any unknown parameter
    return params


def create_query(db: Database, name: str, query: Any, partner: str) -> dict[str, Any]:
    if not isinstance(name, str) or not NAME.match(name):
        raise InvalidInput(
            "query names are 1-120 letters, digits, '_', '-' or '.'",
            field="name",
            value=name,
            expected="e.g. MyShippingEvents",
        )
    params = _params(query)
    with db.transaction() as s:
        if s.get(NamedQueryRow, (partner, name)) is not None:
            raise Conflict(f"a query named {name!r} already exists", field="name", value=name)
        s.add(
            NamedQueryRow(
                name=name, partner_id=partner, params=params, created_at=datetime.now(UTC)
            )
        )
    return {"name": name, "query": params}


@dataclass(frozen=True)
class NamedQuery:
    """A partner's named query as the faces see it (the table row stays in ``trace``)."""

    partner_id: str
    name: str
    params: dict[str, Any]
    created_at: datetime


def get_query(db: Database, name: str, partner: str) -> NamedQuery:
    """``partner``'s query named ``name``."""
    with db.read() as s:
        row = s.get(NamedQueryRow, (partner, name))
        if row is None:
            raise NotFound(f"you have no query named {name!r}", field="queryName", value=name)
        return NamedQuery(row.partner_id, row.name, dict(row.params or {}), row.created_at)


def list_queries(db: Database, partner: str) -> list[dict[str, Any]]:
    with db.read() as s:
        query = select(NamedQueryRow).where(NamedQueryRow.partner_id == partner)
        return [{"name": r.name, "query": r.params} for r in s.scalars(query.order_by("name"))]


def delete_query(db: Database, name: str, partner: str) -> None:
    """Delete ``partner``'s query ``name`` and its subscriptions."""
    get_query(db, name, partner)
    with db.transaction() as s:
        s.execute(delete(SubscriptionRow).where(*_of_query(partner, name)))
        s.execute(
            delete(NamedQueryRow).where(
                NamedQueryRow.partner_id == partner, NamedQueryRow.name == name
            )
        )


def _of_query(partner: str, name: str) -> tuple[Any, Any]:
    return SubscriptionRow.partner_id == partner, SubscriptionRow.query_name == name


def subscribe(
    db: Database,
    name: str,
    body: Any,
    partner: str,
    seal: TokenSeal,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A webhook subscription to new events matching ``partner``'s query ``name``."""
    row = get_query(db, name, partner)
    if not isinstance(body, dict):
        raise InvalidInput(
            "a subscription is a JSON object",
            field="body",
            value=body,
            expected='{"dest": "https://...", "signatureToken": "...", "stream": true}',
        )
    dest = body.get("dest")
    if not isinstance(dest, str) or len(dest) > MAX_DEST or not DEST.fullmatch(dest):
        raise InvalidInput(
            f"dest must be an http(s) URL of at most {MAX_DEST} characters",
            field="dest",
            value=dest,
            expected="https://client.example.com/queryCallback",
        )
    if body.get("stream") is not True:
        raise InvalidInput(
            "this repository delivers streaming subscriptions",
            field="stream",
            value=body.get("stream"),
            expected="true",
        )
    token = _token(body.get("signatureToken") or "")
    subscription = str(uuid.uuid4())
    with db.transaction() as s:
        position = s.scalar(select(func.max(EventRow.id))) or 0
        s.add(
            SubscriptionRow(
                id=subscription,
                query_name=name,
                partner_id=row.partner_id,
                dest=dest,
                sealed_token=seal.seal(subscription, token),
                last_event=position,
                created_at=now or datetime.now(UTC),
                failures=0,
            )
        )
    return {"subscriptionID": subscription, "dest": dest, "stream": True}


def _token(token: Any) -> str:
    """The subscriber's signatureToken, checked; errors never echo it (it is a secret)."""
    if not isinstance(token, str):
        raise InvalidInput(
            "signatureToken must be a string",
            field="signatureToken",
            value=type(token).__name__,
            expected="a secret string the client chose",
        )
    try:
        size = len(token.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate from a JSON \ud800 escape
        size = -1
    if not 0 <= size <= MAX_TOKEN_BYTES:
        raise InvalidInput(
            "signatureToken is too long or not Unicode text",
            field="signatureToken",
            value=f"{len(token)} characters",
            expected=f"at most {MAX_TOKEN_BYTES} bytes of UTF-8 text",
        )
    return token


def unsubscribe(db: Database, name: str, subscription: str, partner: str) -> None:
    get_query(db, name, partner)
    with db.transaction() as s:
        found = s.get(SubscriptionRow, subscription)
        if found is None or (found.partner_id, found.query_name) != (partner, name):
            raise NotFound(
                f"no subscription {subscription!r} on query {name!r}",
                field="subscriptionID",
                value=subscription,
            )
        s.delete(found)


def list_subscriptions(db: Database, name: str, partner: str) -> list[dict[str, Any]]:
    get_query(db, name, partner)
    with db.read() as s:
        query = select(SubscriptionRow).where(*_of_query(partner, name))
        rows = s.scalars(query.order_by(SubscriptionRow.created_at))
        return [
            {"subscriptionID": r.id, "dest": r.dest, "stream": True, "failures": r.failures}
            for r in rows
        ]


def subscription(db: Database, name: str, subscription_id: str, partner: str) -> dict[str, Any]:
    """One subscription of ``partner``'s query ``name`` (the binding's ``GET
    /queries/{queryName}/subscriptions/{subscriptionID}``: is it still active?)."""
    get_query(db, name, partner)
    with db.read() as s:
        found = s.get(SubscriptionRow, subscription_id)
    if found is None or (found.partner_id, found.query_name) != (partner, name):
        raise NotFound(
            f"no subscription {subscription_id!r} on query {name!r}",
            field="subscriptionID",
            value=subscription_id,
        )
    created = found.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return {
        "subscriptionID": found.id,
        "queryName": name,
        "dest": found.dest,
        "stream": True,
        "createdAt": created,
        "failures": found.failures,
    }


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Delivery:
    subscription: str
    events: int
    status: int | None


def clear_tokens(db: Database) -> int:
    """How many tokens are still stored in clear (from before migration 0006)."""
    with db.read() as s:
        clear = SubscriptionRow.sealed_token.startswith(CLEAR)
        return s.scalar(select(func.count()).where(clear)) or 0


def seal_clear_tokens(db: Database, seal: TokenSeal) -> int:
    """Seal the tokens stored in clear before migration 0006; how many there were."""
    with db.transaction() as s:
        clear = SubscriptionRow.sealed_token.startswith(CLEAR)
        rows = list(s.scalars(select(SubscriptionRow).where(clear)))
        for row in rows:
            row.sealed_token = seal.seal(row.id, seal.open(row.id, row.sealed_token))
    return len(rows)


def deliver(
    db: Database, post: Post, seal: TokenSeal, now: datetime | None = None
) -> list[Delivery]:
    """Send every due subscription its new events once; returns what was attempted."""
    now = now or datetime.now(UTC)
    seal_clear_tokens(db, seal)
    with db.read() as s:
        due = list(s.scalars(select(SubscriptionRow).order_by(SubscriptionRow.created_at)))
    done = []
    for sub in due:
        try:
            attempt = _deliver_one(db, post, seal, sub, now)
        except MicsError:  # e.g. its partner or query was removed: skip it, serve the others
            logger.exception("subscription %s could not be served", sub.id)
            continue
        if attempt is not None:
            done.append(attempt)
    return done


def _deliver_one(
    db: Database, post: Post, seal: TokenSeal, sub: SubscriptionRow, now: datetime
) -> Delivery | None:
    """One subscription's new events, sent once; None when nothing was due."""
    retry_at = sub.next_attempt_at
    if retry_at is not None and retry_at > now:
        return None
    params = get_query(db, sub.query_name, sub.partner_id).params
    viewer: Viewer = viewer_for(db, sub.partner_id)
    with db.read() as s:
        query = build(params).where(EventRow.id > sub.last_event)
        rows = ordered_rows(s, query, viewer, None, "ASC", BATCH)
    if not rows:
        return None
    body = json.dumps(
        {
            "@context": [CONTEXT],
            "type": "EPCISQueryDocument",
            "schemaVersion": "2.0",
            "creationDate": now.isoformat().replace("+00:00", "Z"),
            "epcisBody": {
                "queryResults": {
                    "queryName": sub.query_name,
                    "subscriptionID": sub.id,
                    "resultsBody": {"eventList": [as_event(r) for r in rows]},
                }
            },
        },
        separators=(",", ":"),
    ).encode()
    token = seal.open(sub.id, sub.sealed_token)
    headers = {"content-type": "application/ld+json", "GS1-Signature": signature(token, body)}
    try:
        status: int | None = post(sub.dest, body, headers)
    except OSError:
        status = None
    with db.transaction() as s:
        row = s.get(SubscriptionRow, sub.id)
        if row is None:
            return None
        if status is not None and 200 <= status < 300:
            row.last_event, row.failures, row.next_attempt_at = rows[-1].id, 0, None
        else:
            row.failures += 1
            row.next_attempt_at = now + backoff(row.failures)
    return Delivery(sub.id, len(rows), status)


def backoff(failures: int) -> timedelta:
    """The wait after ``failures`` failures in a row: 1 s, 2 s, 4 s, ... up to an hour.

    The exponent stops growing once the hour is reached: ``2 ** failures`` seconds
    leaves ``timedelta``'s range after ~46 failures, two days of hourly retries."""
    return min(timedelta(seconds=2 ** min(failures - 1, _MAX_EXPONENT)), MAX_BACKOFF)


def run_deliveries(
    db: Database,
    stop: threading.Event,
    seal: TokenSeal,
    post: Post = http_post,
    interval: float = 1.0,
) -> None:
    """Deliver new events every ``interval`` seconds until ``stop`` is set (``mics serve``).

    A round runs in one process at a time among all those serving ``db`` (several
    ``mics serve`` on one PostgreSQL: ``mics.storage.locks``); the others skip it, so
    no event is posted twice."""
    while not stop.wait(interval):
        try:
            with exclusive(db, "webhook-deliveries") as ours:
                if ours:
                    deliver(db, post, seal)
        except Exception:  # a bad subscription must not stop the others next round
            logger.exception("webhook delivery round failed")
