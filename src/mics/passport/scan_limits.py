"""Rates of failed tag scans, per client and per tag: token buckets in memory, per process.

Anyone can send a scan URL with a made-up ``e``/``c`` (a ``not_authentic``
verdict), and anyone holding one genuine URL can send it again and again (a
``replay``). Neither needs a tag, and each used to become an EPCIS event in the
transparency log. Failed scans are rationed, as failed logins are (OWASP
Authentication Cheat Sheet, "Login Throttling"):

- per client (``client_key``: the IPv4 address, or the IPv6 /64 a single
  subscriber is given, RFC 6177): ``CLIENT_BURST`` failed scans, then one every
  ``CLIENT_REFILL_S`` seconds. A client without tokens is refused before its
  scan is even verified, its genuine scans too, until it has waited;
- per tag (the item whose URL was scanned: one tag per item): ``TAG_BURST``
  failed scans from whoever sends them, then one every ``TAG_REFILL_S`` seconds.
  Only failed scans are refused for it: a genuine tap of the tag always goes
  through, so nobody can stop an item's owner from checking it.

A refused scan is answered ``TooManyRequests`` (429, ``Retry-After``) and leaves
nothing behind. Genuine scans cost no token, so the scan benchmarks, thousands of
genuine scans a second from one address, are not limited.

The buckets live in the server process: N processes (``uvicorn --workers N``, or
several hosts on one PostgreSQL) allow N times the rates. What the log can grow
by stays bounded all the same; the per-item bound of ``not_authentic`` scans
(``passport.rejected``) lives in the database.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache

from mics.errors import TooManyRequests

__all__ = [
    "CLIENT_BURST",
    "CLIENT_REFILL_S",
    "TAG_BURST",
    "TAG_REFILL_S",
    "ScanLimiter",
    "client_key",
]

# A person checks a product a few times, a shop a few dozen items in a row; a tap
# that fails is rare (a tag held too briefly reads as a bad MAC). Twenty in a row,
# then ten a minute, leaves them room and caps a forger at 14,400 failed scans a day.
CLIENT_BURST = 20
CLIENT_REFILL_S = 6.0
# A genuine tag is tapped a few times a day. Ten failed scans in a row, then one a
# minute, still shows a replayed URL going round (each replay that passes is
# evidence in the log) while the log grows by at most 1,440 such events a tag a day.
TAG_BURST = 10
TAG_REFILL_S = 60.0
# Buckets kept of each kind (the least recently charged are dropped first): ~200
# bytes each, so ~20 MB at most; a client forgotten starts again with a full bucket.
TRACKED = 50_000


class TokenBuckets:
    """Token buckets by key: ``burst`` tokens, one more every ``refill_s``; at most ``size`` kept.

    A key not kept has a full bucket. Not thread-safe: ``ScanLimiter`` holds the lock.
    """

    def __init__(self, burst: int, refill_s: float, size: int, clock: Callable[[], float]) -> None:
        self.burst, self.refill_s, self.size, self.clock = burst, refill_s, size, clock
        self._tokens: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key: (tokens, at)

    def wait(self, key: str) -> float:
        """Seconds until ``key`` has a token (0: it has one now)."""
        return max(0.0, (1.0 - self._now(key)) * self.refill_s)

    def take(self, key: str) -> None:
        """Take a token from ``key`` (the caller checked ``wait`` first)."""
        self._tokens[key] = (self._now(key) - 1.0, self.clock())
        self._tokens.move_to_end(key)
        while len(self._tokens) > self.size:
            self._tokens.popitem(last=False)

    def _now(self, key: str) -> float:
        found = self._tokens.get(key)
        if found is None:
            return float(self.burst)
        tokens, at = found
        return min(float(self.burst), tokens + (self.clock() - at) / self.refill_s)


class ScanLimiter:
    """The failed-scan budgets of one server process (see the module)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clients = TokenBuckets(CLIENT_BURST, CLIENT_REFILL_S, TRACKED, clock)
        self.tags = TokenBuckets(TAG_BURST, TAG_REFILL_S, TRACKED, clock)
        self._lock = threading.Lock()

    def admit(self, client: str | None) -> None:
        """TooManyRequests when ``client`` has no failed scan left; nothing is taken."""
        if client is None:
            return
        with self._lock:
            wait = self.clients.wait(client)
        if wait > 0:
            raise _refused("from this client", wait)

    def charge(self, client: str | None, tag: str) -> None:
        """Take a failed scan from ``client`` and ``tag``, or TooManyRequests taking nothing."""
        with self._lock:
            client_wait = 0.0 if client is None else self.clients.wait(client)
            tag_wait = self.tags.wait(tag)
            if client_wait == 0 and tag_wait == 0:
                if client is not None:
                    self.clients.take(client)
                self.tags.take(tag)
                return
        if client_wait > 0:
            raise _refused("from this client", client_wait)
        raise _refused("of this item's tag", tag_wait)


# The same clients come back scan after scan: parsing an IPv6 address costs ~25 us.
@lru_cache(maxsize=8192)
def client_key(host: str | None) -> str | None:
    """Whom a scan is counted against: the IPv4 address, or the IPv6 /64 prefix."""
    if not host or ":" not in host:
        return host or None
    try:
        address = ipaddress.IPv6Address(host.split("%", 1)[0])  # no zone (fe80::1%eth0)
    except ValueError:
        return host
    if address.ipv4_mapped is not None:  # ::ffff:a.b.c.d is an IPv4 client
        return str(address.ipv4_mapped)
    return str(ipaddress.IPv6Network((address, 64), strict=False))


def _refused(whose: str, wait: float) -> TooManyRequests:
    seconds = max(1, math.ceil(wait))
    return TooManyRequests(
        f"too many failed scans {whose}: nothing was verified or kept; try again in {seconds} s",
        retry_after=seconds,
    )
