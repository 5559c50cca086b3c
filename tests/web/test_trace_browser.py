"""Events, trace, upload and the transparency log, clicked through in headless Chromium.

A real browser over the DevTools pipe (``tests/web/devtools.py``): it signs in with the
demo's operator key, filters events, opens a trace, uploads a document with a bad event,
and verifies proofs in the log page - whose verdicts must be the Python verifier's
(``mics.ledger.verify``) on the same proofs, good and tampered.
"""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from tests.support import epcis_document
from tests.web.conftest import CHROMIUM, Served
from tests.web.devtools import Browser, Page

from mics.errors import MicsError
from mics.ledger.note import ALG_COSIGNATURE_V1, Signer, verify_cosignatures
from mics.ledger.verify import verify_consistency_proof, verify_event_inclusion
from mics.ledger.witness_client import witness_once

pytestmark = pytest.mark.browser
LOT = "urn:epc:class:lgtin:8012345.000040.H26-011"  # the demo's hide lot


def _key(served: Served) -> str:
    return (served.home / "var" / "demo-operator.key").read_text().strip()


def _api(served: Served, path: str) -> Any:
    request = urllib.request.Request(
        served.url + path, headers={"Authorization": f"Bearer {_key(served)}"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        body = answer.read().decode()
    return body if answer.headers.get_content_type() == "text/plain" else json.loads(body)


def _sign_in(browser: Page, served: Served) -> None:
    browser.open(f"{served.url}/signin")
    browser.fill("#api_key", _key(served))
    browser.click_and_wait("form.stack button")


@pytest.fixture(scope="module")
def signed_in(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    assert CHROMIUM is not None
    with Browser(CHROMIUM, tmp_path_factory.mktemp("profile")) as chromium:
        browser = chromium.page(1280)
        _sign_in(browser, served)
        yield browser


def test_signing_in_with_the_demo_key_opens_the_operators_events(
    served: Served, tmp_path: Path
) -> None:
    assert CHROMIUM is not None
    with Browser(CHROMIUM, tmp_path / "profile") as chromium:
        browser = chromium.page(1280)
        browser.open(f"{served.url}/events")
        assert "Sign in to see events" in browser.shown_text("#refused")
        assert browser.run("document.cookie") == ""  # the CSRF cookie is HttpOnly
        _sign_in(browser, served)
        assert browser.run("location.pathname") == "/events"
        shown = browser.run("document.querySelectorAll('article.event').length")
        every = _api(served, "/epcis/events?perPage=1000")["epcisBody"]["queryResults"]
        assert shown == min(20, len(every["resultsBody"]["eventList"]))
        assert browser.run("document.cookie") == ""  # the session cookie too
        assert "Account" in browser.shown_text("header nav")


def test_filtering_events_by_business_step_shows_only_those(
    signed_in: Page, served: Served
) -> None:
    signed_in.open(f"{served.url}/events")
    signed_in.fill("select[name=step]", "shipping")
    signed_in.click_and_wait("#event-filters button")
    steps = signed_in.run(
        "[...document.querySelectorAll('article.event .event-head .pill')].map(e => e.innerText)"
    )
    api = _api(served, "/epcis/events?EQ_bizStep=shipping&perPage=1000")
    expected = api["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert steps == ["shipping"] * len(expected)
    assert len(expected) >= 3
    assert "step=shipping" in signed_in.run("location.search")


def test_a_trace_page_draws_the_graph_with_names_the_timeline_and_the_map(
    signed_in: Page, served: Served
) -> None:
    signed_in.open(f"{served.url}/trace?{urlencode({'epc': LOT})}")
    boxes = signed_in.run(
        "[...document.querySelectorAll('svg.trace-graph .node text')].map(t => t.textContent)"
    )
    answer = _api(served, f"/api/trace/{LOT}/downstream")
    assert len(boxes) == len(answer["nodes"])
    assert "BA00003 (Borsa Aurora leather…" in boxes
    arrows = signed_in.run("document.querySelectorAll('svg.trace-graph path.edge').length")
    assert arrows == len(answer["edges"])
    steps = signed_in.run("document.querySelectorAll('#timeline li').length")
    assert steps == len(answer["timeline"])
    pins = signed_in.run(
        "[...document.querySelectorAll('#trace-map .pin-label')].map(t => t.textContent)"
    )
    assert pins == ["Arzignano", "Scandicci", "Milano"]  # tannery, workshop, brand and shop
    assert signed_in.run("document.querySelector('#trace-map path.land').getAttribute('d')")


def _verdict(browser: Page, result: str) -> str:
    expression = (
        f"(v => ['valid', 'invalid'].includes(v) && v)"
        f"(document.getElementById('{result}').dataset.verdict)"
    )
    return str(browser.wait(expression))


def _python_verdict(check: Any) -> str:
    try:
        check()
    except MicsError:
        return "invalid"
    return "valid"


def _altered_signature(note: str, name: str) -> str:
    """``note`` with one byte of ``name``'s signature line changed (after its key ID)."""
    text, _, block = note.rpartition("\n\n")
    lines = []
    for line in block.splitlines():
        prefix, _, blob = line.rpartition(" ")
        if prefix == f"\u2014 {name}":
            raw = bytearray(base64.b64decode(blob))
            raw[-1] ^= 0x01
            line = f"{prefix} {base64.b64encode(bytes(raw)).decode()}"
        lines.append(line)
    return f"{text}\n\n" + "".join(f"{line}\n" for line in lines)


def _flip(hex_text: str) -> str:
    return ("0" if hex_text[0] != "0" else "1") + hex_text[1:]


def test_the_page_verifies_inclusion_proofs_as_the_python_verifier_does(
    signed_in: Page, served: Served
) -> None:
    events = _api(served, "/epcis/events?perPage=5")["epcisBody"]["queryResults"]
    event_id = events["resultsBody"]["eventList"][3]["eventID"]
    proof = _api(served, f"/epcis/events/{quote(event_id, safe='')}/proof")
    vkey = _api(served, "/ledger/key").strip()
    note: str = proof["checkpoint"]
    text = note.partition("\n\n")[0]
    cases = {
        "as served": proof,
        "a proof hash flipped": proof
        | {"hashes": [_flip(proof["hashes"][0]), *proof["hashes"][1:]]},
        "another leaf index": proof | {"leaf_index": proof["leaf_index"] + 1},
        "the root altered": proof
        | {"checkpoint": note.replace(text.split("\n")[2], "A" * 43 + "=", 1)},
        "a signature altered": proof | {"checkpoint": _altered_signature(note, vkey.split("+")[0])},
    }
    signed_in.open(f"{served.url}/log")
    verdicts = {}
    for name, case in cases.items():
        signed_in.fill("#proof", json.dumps(case))
        signed_in.run("document.getElementById('verify-inclusion').click()")
        in_page = _verdict(signed_in, "inclusion-result")
        leaf = bytes.fromhex(case["leaf_data"])
        python = _python_verdict(
            lambda c=case, d=leaf: verify_event_inclusion(d, c, c["checkpoint"], vkey)
        )
        verdicts[name] = (in_page, python)
    assert verdicts == {
        "as served": ("valid", "valid"),
        "a proof hash flipped": ("invalid", "invalid"),
        "another leaf index": ("invalid", "invalid"),
        "the root altered": ("invalid", "invalid"),
        "a signature altered": ("invalid", "invalid"),
    }


def test_the_page_checks_witness_cosignatures_as_the_python_verifier_does(
    signed_in: Page, served: Served, tmp_path: Path
) -> None:
    key = served.mics("keys", "create", "maison-aurora", "--role", "witness").strip()
    cosigner = Signer("aurora-witness.example", b"w" * 32, ALG_COSIGNATURE_V1)

    async def cosign() -> None:
        async with httpx.AsyncClient(base_url=served.url) as client:
            done = await witness_once(client, cosigner, tmp_path / "witness.json", key)
            assert done.line is not None

    asyncio.run(cosign())
    events = _api(served, "/epcis/events?perPage=1")["epcisBody"]["queryResults"]
    event_id = events["resultsBody"]["eventList"][0]["eventID"]
    signed_in.open(f"{served.url}/log?event={quote(event_id, safe='')}")
    assert _verdict(signed_in, "inclusion-result") == "valid"
    assert "cosigned by 1 of 1 witnesses: aurora-witness.example" in signed_in.shown_text(
        "#inclusion-result"
    )
    proof = json.loads(signed_in.run("document.getElementById('proof').value"))
    witness = [cosigner.verifier]
    assert verify_cosignatures(proof["checkpoint"], witness, 1)[0].name == cosigner.name
    forged = proof | {"checkpoint": _altered_signature(proof["checkpoint"], cosigner.name)}
    signed_in.fill("#proof", json.dumps(forged))
    signed_in.run("document.getElementById('verify-inclusion').click()")
    in_page = _verdict(signed_in, "inclusion-result")
    python = _python_verdict(lambda: verify_cosignatures(forged["checkpoint"], witness, 1))
    assert (in_page, python) == ("invalid", "invalid")
    assert "cosignature of aurora-witness.example does not verify" in signed_in.shown_text(
        "#inclusion-result"
    )


def test_the_page_checks_consistency_between_two_checkpoints(
    signed_in: Page, served: Served
) -> None:
    signed_in.open(f"{served.url}/log")
    sizes = signed_in.run("[...document.querySelectorAll('#first option')].map(o => o.value)")
    first, second = sizes[0], sizes[-1]
    signed_in.fill("#first", first)
    signed_in.fill("#second", second)
    signed_in.run("document.getElementById('verify-consistency').click()")
    in_page = _verdict(signed_in, "consistency-result")
    proof = _api(served, f"/ledger/proof/consistency?first={first}&second={second}")
    old = _api(served, f"/ledger/checkpoints/{first}")
    new = _api(served, f"/ledger/checkpoints/{second}")
    vkey = _api(served, "/ledger/key").strip()
    python = _python_verdict(lambda: verify_consistency_proof(proof, old, new, vkey))
    assert (in_page, python) == ("valid", "valid")
    assert f"extends the tree of size {first}" in signed_in.shown_text("#consistency-result")


def test_uploading_a_document_with_a_bad_event_shows_the_problem_and_stores_nothing(
    signed_in: Page, served: Served
) -> None:
    good = {
        "type": "ObjectEvent",
        "eventTime": "2026-07-01T10:00:00+02:00",
        "eventTimeZoneOffset": "+02:00",
        "epcList": ["https://id.gs1.org/01/08012345000012/21/BA00001"],
        "action": "OBSERVE",
        "bizStep": "inspecting",
    }
    bad = good | {"bizStep": "dancing", "eventTime": "2026-07-02T10:00:00+02:00"}
    before = len(
        _api(served, "/epcis/events?perPage=1000")["epcisBody"]["queryResults"]["resultsBody"][
            "eventList"
        ]
    )
    signed_in.open(f"{served.url}/events/upload")
    signed_in.fill("#document", json.dumps(epcis_document([good, bad])))
    signed_in.click_and_wait("#upload-form button")
    problems = signed_in.shown_text("#upload-problems")
    assert "Nothing was stored" in problems
    assert "Event 2" in problems
    assert "Event 1" not in problems
    assert "/bizStep" in problems
    assert "dancing" in problems
    after = _api(served, "/epcis/events?perPage=1000")["epcisBody"]["queryResults"]["resultsBody"][
        "eventList"
    ]
    assert len(after) == before


PAGES = {
    "signin": "/signin",
    "events": "/events",
    "event": None,  # the first event's page
    "upload": "/events/upload",
    "trace-lot": f"/trace?{urlencode({'epc': LOT})}",
    "trace-item": "/trace?epc=08012345000012%2FBA00001",
    "recall": f"/trace/recall?{urlencode({'lot': LOT})}",
    "log": "/log",
}


def test_every_page_renders_at_1280_and_390_pixels(
    signed_in: Page, served: Served, tmp_path: Path
) -> None:
    """Screenshots to look at (kept under the test's folder); none overflows sideways."""
    first = _api(served, "/epcis/events?perPage=1")["epcisBody"]["queryResults"]
    event_id = first["resultsBody"]["eventList"][0]["eventID"]
    overflowing = []
    for width in (1280, 390):
        signed_in.resize(width, 900)
        for name, path in PAGES.items():
            signed_in.open(served.url + (path or f"/events/event?id={quote(event_id, safe='')}"))
            shot = signed_in.screenshot(tmp_path / f"{name}-{width}.png")
            assert int.from_bytes(shot.read_bytes()[16:20], "big") == width
            wide = signed_in.run("document.documentElement.scrollWidth")
            if wide > width:
                overflowing.append(f"{name} at {width}: {wide} px wide")
    signed_in.resize(1280, 900)
    assert overflowing == []
