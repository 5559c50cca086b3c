"""The access model of the whole app: every route x every role, and every public answer.

``ROUTES`` names, for every route of the app (walked from ``app.routes``, so a new
route without an entry fails ``test_every_route_has_an_entry``), one or more calls
and the status class each role gets:

- anonymous (no key), the brand's partner key (``partner_own``: maison-aurora, whose
  bag the calls name), another partner's key (``partner_other``), the operator, and
  the brand's own keys of roles ``authority``, ``legitimate_interest`` and ``witness``
  (a key does what its role is for, whatever partner holds it).

``test_public_answers_hold_no_restricted_field`` then calls every GET route as the
public and fails on any field a tier restricts: each answer that carries records
the access model decides (``passport.access.VIEWS``) must hold only public leaves,
and no answer may hold a restricted value (component names, tag UIDs, event ids
and hashes, log leaves) - JSON, HTML pages and CSV alike.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from tests.databases import Templates
from tests.support import EPCIS_CONTEXT, epcis_document

from mics.api import create_app
from mics.config import Settings
from mics.db import Database
from mics.factory.service import scenario_text
from mics.ledger.note import ALG_COSIGNATURE_V1, Signer
from mics.ledger.witness_client import witness_once
from mics.passport import access, ownership, tags
from mics.passport.issuer_keys import load_or_create_partner_key
from mics.registry import create_item, find_item, get_product, update_product
from mics.registry.api_keys import create_key
from mics.registry.schemas import ComponentIn, ItemIn, ProductPatch
from mics.trace.store import EventRow

pytestmark = pytest.mark.anyio
BRAND, OTHER, BAG, BASE = "maison-aurora", "design-quercia", "08012345000012", "https://mics.test"
ROLES = (
    "anonymous",
    "partner_own",
    "partner_other",
    "operator",
    "authority",
    "legitimate_interest",
    "witness",
)
KEYS = {  # role -> (partner, key role)
    "partner_own": (BRAND, "partner"),
    "partner_other": (OTHER, "partner"),
    "operator": ("mics-operator", "operator"),
    "authority": (BRAND, "authority"),
    "legitimate_interest": (BRAND, "legitimate_interest"),
    "witness": (BRAND, "witness"),
}
SENTINEL = "Zq-"  # every component name starts with it: it must never reach the public


def _expect(default: str, **roles: str) -> dict[str, str]:
    return {role: roles.get(role, default) for role in ROLES}


PUBLIC = _expect("2xx")
OPERATOR = _expect("403", anonymous="401", operator="2xx")
BRAND_WRITER = _expect("403", anonymous="401", partner_own="2xx", operator="2xx")
EVENT_READER = _expect(
    "2xx", anonymous="401", legitimate_interest="403", witness="403"
)  # partner_other reads its own events: none of the brand's
BRAND_EVENT = EVENT_READER | {"partner_other": "404"}  # one event or job of the brand's
WITNESS = _expect("403", anonymous="401", witness="2xx")
LOG_SIGNER = _expect("403", anonymous="401", operator="2xx", witness="2xx")
LEGITIMATE_INTEREST = _expect("2xx", anonymous="401", partner_other="403", witness="403")
AUTHORITY = LEGITIMATE_INTEREST | {"legitimate_interest": "403"}


@dataclass
class Site:
    """The app over a demo database, the keys of every role, and ids the calls need."""

    db: Database
    app: FastAPI
    settings: Settings
    keys: dict[str, str]
    item: int
    ids: dict[str, Any] = field(default_factory=dict)

    def headers(self, role: str) -> dict[str, str]:
        return {} if role == "anonymous" else {"Authorization": f"Bearer {self.keys[role]}"}


Url = Callable[[Site, str], str]
Body = Callable[[Site, str], Any]


@dataclass(frozen=True)
class Call:
    """One request to a route: its URL and body per role, what each role gets, and
    (for the public walk) where in the answer which ``passport.access`` view applies."""

    method: str
    route: str
    url: str | Url
    expect: dict[str, str]
    body: Body | None = None
    content_type: str | None = None
    views: tuple[tuple[str, str], ...] = ()  # (JSON path prefix, view), longest first
    headers: dict[str, str] = field(default_factory=dict)

    def url_for(self, site: Site, role: str) -> str:
        return self.url if isinstance(self.url, str) else self.url(site, role)


def _gtin(stem: str) -> str:
    """A GTIN-14 with its GS1 check digit after the 13 digits of ``stem``."""
    digits = [int(d) for d in stem]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return stem + str((10 - total % 10) % 10)


def _n(role: str) -> int:
    return ROLES.index(role)


def _event(role: str, step: str = "inspecting") -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "eventTime": f"2026-06-0{1 + _n(role)}T10:00:00+02:00",
        "eventTimeZoneOffset": "+02:00",
        "epcList": [f"https://id.gs1.org/01/{BAG}/21/BA00001"],
        "action": "OBSERVE",
        "bizStep": step,
    }


SPOT = "urn:epc:id:sgln:8012345.90099.0"
ONLY_EPC = f"https://id.gs1.org/01/{BAG}/21/ACC001"
ONLY_BRAND = {  # values no event the other partner sees names (the top-level resources)
    "type": "ObjectEvent",
    "eventTime": "2026-05-01T10:00:00+02:00",
    "eventTimeZoneOffset": "+02:00",
    "epcList": [ONLY_EPC],
    "action": "OBSERVE",
    "bizStep": "repairing",
    "disposition": "damaged",
    "readPoint": {"id": SPOT},
    "bizLocation": {"id": SPOT},
}


def _own(kind: str) -> Url:
    """The role's own resource of ``kind`` made by ``prepare`` (the brand's for the others)."""
    return lambda site, role: site.ids[kind].get(role, site.ids[kind]["partner_own"])


def _item_url(suffix: str, kind: str | None = None) -> Url:
    def url(site: Site, role: str) -> str:
        item = site.ids[kind][role] if kind else site.item
        return f"/api/items/{item}{suffix}"

    return url


ITEM = f"/01/{BAG}/21/BA00001"
JEWELLERY_2_DAYS = scenario_text("jewellery-workshop").replace(
    "horizon_days = 365", "horizon_days = 2"
)
ROUTES: list[Call] = [
    # --- meta, docs, pages, static
    Call("GET", "/openapi.json", "/openapi.json", PUBLIC),
    Call("GET", "/docs", "/docs", PUBLIC),
    Call("GET", "/docs/oauth2-redirect", "/docs/oauth2-redirect", PUBLIC),
    Call("GET", "/redoc", "/redoc", PUBLIC),
    Call("GET", "/health", "/health", PUBLIC),
    Call("GET", "/api/ping", "/api/ping", PUBLIC),
    Call("GET", "/", "/", PUBLIC),
    Call("GET", "/partners", "/partners", PUBLIC),
    Call("GET", "/products", "/products", PUBLIC),
    Call("GET", "/match", "/match?q=gioielli+in+oro+riciclato&team=1", PUBLIC),
    Call("GET", "/products/{product_id}", "/products/borsa-aurora", PUBLIC),
    Call("GET", "/products/{product_id}/footprint", "/products/borsa-aurora/footprint", PUBLIC),
    Call(
        "GET",
        "/products/{product_id}/footprint/whatif",
        "/products/borsa-aurora/footprint/whatif?variant=vegetable-tanning",
        PUBLIC,
    ),
    Call("GET", "/spokes", "/spokes", PUBLIC),
    Call("GET", "/spokes/{spoke_id}", "/spokes/1", PUBLIC),
    Call("GET", "/projects", "/projects", PUBLIC),
    Call("GET", "/projects/{project_id}", "/projects/generative-bag", PUBLIC),
    Call("GET", "/materials", "/materials", PUBLIC),
    Call("GET", "/materials/{material_id}", "/materials/leather-chrome", PUBLIC),
    Call("GET", "/partners/{partner_id}", "/partners/maison-aurora", PUBLIC),
    Call("GET", "/search", "/search?q=a", PUBLIC),
    Call("GET", "/lang/{code}", "/lang/it?next=/spokes", _expect("303")),
    Call("GET", "/factory", "/factory", PUBLIC),
    Call("GET", "/factory/run", "/factory/run?scenario=jewellery-workshop&horizon=2", PUBLIC),
    Call(
        "POST",
        "/factory/run",
        "/factory/run",
        PUBLIC,
        body=lambda site, role: {"toml": JEWELLERY_2_DAYS},
    ),
    Call("GET", "/static", "/static/mics.css", PUBLIC),
    # --- web pages over events, trace and the log (mics.web): the API's rules, one set
    Call("GET", "/signin", "/signin", PUBLIC),
    # A form needs the CSRF token of a page loaded in the same browser (tests/web); this
    # client keeps the cookie GET /signin set, and its empty body is no form: 422.
    Call("POST", "/signin", "/signin", _expect("422")),
    Call("POST", "/signout", "/signout", _expect("422")),
    Call("GET", "/events", "/events?step=receiving", EVENT_READER),
    Call(
        "GET",
        "/events/event",
        lambda site, role: f"/events/event?id={quote(site.ids['event'], safe='')}",
        BRAND_EVENT,
    ),
    Call("GET", "/events/upload", "/events/upload", EVENT_READER),  # the capturers
    Call("POST", "/events/upload", "/events/upload", _expect("422")),
    Call(
        "GET",
        "/events/captures/{capture_id}",
        lambda site, role: f"/events/captures/{site.ids['capture']}",
        BRAND_EVENT,
    ),
    Call("GET", "/trace", f"/trace?epc={quote(ITEM, safe='')}", EVENT_READER),
    Call("GET", "/trace/recall", "/trace/recall?lot=08012345000418/LC26-07", EVENT_READER),
    Call("GET", "/trace/recall.csv", "/trace/recall.csv?lot=08012345000418/LC26-07", EVENT_READER),
    Call("GET", "/log", "/log", PUBLIC),
    Call("GET", "/docs-assets", "/docs-assets/swagger-ui.css", PUBLIC),
    # --- the resolver, scans, data carriers, tags
    Call("OPTIONS", "/01/{rest:path}", ITEM, PUBLIC),
    Call("GET", "/01/{rest:path}", ITEM, PUBLIC, views=(("", "passport"),)),
    Call(
        "GET",
        "/01/{rest:path}",
        lambda site, role: site.ids["scan"][role],
        PUBLIC,
        views=(("passport", "passport"), ("", "scan")),
        headers={"Accept": "application/json"},
    ),
    Call("HEAD", "/01/{rest:path}", ITEM, PUBLIC),
    Call("GET", "/passport/01/{rest:path}", f"/passport{ITEM}", PUBLIC),
    Call("GET", "/.well-known/gs1resolver", "/.well-known/gs1resolver", PUBLIC),
    Call("GET", "/api/recall-status/01/{rest:path}", f"/api/recall-status{ITEM}", PUBLIC),
    Call(
        "GET",
        "/api/scan",
        f"/api/scan?gtin={BAG}&serial=BA00001&e={'0' * 32}&c={'0' * 16}",
        PUBLIC,
        views=(("passport", "passport"), ("", "scan")),
    ),
    Call("GET", "/api/items/{item_id}/qr.svg", _item_url("/qr.svg"), PUBLIC),
    Call("GET", "/api/items/{item_id}/qr.png", _item_url("/qr.png"), PUBLIC),
    Call(
        "POST",
        "/api/items/{item_id}/tag",
        _item_url("/tag", "untagged"),
        BRAND_WRITER,
        body=lambda site, role: {"uid": "04" + hashlib.sha256(role.encode()).hexdigest()[:12]},
    ),
    Call("GET", "/api/items/{item_id}/tag", _item_url("/tag"), BRAND_WRITER),
    # --- the registry
    Call("GET", "/api/sectors", "/api/sectors", PUBLIC),
    Call("GET", "/api/spokes", "/api/spokes", PUBLIC),
    Call("GET", "/api/partners", "/api/partners", PUBLIC),
    Call(
        "POST",
        "/api/partners",
        "/api/partners",
        OPERATOR,
        body=lambda site, role: {
            "id": f"new-{_n(role)}",
            "name": "New",
            "kind": "enterprise",
            "is_public": False,
        },
    ),
    Call("GET", "/api/partners/{partner_id}", f"/api/partners/{BRAND}", PUBLIC),
    Call(
        "PATCH",
        "/api/partners/{partner_id}",
        f"/api/partners/{BRAND}",
        BRAND_WRITER,
        body=lambda site, role: {"city": "Firenze"},
    ),
    Call("GET", "/api/projects", "/api/projects", PUBLIC),
    Call(
        "POST",
        "/api/projects",
        "/api/projects",
        OPERATOR,
        body=lambda site, role: {"id": f"project-{_n(role)}", "title": "P", "spoke": 1},
    ),
    Call(
        "GET",
        "/api/materials",
        "/api/materials?limit=500",
        PUBLIC,
        views=(("items[]", "material"),),
    ),
    Call(
        "POST",
        "/api/materials",
        "/api/materials",
        OPERATOR,
        body=lambda site, role: {
            "id": f"material-{_n(role)}",
            "name": "M",
            "category": "metal",
            "density_kg_m3": 100,
            "country": "IT",
        },
    ),
    Call(
        "GET",
        "/api/materials/{material_id}",
        "/api/materials/leather-chrome",
        PUBLIC,
        views=(("", "material"),),
    ),
    Call(
        "PATCH",
        "/api/materials/{material_id}",
        "/api/materials/leather-chrome",
        OPERATOR,
        body=lambda site, role: {"name": "Bovine leather, chrome tanned"},
    ),
    Call("GET", "/api/products", "/api/products", PUBLIC, views=(("items[]", "product"),)),
    Call(
        "POST",
        "/api/products",
        "/api/products",
        BRAND_WRITER,
        body=lambda site, role: {
            "id": f"product-{_n(role)}",
            "gtin": _gtin(f"080123450009{_n(role)}"),
            "name": "P",
            "sector": "fashion",
            "brand": BRAND,
            "lifetime_years": 3,
        },
    ),
    Call(
        "GET",
        "/api/products/{product_id}",
        "/api/products/borsa-aurora",
        PUBLIC,
        views=(("", "product"),),
    ),
    Call(
        "PATCH",
        "/api/products/{product_id}",
        "/api/products/borsa-aurora",
        BRAND_WRITER,
        body=lambda site, role: {"description": "A leather handbag."},
    ),
    Call(
        "GET",
        "/api/products/{product_id}/bom",
        "/api/products/borsa-aurora/bom",
        PUBLIC,
        views=(("", "bom"),),
    ),
    Call("GET", "/api/items", "/api/items", PUBLIC),
    Call(
        "POST",
        "/api/items",
        "/api/items",
        BRAND_WRITER,
        body=lambda site, role: {"product": "borsa-aurora", "serial": f"NEW{_n(role)}"},
    ),
    Call("GET", "/api/items/{item_id}", _item_url(""), PUBLIC),
    Call(
        "POST",
        "/api/registry/import",
        "/api/registry/import",
        OPERATOR,
        body=lambda site, role: {"projects": [{"id": "imported", "title": "I", "spoke": 1}]},
    ),
    Call(
        "GET",
        "/api/registry/export/{kind}",
        "/api/registry/export/materials",
        PUBLIC,
        views=(("materials[]", "material"),),
    ),
    Call(
        "GET",
        "/api/registry/export/{kind}",
        "/api/registry/export/products",
        PUBLIC,
        views=(("products[]", "product"),),
    ),
    Call("GET", "/api/registry/export/{kind}", "/api/registry/export/products?format=csv", PUBLIC),
    # --- match-making
    Call("GET", "/api/match", "/api/match?q=borse+in+pelle+riciclata&sector=fashion", PUBLIC),
    Call(
        "POST",
        "/api/match/consortium",
        "/api/match/consortium",
        PUBLIC,
        body=lambda site, role: {"idea": "borse in pelle e robot collaborativi"},
    ),
    # --- the transparency log
    Call("GET", "/ledger/checkpoint", "/ledger/checkpoint", PUBLIC),
    Call("POST", "/ledger/checkpoint", "/ledger/checkpoint", LOG_SIGNER),
    Call(
        "GET",
        "/ledger/checkpoints/{size}",
        lambda site, role: f"/ledger/checkpoints/{site.ids['size']}",
        PUBLIC,
    ),
    Call(
        "PUT",
        "/ledger/witness-key",
        "/ledger/witness-key",
        WITNESS,
        body=lambda site, role: {"vkey": site.ids["witness_vkey"]},
    ),
    Call("GET", "/ledger/witnesses", "/ledger/witnesses", PUBLIC),
    Call(
        "POST",
        "/ledger/cosignatures",
        "/ledger/cosignatures",
        WITNESS,
        body=lambda site, role: site.ids["cosignature"],
    ),
    Call("GET", "/ledger/audit", "/ledger/audit", OPERATOR),
    Call("GET", "/ledger/key", "/ledger/key", PUBLIC),
    Call("GET", "/ledger/tile/{path:path}", lambda site, role: site.ids["tile"], PUBLIC),
    Call(
        "GET",
        "/ledger/proof/inclusion",
        lambda site, role: (
            f"/ledger/proof/inclusion?leaf_hash={site.ids['leaf']}&tree_size={site.ids['size']}"
        ),
        PUBLIC,
    ),
    Call(
        "GET",
        "/ledger/proof/consistency",
        lambda site, role: f"/ledger/proof/consistency?first=1&second={site.ids['size']}",
        PUBLIC,
    ),
    Call(
        "GET",
        "/epcis/events/{event_id:path}/proof",
        lambda site, role: f"/epcis/events/{quote(site.ids['event'], safe='')}/proof",
        BRAND_EVENT,
    ),
    # --- EPCIS
    Call("OPTIONS", "/epcis/", "/epcis/", PUBLIC),
    Call("OPTIONS", "/epcis", "/epcis", PUBLIC),
    Call(
        "POST",
        "/epcis/capture",
        "/epcis/capture",
        _expect("2xx", anonymous="401", legitimate_interest="403", witness="403"),
        body=lambda site, role: epcis_document([_event(role)]),
    ),
    Call("GET", "/epcis/capture", "/epcis/capture?perPage=2", EVENT_READER),
    Call(
        "GET",
        "/epcis/capture/{capture_id}",
        lambda site, role: f"/epcis/capture/{site.ids['capture']}",
        BRAND_EVENT,
    ),
    Call("GET", "/epcis/events", "/epcis/events", EVENT_READER),
    Call(
        "GET",
        "/epcis/events/{event_id:path}",
        lambda site, role: f"/epcis/events/{quote(site.ids['event'], safe='')}",
        BRAND_EVENT,
    ),
    Call("GET", "/epcis", "/epcis", PUBLIC),
    Call("GET", "/epcis/", "/epcis/", PUBLIC),
    Call(
        "POST",
        "/epcis/events",
        "/epcis/events",
        _expect("2xx", anonymous="401", legitimate_interest="403", witness="403"),
        body=lambda site, role: {"@context": EPCIS_CONTEXT, **_event(role, "packing")},
    ),
    Call("GET", "/epcis/eventTypes", "/epcis/eventTypes", PUBLIC),
    Call("GET", "/epcis/eventTypes/{value}", "/epcis/eventTypes/ObjectEvent", PUBLIC),
    Call("DELETE", "/epcis/nextPageToken/{token}", "/epcis/nextPageToken/t", _expect("501")),
    *[
        Call("GET", f"/epcis/{resource}", f"/epcis/{resource}?perPage=5", EVENT_READER)
        for resource in ("epcs", "bizSteps", "bizLocations", "readPoints", "dispositions")
    ],
    # one value the brand's events name and the other partner's do not
    Call(
        "GET",
        "/epcis/epcs/{value:path}",
        f"/epcis/epcs/{quote(ONLY_EPC, safe='')}",
        BRAND_EVENT,
    ),
    Call("GET", "/epcis/bizSteps/{value}", "/epcis/bizSteps/repairing", BRAND_EVENT),
    Call("GET", "/epcis/bizLocations/{value:path}", f"/epcis/bizLocations/{SPOT}", BRAND_EVENT),
    Call("GET", "/epcis/readPoints/{value:path}", f"/epcis/readPoints/{SPOT}", BRAND_EVENT),
    Call("GET", "/epcis/dispositions/{value}", "/epcis/dispositions/damaged", BRAND_EVENT),
    Call(
        "GET",
        "/epcis/eventTypes/{value}/events",
        "/epcis/eventTypes/ObjectEvent/events",
        EVENT_READER,
    ),
    Call(
        "GET",
        "/epcis/epcs/{value:path}/events",
        f"/epcis/epcs/{quote('https://id.gs1.org' + ITEM, safe='')}/events",
        EVENT_READER,
    ),
    Call(
        "GET", "/epcis/bizSteps/{value}/events", "/epcis/bizSteps/inspecting/events", EVENT_READER
    ),
    Call(
        "GET",
        "/epcis/bizLocations/{value:path}/events",
        "/epcis/bizLocations/urn:epc:id:sgln:8012345.90003.0/events",
        EVENT_READER,
    ),
    Call(
        "GET",
        "/epcis/readPoints/{value:path}/events",
        "/epcis/readPoints/urn:epc:id:sgln:8012345.90003.0/events",
        EVENT_READER,
    ),
    Call(
        "GET",
        "/epcis/dispositions/{value}/events",
        "/epcis/dispositions/in_progress/events",
        EVENT_READER,
    ),
    Call("GET", "/epcis/queries", "/epcis/queries", EVENT_READER),
    Call(
        "POST",
        "/epcis/queries",
        "/epcis/queries",
        EVENT_READER,
        body=lambda site, role: {
            "name": f"made-by-{_n(role)}",
            "query": {"eventType": "ObjectEvent"},
        },
    ),
    Call(
        "GET",
        "/epcis/queries/{name}",
        lambda site, role: f"/epcis/queries/{_own('query')(site, role)}",
        EVENT_READER,
    ),
    Call(
        "DELETE",
        "/epcis/queries/{name}",
        lambda site, role: f"/epcis/queries/{_own('doomed')(site, role)}",
        EVENT_READER,
    ),
    Call(
        "GET",
        "/epcis/queries/{name}/events",
        lambda site, role: f"/epcis/queries/{_own('query')(site, role)}/events",
        EVENT_READER,
    ),
    Call(
        "POST",
        "/epcis/queries/{name}/subscriptions",
        lambda site, role: f"/epcis/queries/{_own('query')(site, role)}/subscriptions",
        EVENT_READER,
        body=lambda site, role: {
            "dest": "https://93.184.215.14/queryCallback",
            "signatureToken": "t",
            "stream": True,
        },
    ),
    Call(
        "GET",
        "/epcis/queries/{name}/subscriptions",
        lambda site, role: f"/epcis/queries/{_own('query')(site, role)}/subscriptions",
        EVENT_READER,
    ),
    Call(
        "GET",
        "/epcis/queries/{name}/subscriptions/{subscription}",
        lambda site, role: (
            f"/epcis/queries/{_own('query')(site, role)}/subscriptions/"
            f"{_own('subscription')(site, role)}"
        ),
        EVENT_READER,
    ),
    Call(
        "DELETE",
        "/epcis/queries/{name}/subscriptions/{subscription}",
        lambda site, role: (
            f"/epcis/queries/{_own('query')(site, role)}/subscriptions/"
            f"{_own('subscription')(site, role)}"
        ),
        EVENT_READER,
    ),
    Call(
        "GET",
        "/api/trace/{epc:path}/{direction}",
        f"/api/trace/{BAG}/BA00001/upstream",
        EVENT_READER,
    ),
    # --- footprints
    Call(
        "GET",
        "/api/products/{product_id}/footprint",
        "/api/products/borsa-aurora/footprint",
        PUBLIC,
        views=(("", "footprint"),),
    ),
    Call(
        "GET",
        "/api/products/{product_id}/circularity",
        "/api/products/borsa-aurora/circularity",
        PUBLIC,
        views=(("", "circularity"),),
    ),
    Call(
        "GET",
        "/api/products/{product_id}/alternatives",
        "/api/products/borsa-aurora/alternatives?iterations=20",
        PUBLIC,
    ),
    # --- factory simulations: keyed writers start runs, read their own (operator: any)
    Call(
        "POST",
        "/api/factory/simulations",
        "/api/factory/simulations",
        BRAND_WRITER | {"partner_other": "2xx"},
        body=lambda site, role: {"scenario": "jewellery-workshop", "horizon_days": 2},
    ),
    Call(
        "GET",
        "/api/factory/simulations/{run_id}",
        lambda site, role: f"/api/factory/simulations/{site.ids['factory_run']}",
        BRAND_WRITER | {"partner_other": "404"},
    ),
    # --- chain of custody: figures and pages for anyone, claims by the site or the operator
    Call("GET", "/custody", "/custody", PUBLIC),
    Call("GET", "/custody/sites/{site}", "/custody/sites/orafi-aretini?period=2026Q3", PUBLIC),
    Call(
        "GET",
        "/api/custody/sites/{site}/balances",
        "/api/custody/sites/orafi-aretini/balances?period=2026Q3",
        PUBLIC,
    ),
    Call(
        "POST",
        "/api/custody/claims",
        "/api/custody/claims",
        OPERATOR,  # the brand's keys are not the site's (orafi-aretini)
        body=lambda site, role: {
            "site": "orafi-aretini",
            "material": "gold",
            "characteristic": "recycled",
            "kg": 0.001,
            "period": "2026Q3",
            "items": ["https://id.gs1.org/01/08012345000708/21/AF0008"],
        },
    ),
    # --- passports, credentials, ownership
    Call(
        "GET",
        "/api/items/{item_id}/passport",
        _item_url("/passport"),
        PUBLIC,
        views=(("", "passport"),),
    ),
    Call(
        "GET",
        "/api/items/{item_id}/passport",
        _item_url("/passport?tier=legitimate_interest"),
        LEGITIMATE_INTEREST,
    ),
    Call("GET", "/api/items/{item_id}/passport", _item_url("/passport?tier=authority"), AUTHORITY),
    Call(
        "GET",
        "/api/passport/{gtin}/{serial}",
        f"/api/passport/{BAG}/BA00001",
        PUBLIC,
        views=(("", "passport"),),
    ),
    Call(
        "GET",
        "/api/passport/{gtin}/{serial}",
        "/api/passport/08012345000708/AF0001",  # a ring with a chain-of-custody claim
        PUBLIC,
        views=(("", "passport"),),
    ),
    Call("GET", "/api/items/{item_id}/credential", _item_url("/credential"), PUBLIC),
    Call(
        "GET", "/api/items/{item_id}/credential", _item_url("/credential?tier=authority"), AUTHORITY
    ),
    Call("GET", "/api/items/{item_id}/ownership", _item_url("/ownership"), PUBLIC),
    Call(
        "POST",
        "/api/items/{item_id}/claim",
        _item_url("/claim", "claimable"),
        PUBLIC,
        body=lambda site, role: {"secret": site.ids["secret"][role]},
    ),
    Call(
        "POST",
        "/api/items/{item_id}/transfer",
        _item_url("/transfer", "owned"),
        PUBLIC,
        body=lambda site, role: {"owner_token": site.ids["token"][role]},
    ),
    Call(
        "POST",
        "/api/items/{item_id}/accept",
        _item_url("/accept", "offered"),
        PUBLIC,
        body=lambda site, role: {"code": site.ids["code"][role]},
    ),
    Call(
        "POST",
        "/api/items/{item_id}/report-lost",
        _item_url("/report-lost", "lost"),
        PUBLIC,
        body=lambda site, role: {"owner_token": site.ids["lost_token"][role], "status": "lost"},
    ),
    Call("GET", "/partners/{partner_id}/did.json", f"/partners/{BRAND}/did.json", PUBLIC),
    Call("GET", "/passport/{gtin}/{serial}", f"/passport/{BAG}/BA00001", PUBLIC),
]


# --- the site ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory, templates: Templates) -> Path:
    """The demo, every component renamed to start with ``SENTINEL``, items for each role."""
    path = tmp_path_factory.mktemp("access") / "demo.db"
    db = templates.sqlite("demo", path)
    for product in ("borsa-aurora", "sedia-quercia", "pinza-robotica"):
        parts = get_product(db, product).components
        renamed = [
            ComponentIn(**c.model_dump(exclude={"position"}) | {"name": SENTINEL + c.name})
            for c in parts
        ]
        update_product(db, product, ProductPatch(components=renamed))
    for kind in ("untagged", "claimable", "owned", "offered", "lost"):
        for role in ROLES:
            create_item(db, ItemIn(product="borsa-aurora", serial=f"{kind[:3].upper()}{_n(role)}"))
    db.dispose()
    return path


@pytest.fixture
def site(demo_file: Path, tmp_path: Path) -> Iterator[Site]:
    shutil.copyfile(demo_file, tmp_path / "demo.db")
    db = Database.from_url(f"sqlite:///{tmp_path / 'demo.db'}")
    settings = Settings(database_url="sqlite://", home=tmp_path / "var", base_url=BASE)
    app = create_app(settings, db)
    keys = {role: create_key(db, partner, kind) for role, (partner, kind) in KEYS.items()}
    made = Site(db, app, settings, keys, find_item(db, BAG, "BA00001").id)
    _prepare_offline(made)
    yield made
    db.dispose()


def _serial_ids(site: Site, kind: str) -> dict[str, int]:
    return {role: find_item(site.db, BAG, f"{kind[:3].upper()}{_n(role)}").id for role in ROLES}


def _prepare_offline(site: Site) -> None:
    """Items with packaging secrets, owners and transfer codes; tags and scan URLs."""
    db, ids = site.db, site.ids
    for kind in ("untagged", "claimable", "owned", "offered", "lost"):
        ids[kind] = _serial_ids(site, kind)
    issued = {s.item_id: s.secret for s in ownership.issue_secrets(db, "borsa-aurora")}
    ids["secret"] = {role: issued[ids["claimable"][role]] for role in ROLES}
    ids["token"] = {r: ownership.claim(db, ids["owned"][r], issued[ids["owned"][r]]) for r in ROLES}
    ids["lost_token"] = {
        r: ownership.claim(db, ids["lost"][r], issued[ids["lost"][r]]) for r in ROLES
    }
    ids["code"] = {}
    for role in ROLES:
        token = ownership.claim(db, ids["offered"][role], issued[ids["offered"][role]])
        ids["code"][role], _ = ownership.start_transfer(db, ids["offered"][role], token)
    master = tags.load_or_create_master_key(site.settings.home, site.settings.instance)
    ids["scan"] = {}
    for role in ROLES:
        url = tags.simulate_scan_url(db, master, site.item, BASE, counter=10 + _n(role))
        ids["scan"][role] = urlsplit(url).path + "?" + urlsplit(url).query
    load_or_create_partner_key(site.settings.home, BRAND)


async def _prepare_online(site: Site, client: httpx.AsyncClient, tmp: Path) -> None:
    """What the keyed calls need, made through the API: an event, a capture job, named
    queries and subscriptions of each role, a cosigned checkpoint."""
    ids = site.ids
    own = site.headers("partner_own")
    captured = await client.post(
        "/epcis/capture", json=epcis_document([_event("partner_own", "receiving")]), headers=own
    )
    ids["capture"] = captured.json()["captureID"]
    brand_only = await client.post("/epcis/capture", json=epcis_document([ONLY_BRAND]), headers=own)
    assert brand_only.status_code == 202, brand_only.text
    ran = await client.post(
        "/api/factory/simulations",
        json={"scenario": "jewellery-workshop", "horizon_days": 2},
        headers=own,
    )
    ids["factory_run"] = ran.json()["id"]
    with site.db.read() as s:
        ids["event"] = s.scalar(
            select(EventRow.event_id).where(EventRow.capture_id == ids["capture"])
        )
    ids["query"], ids["doomed"], ids["subscription"] = {}, {}, {}
    for role in ("partner_own", "partner_other", "operator", "authority"):
        for kind in ("query", "doomed"):
            name = f"{kind}-{_n(role)}"
            made = await client.post(
                "/epcis/queries",
                json={"name": name, "query": {"eventType": "ObjectEvent"}},
                headers=site.headers(role),
            )
            assert made.status_code == 201, made.text
            ids[kind][role] = name
        subscribed = await client.post(
            f"/epcis/queries/{ids['query'][role]}/subscriptions",
            json={"dest": "https://93.184.215.14/cb", "signatureToken": "t", "stream": True},
            headers=site.headers(role),
        )
        ids["subscription"][role] = subscribed.json()["subscriptionID"]
    cosigner = Signer("brand-witness.example", b"w" * 32, ALG_COSIGNATURE_V1)
    done = await witness_once(client, cosigner, tmp / "witness.json", site.keys["witness"])
    assert done.line is not None
    ids["witness_vkey"] = cosigner.verifier.vkey
    ids["cosignature"] = {"size": done.size, "cosignature": done.line}
    ids["size"] = done.size
    proof = (
        await client.get(f"/epcis/events/{quote(ids['event'], safe='')}/proof", headers=own)
    ).json()
    ids["leaf"] = proof["leaf_hash"]
    ids["tile"] = f"/ledger/tile/0/000.p/{done.size}" if done.size < 256 else "/ledger/tile/0/000"


@pytest.fixture
async def client(site: Site, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=site.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mics.test") as c:
        await _prepare_online(site, c, tmp_path)
        yield c


async def _call(site: Site, client: httpx.AsyncClient, call: Call, role: str) -> httpx.Response:
    headers = site.headers(role) | call.headers
    body = call.body(site, role) if call.body else None
    return await client.request(call.method, call.url_for(site, role), json=body, headers=headers)


def _class(status: int) -> str:
    return "2xx" if 200 <= status < 300 else str(status)


# --- the tests ----------------------------------------------------------------------------


def _app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route of the app, routers included, HEAD beside GET left out."""

    def walk(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
        for route in routes:
            if hasattr(route, "original_router"):  # FastAPI's included router
                yield from walk(route.original_router.routes, prefix + route.include_context.prefix)
                continue
            methods = getattr(route, "methods", None) or {"GET"}  # a Mount serves GET
            for method in methods:
                if method != "HEAD" or "GET" not in methods:
                    yield method, prefix + route.path

    return set(walk(app.routes))


def test_every_route_has_an_entry(site: Site) -> None:
    """A route added without deciding who may call it fails here."""
    routes = _app_routes(site.app)
    listed = {(c.method, c.route) for c in ROUTES}
    assert routes - listed == set(), "routes without an entry in ROUTES"
    assert listed - routes == set(), "entries of ROUTES that name no route"


async def test_every_route_answers_every_role_as_the_access_model_says(
    site: Site, client: httpx.AsyncClient
) -> None:
    wrong = []
    for call in ROUTES:
        for role in ROLES:
            response = await _call(site, client, call, role)
            got = _class(response.status_code)
            if got != call.expect[role]:
                wrong.append(
                    f"{call.method} {call.url_for(site, role)} as {role}: expected "
                    f"{call.expect[role]}, got {response.status_code} {response.text[:120]}"
                )
    assert wrong == []


def _restricted_values(site: Site) -> list[str]:
    """Values a tier restricts whose mere presence in a public answer is a leak."""
    with site.db.read() as s:
        events = s.execute(select(EventRow.event_id, EventRow.event_hash)).all()
    values = [SENTINEL]
    values += [tags.tag_of_item(site.db, site.item).uid]
    for event_id, event_hash in events:
        digest = event_hash.split(";", 1)[1][:64]
        values += [event_id, digest, digest.encode().hex()]  # the hex: inside a log leaf
    return values


def _public_leaves(call: Call, body: Any) -> list[str]:
    """The leaves of ``body`` that the call's views do not give the public tier."""
    found = []
    for path, _ in access.leaves(body):
        generic = re.sub(r"\[\d+\]", "[]", path)
        for prefix, view in call.views:  # the longest prefix first
            if prefix and generic != prefix and not generic.startswith(prefix + "."):
                continue
            inner = generic.removeprefix(prefix).lstrip(".")
            if access.tier_of(inner, view) != "public":
                found.append(f"{path} ({view}: {access.tier_of(inner, view)})")
            break
    return found


async def test_public_answers_hold_no_restricted_field(
    site: Site, client: httpx.AsyncClient
) -> None:
    spec = (await client.get("/openapi.json")).json()
    documented = {path for path, ops in spec["paths"].items() if "get" in ops}
    walked = {c.route for c in ROUTES if c.method == "GET"}
    assert {p.replace(":path", "") for p in documented} <= {p.replace(":path", "") for p in walked}
    values = _restricted_values(site)
    leaks = []
    for call in ROUTES:
        if call.method != "GET":
            continue
        response = await _call(site, client, call, "anonymous")
        assert response.status_code < 500, call.route
        if response.status_code >= 400:
            continue  # a 401 problem names the URL asked for: nothing the caller did not know
        url = call.url_for(site, "anonymous")
        text = response.text
        # The log publishes every leaf by design (RFC 6962): a leaf names an event hash
        # and a partner, never an item; what ties an item to its events is restricted.
        exempt = url.startswith("/ledger/")
        for value in values:
            if value in text and not (exempt and value != SENTINEL):
                leaks.append(f"{url}: holds {value[:40]!r}")
        if call.views and response.headers.get("content-type", "").split(";")[0].endswith("json"):
            leaks += [f"{url}: {leaf}" for leaf in _public_leaves(call, response.json())]
    assert leaks == []


async def test_keyed_callers_with_the_tier_still_read_what_it_restricts(
    site: Site, client: httpx.AsyncClient
) -> None:
    """The filters hide fields from the public, not from those whose tier reads them."""
    authority, brand = site.headers("authority"), site.headers("partner_own")
    material = (await client.get("/api/materials/leather-chrome", headers=authority)).json()
    assert material["supplier"] == "conceria-del-brenta"
    repairer = site.headers("legitimate_interest")
    material = (await client.get("/api/materials/leather-chrome", headers=repairer)).json()
    assert (material["density_kg_m3"], "supplier" in material) == (850.0, False)
    product = (await client.get("/api/products/borsa-aurora", headers=brand)).json()
    assert product["components"][0]["name"].startswith(SENTINEL)
    other = (
        await client.get("/api/products/borsa-aurora", headers=site.headers("partner_other"))
    ).json()
    assert "components" not in other
    bom = (await client.get("/api/products/borsa-aurora/bom", headers=repairer)).json()
    assert bom["children"][0]["name"].startswith(SENTINEL)
    footprint = (await client.get("/api/products/borsa-aurora/footprint", headers=brand)).json()
    assert footprint["lines"][0]["component"].startswith(SENTINEL)
    exported = (await client.get("/api/registry/export/products", headers=repairer)).json()
    assert exported["products"][0]["components"]
    credential = (
        await client.get(f"/api/items/{site.item}/credential?tier=authority", headers=authority)
    ).json()
    assert len(credential["evidence"]) >= 5
    scan = (
        await client.get(
            site.ids["scan"]["operator"],
            headers=site.headers("operator") | {"Accept": "application/json"},
        )
    ).json()
    assert (scan["uid"], scan["counter"]) == (tags.tag_of_item(site.db, site.item).uid, 10 + 3)
    public = await client.get(site.ids["scan"]["witness"], headers={"Accept": "application/json"})
    assert public.status_code == 200
    assert "uid" not in public.json()
    assert "counter" not in public.json()
