"""Named queries and their webhook subscriptions (EPCIS 2.0 REST binding, ``/queries``).

A subscription (``stream: true``) delivers each new matching event once: the
subscription remembers the capture position it has delivered up to, and starts
at the repository's current end, so old events are never resent. Each POST to
``dest`` carries an EPCISQueryDocument and a ``GS1-Signature`` header,
``sha256=<hex HMAC-SHA256 of the body keyed by the subscriber's signatureToken>``.
Failed deliveries are retried with exponential backoff (1 s, 2 s, 4 s, ... up to
an hour); the position only moves on after a 2xx answer.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import os
import re
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select

from mics.db import Database
from mics.errors import Conflict, InvalidInput, MicsError, NotFound
from mics.trace.query import Viewer, as_event, build, visible
from mics.trace.store import EventRow, NamedQueryRow, SubscriptionRow
from mics.trace.visibility import viewer_for

logger = logging.getLogger(__name__)
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,120}$")
MAX_BACKOFF = timedelta(hours=1)
BATCH = 500
CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"

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
    params = {k: v if isinstance(v, (str, list)) else str(v) for k, v in query.items()}
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
        if s.get(NamedQueryRow, name) is not None:
            raise Conflict(f"a query named {name!r} already exists", field="name", value=name)
        s.add(
            NamedQueryRow(
                name=name, partner_id=partner, params=params, created_at=datetime.now(UTC)
            )
        )
    return {"name": name, "query": params}


def get_query(db: Database, name: str, partner: str | None) -> NamedQueryRow:
    with db.read() as s:
        row = s.get(NamedQueryRow, name)
    if row is None or (partner is not None and row.partner_id != partner):
        raise NotFound(f"no query named {name!r}", field="queryName", value=name)
    return row


def list_queries(db: Database, partner: str | None) -> list[dict[str, Any]]:
    with db.read() as s:
        query = select(NamedQueryRow).order_by(NamedQueryRow.name)
        if partner is not None:
            query = query.where(NamedQueryRow.partner_id == partner)
        return [{"name": r.name, "query": r.params} for r in s.scalars(query)]


def delete_query(db: Database, name: str, partner: str | None) -> None:
    get_query(db, name, partner)
    with db.transaction() as s:
        s.execute(delete(SubscriptionRow).where(SubscriptionRow.query_name == name))
        s.execute(delete(NamedQueryRow).where(NamedQueryRow.name == name))


def subscribe(
    db: Database, name: str, body: Any, partner: str | None, now: datetime | None = None
) -> dict[str, Any]:
    """A webhook subscription to new events matching query ``name``."""
    row = get_query(db, name, partner)
    if not isinstance(body, dict):
        raise InvalidInput(
            "a subscription is a JSON object",
            field="body",
            value=body,
            expected='{"dest": "https://...", "signatureToken": "...", "stream": true}',
        )
    dest = body.get("dest")
    if not isinstance(dest, str) or not re.match(r"^https?://[^\s/]+", dest):
        raise InvalidInput(
            "dest must be an http(s) URL",
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
    token = body.get("signatureToken") or ""
    if not isinstance(token, str):
        raise InvalidInput(
            "signatureToken must be a string",
            field="signatureToken",
            value=token,
            expected="a secret string the client chose",
        )
    subscription = str(uuid.uuid4())
    with db.transaction() as s:
        position = s.scalar(select(func.max(EventRow.id))) or 0
        s.add(
            SubscriptionRow(
                id=subscription,
                query_name=name,
                partner_id=row.partner_id,
                dest=dest,
                secret=token,
                last_event=position,
                created_at=now or datetime.now(UTC),
                failures=0,
            )
        )
    return {"subscriptionID": subscription, "dest": dest, "stream": True}


def unsubscribe(db: Database, name: str, subscription: str, partner: str | None) -> None:
    get_query(db, name, partner)
    with db.transaction() as s:
        found = s.get(SubscriptionRow, subscription)
        if found is None or found.query_name != name:
            raise NotFound(
                f"no subscription {subscription!r} on query {name!r}",
                field="subscriptionID",
                value=subscription,
            )
        s.delete(found)


def list_subscriptions(db: Database, name: str, partner: str | None) -> list[dict[str, Any]]:
    get_query(db, name, partner)
    with db.read() as s:
        rows = s.scalars(select(SubscriptionRow).where(SubscriptionRow.query_name == name))
        return [
            {"subscriptionID": r.id, "dest": r.dest, "stream": True, "failures": r.failures}
            for r in rows
        ]


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Delivery:
    subscription: str
    events: int
    status: int | None


def deliver(db: Database, post: Post, now: datetime | None = None) -> list[Delivery]:
    """Send every due subscription its new events once; returns what was attempted."""
    now = now or datetime.now(UTC)
    with db.read() as s:
        due = list(s.scalars(select(SubscriptionRow).order_by(SubscriptionRow.created_at)))
    done = []
    for sub in due:
        try:
            attempt = _deliver_one(db, post, sub, now)
        except MicsError:  # e.g. its partner or query was removed: skip it, serve the others
            logger.exception("subscription %s could not be served", sub.id)
            continue
        if attempt is not None:
            done.append(attempt)
    return done


def _deliver_one(db: Database, post: Post, sub: SubscriptionRow, now: datetime) -> Delivery | None:
    """One subscription's new events, sent once; None when nothing was due."""
    retry_at = sub.next_attempt_at
    if retry_at is not None and retry_at > now:
        return None
    params = get_query(db, sub.query_name, None).params
    viewer: Viewer = viewer_for(db, sub.partner_id)
    with db.read() as s:
        query = visible(build(params), viewer).where(EventRow.id > sub.last_event)
        rows = list(s.scalars(query.order_by(EventRow.id).limit(BATCH)))
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
    headers = {"content-type": "application/ld+json", "GS1-Signature": signature(sub.secret, body)}
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
            row.next_attempt_at = now + min(timedelta(seconds=2 ** (row.failures - 1)), MAX_BACKOFF)
    return Delivery(sub.id, len(rows), status)


def public_destination(url: str) -> bool:
    """Whether ``url``'s host resolves only to public addresses (no loopback, private,
    link-local or reserved ones): webhooks must not reach into the operator's network."""
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None)
    except (socket.gaierror, UnicodeError):
        return False
    addresses = {ipaddress.ip_address(info[4][0]) for info in infos}
    return bool(addresses) and all(a.is_global for a in addresses)


def http_post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST with the standard library; a refused or failing call counts as a failure.

    Destinations inside private networks are refused unless
    ``MICS_WEBHOOKS_ALLOW_PRIVATE=1`` (for a repository and its subscribers on one LAN)."""
    if os.environ.get("MICS_WEBHOOKS_ALLOW_PRIVATE") != "1" and not public_destination(url):
        logger.warning("webhook to %s refused: not a public address", url)
        return 0
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (urllib.error.URLError, TimeoutError):
        return 0


def run_deliveries(
    db: Database, stop: threading.Event, post: Post = http_post, interval: float = 1.0
) -> None:
    """Deliver new events every ``interval`` seconds until ``stop`` is set (``mics serve``)."""
    while not stop.wait(interval):
        try:
            deliver(db, post)
        except Exception:  # a bad subscription must not stop the others next round
            logger.exception("webhook delivery round failed")
