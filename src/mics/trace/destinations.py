"""Webhook destinations: which addresses a delivery may reach, and a POST that reaches only them.

A subscriber chooses ``dest``, so an unguarded webhook is a server-side request
forgery (OWASP SSRF Prevention Cheat Sheet, "Case 2"): the repository would POST into
its own network and tell the subscriber, through the delivery's outcome, what answered.
Three rules close it:

1. **Resolve once, check every address.** The host is resolved once, and every
   address it resolves to must be public (:func:`public_address`: no loopback,
   private, shared, link-local, multicast, reserved or unspecified range, also when
   wrapped in an IPv4-mapped, 6to4 or NAT64 IPv6 address); otherwise the delivery is
   refused before any packet leaves.
2. **Connect to the checked address.** The request goes to that address, not to the
   name (a second lookup could answer otherwise: DNS rebinding). The ``Host`` header
   keeps the name and port the subscriber wrote, and TLS sends the name as SNI and
   verifies the certificate for the name (RFC 6066 §3, RFC 6125 §6).
3. **No redirects.** A 3xx answer is a failed delivery: a public endpoint cannot
   bounce the POST to an internal one.

A refused destination is never contacted, so its outcome is the same whatever lies
behind it: status :data:`NO_ANSWER`, counted as a failure with the usual backoff,
exactly like a public host that does not answer.
``MICS_WEBHOOKS_ALLOW_PRIVATE=1`` (a repository and its subscribers on one LAN) allows
private and loopback addresses, never link-local (cloud metadata services live at
169.254.169.254), multicast or unspecified ones.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from mics.errors import InvalidInput

logger = logging.getLogger(__name__)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolve = Callable[[str, int], Sequence[str]]
"""``resolve(host, port) -> addresses``: the one lookup a delivery makes (injectable in tests)."""

NO_ANSWER = 0
"""The status of a delivery that got no HTTP answer: refused, unreachable or timed out."""
TIMEOUT = 10.0  # seconds to connect, and between bytes of the answer: a slow subscriber
# holds the delivery thread no longer than this, and an endpoint answers in far less
ALLOW_PRIVATE_VAR = "MICS_WEBHOOKS_ALLOW_PRIVATE"
DEFAULT_PORTS = {"http": 80, "https": 443}
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052 §2.1: embeds an IPv4 address
NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: a network's own translator


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries to (IPv4-mapped, 6to4 or NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def public_address(address: Address) -> bool:
    """Whether a webhook may reach ``address``: a globally routable unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address in NAT64_LOCAL or address.teredo is not None or address.is_site_local:
            return False
        inner = _embedded_ipv4(address)
        if inner is not None:
            return public_address(inner)
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def lan_address(address: Address) -> bool:
    """``MICS_WEBHOOKS_ALLOW_PRIVATE=1``: private and loopback too, never link-local,
    multicast or unspecified."""
    if isinstance(address, ipaddress.IPv6Address):
        address = _embedded_ipv4(address) or address
    return not (address.is_link_local or address.is_multicast or address.is_unspecified)


def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (none when it does not resolve)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class Target:
    """Where a delivery goes: ``url`` names the checked address instead of the host."""

    url: httpx.URL
    host_header: str  # the name and port as the subscriber wrote them
    hostname: str  # for TLS: SNI and the name the certificate must carry


def pin(url: str, allowed: Callable[[Address], bool], resolve: Resolve) -> Target:
    """The checked address to deliver ``url`` to, or InvalidInput saying why not."""

    def refused(reason: str, value: object) -> InvalidInput:
        return InvalidInput(reason, field="dest", value=value, expected="a public http(s) URL")

    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise refused("is not a URL", url) from None
    if parsed.scheme not in DEFAULT_PORTS or not parsed.raw_host:
        raise refused("is not an http(s) URL with a host", url)
    hostname = parsed.raw_host.decode("ascii")
    port = parsed.port or DEFAULT_PORTS[parsed.scheme]
    if not 0 < port < 65536:
        raise refused("has no valid port", port)
    addresses: list[Address] = []
    for text in resolve(hostname, port):
        try:
            address = ipaddress.ip_address(text.partition("%")[0])  # drop an IPv6 zone
        except ValueError:
            raise refused("resolves to something that is not an IP address", text) from None
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        addresses.append(address)
    if not addresses:
        raise refused("does not resolve", hostname)
    if not all(allowed(a) for a in addresses):
        raise refused("resolves to an address webhooks may not reach", hostname)
    return Target(parsed.copy_with(host=str(addresses[0])), parsed.netloc.decode("ascii"), hostname)


@dataclass(frozen=True)
class WebhookPoster:
    """``post(url, body, headers) -> status`` that reaches only the address it checked.

    ``allowed``, ``resolve`` and ``verify`` (TLS: ``True`` for the system's trust
    store, or an ``ssl.SSLContext``) are there for tests and LAN deployments."""

    allowed: Callable[[Address], bool] = public_address
    resolve: Resolve = resolve_host
    verify: ssl.SSLContext | bool = True
    timeout: float = TIMEOUT

    def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        try:
            target = pin(url, self.allowed, self.resolve)
        except InvalidInput as refusal:
            logger.warning("webhook refused: %s", refusal)
            return NO_ANSWER
        extensions = {"sni_hostname": target.hostname} if target.url.scheme == "https" else {}
        try:
            with httpx.Client(
                verify=self.verify,
                timeout=self.timeout,
                follow_redirects=False,
                trust_env=False,  # no proxy from the environment: it would resolve anew
            ) as client:
                request = client.build_request(
                    "POST",
                    target.url,
                    content=body,
                    headers=headers | {"Host": target.host_header},
                    extensions=extensions,
                )
                # stream: the status is all a delivery needs, the body is never read
                response = client.send(request, stream=True)
                response.close()
                return response.status_code
        except httpx.HTTPError:
            return NO_ANSWER


def http_post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """The deliveries' POST: public addresses only, unless ``MICS_WEBHOOKS_ALLOW_PRIVATE=1``."""
    lan = os.environ.get(ALLOW_PRIVATE_VAR) == "1"
    return WebhookPoster(allowed=lan_address if lan else public_address)(url, body, headers)
