"""Failed-scan budgets: token buckets per client and per tag, and whom a client is."""

from __future__ import annotations

import pytest

from mics.errors import TooManyRequests
from mics.passport.scan_limits import (
    CLIENT_BURST,
    CLIENT_REFILL_S,
    TAG_BURST,
    ScanLimiter,
    TokenBuckets,
    client_key,
)


def test_a_bucket_gives_its_burst_then_one_token_per_refill() -> None:
    clock = [100.0]
    buckets = TokenBuckets(3, 10.0, 100, lambda: clock[0])
    for _ in range(3):
        assert buckets.wait("a") == 0
        buckets.take("a")
    assert buckets.wait("a") == pytest.approx(10.0)
    assert buckets.wait("b") == 0  # each key its own bucket
    clock[0] += 4.0
    assert buckets.wait("a") == pytest.approx(6.0)
    clock[0] += 6.0
    assert buckets.wait("a") == 0
    buckets.take("a")
    clock[0] += 1000.0
    for _ in range(3):  # refilled up to the burst, not beyond
        buckets.take("a")
    assert buckets.wait("a") > 0


def test_the_buckets_kept_are_bounded_and_the_oldest_go_first() -> None:
    buckets = TokenBuckets(1, 60.0, 3, lambda: 0.0)
    for key in "abcd":
        buckets.take(key)
    assert buckets.wait("a") == 0  # forgotten: full again
    assert [buckets.wait(key) > 0 for key in "bcd"] == [True, True, True]


def test_a_refused_failure_takes_nothing_from_the_other_budget() -> None:
    limits = ScanLimiter(clock=lambda: 0.0)
    for n in range(TAG_BURST):
        limits.charge(f"client-{n}", "item:1")
    with pytest.raises(TooManyRequests, match="this item's tag"):
        limits.charge("client-x", "item:1")
    for n in range(CLIENT_BURST):
        limits.charge("client-x", f"item:{n + 2}")  # client-x lost nothing above
    with pytest.raises(TooManyRequests, match="from this client") as refused:
        limits.admit("client-x")
    assert refused.value.retry_after == int(CLIENT_REFILL_S)
    limits.admit(None)  # no client known (a test client, the CLI): only the tag counts


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("fe80::1%eth0", "fe80::/64"),
        (None, None),
        ("testclient", "testclient"),
    ],
)
def test_a_client_is_its_ipv4_address_or_its_ipv6_64(host: str | None, key: str | None) -> None:
    assert client_key(host) == key
