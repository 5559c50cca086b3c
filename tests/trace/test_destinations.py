"""Webhook destinations: public addresses only, the checked address is the one reached,
no redirects, and a refused delivery reveals nothing of what lies behind it."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mics.db import Database
from mics.registry.demo import ensure_instance
from mics.trace import capture, destinations, subscriptions
from mics.trace.destinations import NO_ANSWER, Address, WebhookPoster, public_address
from mics.trace.webhook_tokens import TokenSeal

PUBLIC_STAND_IN = ipaddress.IPv4Address("127.0.0.2")  # plays a public host in these tests
INTERNAL = "127.0.0.1"
SEAL = TokenSeal(bytes(32))
CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
T0 = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)


@dataclass
class Seen:
    """What a local HTTP server received: (method, path, Host header) per request."""

    requests: list[tuple[str, str, str]] = field(default_factory=list)
    sni: list[str | None] = field(default_factory=list)


@contextmanager
def server(
    host: str,
    port: int = 0,
    status: int = 200,
    headers: dict[str, str] | None = None,
    tls: ssl.SSLContext | None = None,
) -> Iterator[tuple[int, Seen]]:
    """An HTTP(S) server on ``host`` answering every request with ``status``."""
    seen = Seen()

    class Handler(BaseHTTPRequestHandler):
        def answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            self.rfile.read(length)
            seen.requests.append((self.command, self.path, self.headers.get("host", "")))
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("content-length", "0")
            self.end_headers()

        do_GET = do_POST = answer

        def log_message(self, *args: Any) -> None:
            pass

    httpd = HTTPServer((host, port), Handler)
    if tls is not None:
        tls.sni_callback = lambda _sock, name, _ctx: seen.sni.append(name)
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield httpd.server_address[1], seen
    finally:
        httpd.shutdown()
        thread.join()
        httpd.server_close()


def only(*addresses: str) -> Any:
    allowed = {ipaddress.ip_address(a) for a in addresses}
    return lambda address: address in allowed


class Resolver:
    """Answers each lookup with the next list of addresses (the last one repeats)."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.lookups: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append((host, port))
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",  # shared address space (carrier NAT)
        "0.0.0.0",
        "224.0.1.1",  # multicast, though "global" to Python
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fec0::1",  # deprecated site-local, "global" to Python
        "ff0e::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "64:ff9b:1::1",
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    ],
)
def test_internal_and_special_addresses_are_not_public(address: str) -> None:
    assert public_address(ipaddress.ip_address(address)) is False


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
def test_public_addresses_are_public(address: str) -> None:
    assert public_address(ipaddress.ip_address(address)) is True


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/cb",
        "http://localhost/cb",
        "http://10.1.2.3/cb",
        "http://169.254.169.254/latest",
        "http://[::1]/cb",
        "http://[::ffff:127.0.0.1]/cb",
    ],
)
def test_webhooks_into_private_networks_are_refused(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(destinations.ALLOW_PRIVATE_VAR, raising=False)
    assert destinations.http_post(url, b"{}", {}) == NO_ANSWER


def test_a_private_address_among_public_ones_refuses_the_host() -> None:
    with server(INTERNAL) as (port, internal):
        resolver = Resolver(["8.8.8.8", INTERNAL])
        post = WebhookPoster(resolve=resolver)
        assert post(f"http://hooks.example:{port}/cb", b"{}", {}) == NO_ANSWER
    assert internal.requests == []


@pytest.mark.parametrize("target", ["internal", "http://169.254.169.254/latest/meta-data/"])
def test_a_redirect_is_not_followed(target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(destinations.ALLOW_PRIVATE_VAR, "1")  # both servers are on loopback
    with server(INTERNAL) as (internal_port, internal):
        location = f"http://{INTERNAL}:{internal_port}/admin" if target == "internal" else target
        with server(str(PUBLIC_STAND_IN), status=302, headers={"Location": location}) as (
            port,
            public,
        ):
            status = destinations.http_post(f"http://{PUBLIC_STAND_IN}:{port}/cb", b"{}", {})
    assert status == 302  # a failed delivery, not a hop
    assert [r[0] for r in public.requests] == ["POST"]
    assert internal.requests == []


def test_a_rebinding_resolver_cannot_move_the_request_after_the_check() -> None:
    with server(str(PUBLIC_STAND_IN)) as (port, public), server(INTERNAL, port) as (_, internal):
        resolver = Resolver([str(PUBLIC_STAND_IN)], [INTERNAL])  # public first, then internal
        post = WebhookPoster(allowed=only(str(PUBLIC_STAND_IN)), resolve=resolver)
        assert post(f"http://hooks.example:{port}/cb?x=1", b"{}", {}) == 200
    assert resolver.lookups == [("hooks.example", port)]  # resolved once
    assert public.requests == [("POST", "/cb?x=1", f"hooks.example:{port}")]
    assert internal.requests == []


def _certificate(folder: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.mark.parametrize(("certified", "expected"), [("hooks.example", 200), ("evil.example", 0)])
def test_https_goes_to_the_checked_address_and_verifies_the_name(
    tmp_path: Path, certified: str, expected: int
) -> None:
    cert, key = _certificate(tmp_path, certified)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    trust = ssl.create_default_context(cafile=str(cert))
    with server(str(PUBLIC_STAND_IN), tls=tls) as (port, public):
        post = WebhookPoster(
            allowed=only(str(PUBLIC_STAND_IN)),
            resolve=Resolver([str(PUBLIC_STAND_IN)]),
            verify=trust,
        )
        assert post(f"https://hooks.example:{port}/cb", b"{}", {}) == expected
    assert public.sni == ["hooks.example"]  # the name, not the address, in the handshake
    assert len(public.requests) == (1 if expected else 0)


def test_lan_mode_still_refuses_link_local_and_unspecified() -> None:
    lan: list[Address] = [ipaddress.ip_address(a) for a in ("10.0.0.5", "127.0.0.1", "fd00::5")]
    assert all(destinations.lan_address(a) for a in lan)
    for text in ("169.254.169.254", "::ffff:169.254.169.254", "fe80::1", "0.0.0.0", "224.0.0.1"):
        assert destinations.lan_address(ipaddress.ip_address(text)) is False


def _subscribed(db: Database, dest: str) -> None:
    ensure_instance(db, "op")
    subscriptions.create_query(db, "All", {}, "op")
    subscriptions.subscribe(db, "All", {"dest": dest, "stream": True}, "op", SEAL)
    event = {
        "type": "ObjectEvent",
        "action": "OBSERVE",
        "eventTime": "2026-03-01T10:00:00.000+01:00",
        "eventTimeZoneOffset": "+01:00",
        "epcList": ["https://id.gs1.org/01/08012345000012/21/77"],
    }
    capture.capture_events(db, [event], CONTEXT, "op", now=T0)


@pytest.mark.parametrize("route", ["redirect", "rebinding", "direct"])
@pytest.mark.parametrize("internal_status", [200, 404])
def test_a_refused_delivery_looks_the_same_whatever_the_internal_host_answers(
    db: Database, route: str, internal_status: int
) -> None:
    with server(INTERNAL, status=internal_status) as (port, internal):
        location = f"http://{INTERNAL}:{port}/admin"
        with server(str(PUBLIC_STAND_IN), port, 302, {"Location": location}) as (_, public):
            answers = {
                "redirect": [[str(PUBLIC_STAND_IN)]],  # a public host bouncing inward
                "rebinding": [[str(PUBLIC_STAND_IN)], [INTERNAL]],
                "direct": [[INTERNAL]],
            }[route]
            post = WebhookPoster(allowed=only(str(PUBLIC_STAND_IN)), resolve=Resolver(*answers))
            _subscribed(db, f"http://hooks.example:{port}/cb")
            sent = subscriptions.deliver(db, post, SEAL, T0)
    assert internal.requests == []
    assert len(public.requests) == (0 if route == "direct" else 1)
    assert [d.events for d in sent] == [1]
    assert sent[0].status in (302, NO_ANSWER)  # a failure either way: never the internal answer
    listed = subscriptions.list_subscriptions(db, "All", "op")
    assert [(s["failures"], s["stream"]) for s in listed] == [(1, True)]
