"""The MICS log leaf: what one entry of the transparency log contains.

A leaf records that a partner submitted an EPCIS event with a given event hash
at a given time. Its data is UTF-8 text of exactly four newline-terminated
lines, so anyone can rebuild it byte for byte and hash it with RFC 6962
(``SHA-256(0x00 || data)``)::

    mics-leaf/v1
    ni:///sha-256;<64 lowercase hex>?ver=CBV2.0
    <record time, UTC, RFC 3339 with milliseconds and "Z">
    <partner id>

1. the fixed version line ``mics-leaf/v1``;
2. the EPCIS event hash as produced by the GS1 CBV 2.0 event hash algorithm
   (an RFC 6920 ``ni`` URI: ``ni:///sha-256;`` + 64 lowercase hex digits +
   ``?ver=CBV2.0``);
3. the time MICS recorded the event, in UTC, RFC 3339 ``date-time`` with exactly
   three fractional digits (milliseconds, truncated) and the ``Z`` suffix, e.g.
   ``2026-11-24T20:30:00.123Z``;
4. the id of the submitting partner: 1 to 256 characters, no spaces at either
   end, no control characters.

Example (with a real 64-digit hash in place of ``…``)::

    b"mics-leaf/v1\\nni:///sha-256;…?ver=CBV2.0\\n2026-11-24T20:30:00.123Z\\nacme-srl\\n"

Every leaf fits the 65,535-byte limit of tlog-tiles entry bundles.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import NamedTuple

from mics.errors import InvalidInput

LEAF_VERSION = "mics-leaf/v1"
EVENT_HASH = re.compile(r"ni:///sha-256;[0-9a-f]{64}\?ver=CBV2\.0")
RECORD_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z")
PARTNER = re.compile(r"[^\x00-\x20\x7f](?:[^\x00-\x1f\x7f]{0,254}[^\x00-\x20\x7f])?")


class Leaf(NamedTuple):
    """The three facts a leaf records."""

    event_hash: str
    record_time: datetime
    partner: str


def format_record_time(record_time: datetime) -> str:
    """``record_time`` in UTC as RFC 3339 with milliseconds (truncated) and ``Z``."""
    if record_time.tzinfo is None or record_time.utcoffset() is None:
        raise InvalidInput(
            f"record time {record_time.isoformat()} has no time zone",
            field="record_time",
            value=record_time.isoformat(),
            expected="a timezone-aware datetime, e.g. datetime.now(UTC)",
        )
    utc = record_time.astimezone(UTC)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond // 1000:03d}Z"
    )


def leaf_data(event_hash: str, record_time: datetime, partner: str) -> bytes:
    """The leaf bytes for an event recorded at ``record_time`` for ``partner``."""
    _check_event_hash(event_hash)
    _check_partner(partner)
    lines = (LEAF_VERSION, event_hash, format_record_time(record_time), partner)
    return ("\n".join(lines) + "\n").encode()


def leaf_writer(record_time: datetime, partner: str) -> Callable[[str], bytes]:
    """``leaf_data`` for the events of one capture: time and partner checked and written once."""
    _check_partner(partner)
    head = (LEAF_VERSION + "\n").encode()
    tail = ("\n" + format_record_time(record_time) + "\n" + partner + "\n").encode()

    def leaf(event_hash: str) -> bytes:
        _check_event_hash(event_hash)
        return head + event_hash.encode() + tail

    return leaf


def parse_leaf_data(data: bytes) -> Leaf:
    """The event hash, record time and partner in a leaf, or ``InvalidInput``."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInput(
            f"leaf data is not UTF-8 ({error.reason} at byte {error.start})",
            field="leaf_data",
            value=data[:80].hex(),
            expected="UTF-8 text in the mics-leaf/v1 format",
        ) from None
    lines = text.split("\n")
    if len(lines) != 5 or lines[4] != "" or lines[0] != LEAF_VERSION:
        raise InvalidInput(
            "leaf data is not four newline-terminated lines starting with mics-leaf/v1",
            field="leaf_data",
            value=text[:200],
            expected="mics-leaf/v1\\n<event hash>\\n<record time>\\n<partner>\\n",
        )
    _, event_hash, stamp, partner, _ = lines
    _check_event_hash(event_hash)
    _check_partner(partner)
    return Leaf(event_hash, parse_record_time(stamp), partner)


def parse_record_time(stamp: str) -> datetime:
    """Read a leaf's ``YYYY-MM-DDTHH:MM:SS.mmmZ`` time back as an aware UTC datetime."""
    match = RECORD_TIME.fullmatch(stamp)
    try:
        if match is None:
            raise ValueError("wrong shape")
        year, month, day, hour, minute, second, millis = map(int, match.groups())
        return datetime(year, month, day, hour, minute, second, millis * 1000, tzinfo=UTC)
    except ValueError:
        raise InvalidInput(
            f"record time {stamp!r} is not a UTC RFC 3339 time with milliseconds",
            field="record_time",
            value=stamp,
            expected="e.g. 2026-11-24T20:30:00.123Z",
        ) from None


def _check_event_hash(event_hash: str) -> None:
    if not EVENT_HASH.fullmatch(event_hash):
        raise InvalidInput(
            f"event hash {event_hash!r} is not a CBV 2.0 ni URI",
            field="event_hash",
            value=event_hash,
            expected="ni:///sha-256;<64 lowercase hex digits>?ver=CBV2.0",
        )


def _check_partner(partner: str) -> None:
    if not PARTNER.fullmatch(partner):
        raise InvalidInput(
            f"partner id {partner!r} is not 1-256 characters without control "
            "characters or surrounding spaces",
            field="partner",
            value=partner,
            expected="a partner id such as acme-srl",
        )
