"""The GS1 Digital Link resolver and tag scans over HTTP.

- ``/01/{gtin}[/22/..][/10/..][/21/..]`` (GET, HEAD, OPTIONS): browsers
  (``Accept: text/html``) get the passport page, machines the passport JSON-LD;
  ``?linkType=`` redirects (307) to one link, ``linkType=linkset`` (or
  ``Accept: application/linkset+json``) answers the RFC 9264 linkset; every
  answer carries ``Link: <..?linkType=linkset>; rel="linkset"`` and CORS
  (GS1-Conformant Resolver Standard 1.2). With ``?e=..&c=..`` the URL is a tag
  scan: verified, judged and recorded (``passport.scans``), the verdict shown;
  failed scans are rationed per client and per tag (``passport.scan_limits``:
  429 with ``Retry-After``). The client is the connection's address, which
  ``mics serve`` takes from ``X-Forwarded-For`` only when the connection comes
  from one of ``Settings.trusted_proxies``.
- ``/passport/01/...``: the passport page itself (the ``gs1:pip`` target).
- ``/.well-known/gs1resolver``: the resolver description file.
- ``/api/scan``: the ``gs1:verificationService`` (JSON verdict only).
- ``/api/ping``. The data carriers (QR codes, tag registration) are
  :mod:`mics.api.carriers`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.background import BackgroundTask
from starlette.routing import NoMatchFound

from mics.api import openapi, problems
from mics.api.deps import OPTIONAL_KEY, DatabaseDep, SettingsDep, get_principal
from mics.api.problems import problem_response
from mics.config import Settings
from mics.db import Database
from mics.errors import InvalidInput, MicsError
from mics.passport import access, resolver, scans, tags, verdict_events
from mics.passport.authenticity import GeoPoint
from mics.passport.digital_link import DigitalLink, parse_digital_link
from mics.passport.languages import LANGUAGES, language_code
from mics.passport.passport_cache import PassportCache, compact
from mics.passport.scan_limits import ScanLimiter, client_key
from mics.passport.sun import SunMasterKey
from mics.passport.view import authenticity_block
from mics.passport.volatile import ownership_of
from mics.storage.scan_group import ScanGroup, gated, member_of
from mics.web.negotiation import negotiate, preferred_language

router = APIRouter(tags=["passport"])

HTML, JSON_LD, JSON = "text/html", "application/ld+json", "application/json"
CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "Link"}


def master_key(request: Request) -> SunMasterKey:
    """The instance's tag master key, loaded (or created) once per app."""
    master: SunMasterKey | None = getattr(request.app.state, "tag_master", None)
    if master is None:
        settings = request.app.state.settings
        master = tags.load_or_create_master_key(settings.home, settings.instance)
        request.app.state.tag_master = master
    return master


def publisher(request: Request) -> verdict_events.VerdictPublisher:
    found: verdict_events.VerdictPublisher | None = getattr(
        request.app.state, "verdict_publisher", None
    )
    if found is None:
        settings = request.app.state.settings
        found = verdict_events.VerdictPublisher(
            request.app.state.db,
            settings.operator_partner,
            lock_file=settings.home / "verdict-publisher.lock",
        )
        request.app.state.verdict_publisher = found
    return found


RESOLVER_PARAMETERS: list[dict[str, Any]] = [
    {"name": name, "in": "query", "required": False, "schema": schema, "description": description}
    for name, schema, description in (
        (
            "linkType",
            {"type": "string"},
            "a GS1 link type (gs1:pip, gs1:sustainabilityInfo, ...) or linkset",
        ),
        ("lang", {"enum": ["it", "en"]}, "it or en (default: Accept-Language, then en)"),
        (
            "e",
            {"type": "string", "pattern": "^[0-9A-Fa-f]{32}$"},
            "NTAG 424 DNA SUN: encrypted PICC data, 32 hex digits",
        ),
        (
            "c",
            {"type": "string", "pattern": "^[0-9A-Fa-f]{16}$"},
            "NTAG 424 DNA SUN: CMAC, 16 hex digits",
        ),
        ("lat", {"type": "number"}, "latitude of the scan, decimal degrees (optional)"),
        ("lon", {"type": "number"}, "longitude of the scan, decimal degrees (optional)"),
        ("rp", {"type": "string"}, "a registered read point id (optional)"),
    )
]


# --- the resolver ------------------------------------------------------------------------------


@router.options("/01/{rest:path}", include_in_schema=False)
def preflight(rest: str) -> Response:
    headers = CORS | {"Access-Control-Allow-Methods": "GET, HEAD, OPTIONS"}
    return Response(status_code=204, headers=headers | {"Allow": "GET, HEAD, OPTIONS"})


@router.head("/01/{rest:path}", include_in_schema=False)
@router.get(
    "/01/{rest:path}",
    summary="Resolve a Digital Link",
    responses=openapi.media(HTML, JSON_LD, JSON, resolver.LINKSET_TYPE)
    | {307: {"description": "Redirect to the link of the linkType asked for"}}
    | openapi.problems(400, 501, 503),
    openapi_extra={"parameters": RESOLVER_PARAMETERS} | OPTIONAL_KEY,
)
async def resolve(rest: str, request: Request) -> Response:
    """Resolve a GS1 Digital Link: page, JSON-LD, one link (307) or the linkset."""
    # The app's database, settings and query parameters straight from the request:
    # this is the route every tag scan takes, and dependency injection and
    # parameter validation cost a scan ~20% of its time (documented in
    # RESOLVER_PARAMETERS instead).
    db: Database = request.app.state.db
    settings: Settings = request.app.state.settings
    params = request.query_params
    link_type, lang = params.get("linkType"), params.get("lang")
    if ("e" in params or "c" in params) and _inline(request, db):
        return await gated(
            db, lambda group: _resolve(request, db, settings, link_type, lang, group=group)
        )
    return await run_in_threadpool(_resolve, request, db, settings, link_type, lang)


def _inline(request: Request, db: Database) -> bool:
    """Whether to answer a machine's tag scan on the event loop rather than in a thread.

    On SQLite a scan is ~1 ms of CPU around three sub-millisecond statements on a
    local file: handing it to the thread pool, and the GIL back and forth around
    every statement while 40 threads compete for it, costs more than the scan.
    Pages (heavy) and PostgreSQL go to threads: on the loop, PostgreSQL's scans
    (``storage.scan_group`` groups them there too) waited on the network one after
    another, and a cold passport's reads held every request behind them (bench/scan.py
    at load 10-20: its run took 12 minutes, against 3 with threads at load 2-14).
    """
    return (
        db.engine.dialect.name == "sqlite"
        and negotiate(request.headers.get("accept"), (JSON, HTML)) != HTML
    )


def _resolve(
    request: Request,
    db: Database,
    settings: Settings,
    link_type: str | None,
    lang: str | None,
    *,
    group: ScanGroup | None = None,
) -> Response:
    link = _parse(request)
    if isinstance(link, Response):
        return link
    accepted = request.headers.get("accept-language")
    language = (
        language_code(lang) if lang is not None else preferred_language(accepted, LANGUAGES) or "en"
    )
    params = request.query_params
    if "e" in params or "c" in params:
        return _scan(request, db, link, language, group=group)
    target = resolver.resolve(db, link)
    found = resolver.links(target, settings.base_url, credentials=_serves_credentials(request))
    headers = CORS | {"Link": resolver.link_header(target, settings.base_url)}
    wanted = negotiate(request.headers.get("accept"), (JSON_LD, HTML, JSON, resolver.LINKSET_TYPE))
    if link_type in (resolver.LINKSET, "all") or (
        link_type is None and wanted == resolver.LINKSET_TYPE
    ):
        body = resolver.linkset(target, found, settings.base_url)
        return JSONResponse(body, media_type=resolver.LINKSET_TYPE, headers=headers)
    if link_type is not None:
        chosen = resolver.select_link(target, found, link_type)
        return RedirectResponse(chosen.href, status_code=307, headers=headers)
    if wanted == HTML:
        page = _page(request, db, link, None)
        page.headers.update(headers)
        return page
    passport = _passport_cache(request).passport(
        db, link, _tier(request), language, settings.base_url
    )
    return Response(passport, media_type=JSON if wanted == JSON else JSON_LD, headers=headers)


@router.get("/passport/01/{rest:path}", include_in_schema=False)
def passport_page(rest: str, request: Request, db: DatabaseDep) -> Response:
    """The passport page (the ``gs1:pip`` target), whatever the Accept header."""
    link = _parse(request, prefix="/passport")
    if isinstance(link, Response):
        return link
    resolver.resolve(db, link)
    return _page(request, db, link, None)


@router.get("/.well-known/gs1resolver", tags=["passport"])
def resolver_description(settings: SettingsDep) -> JSONResponse:
    return JSONResponse(resolver.description(settings.base_url, settings.instance), headers=CORS)


@router.get("/api/recall-status/01/{rest:path}", responses=openapi.problems(400))
def recall_status(rest: str, request: Request, db: DatabaseDep, settings: SettingsDep) -> Response:
    """``gs1:recallStatus``: whether an EPCIS event marked this item or product recalled."""
    link = _parse(request, prefix="/api/recall-status")
    if isinstance(link, Response):
        return link
    target = resolver.resolve(db, link)
    body = {"anchor": target.uri(settings.base_url), "recalled": resolver.is_recalled(db, target)}
    return JSONResponse(body, headers=CORS)


@router.get("/api/scan", responses=openapi.problems(400, 503))
async def scan(
    request: Request,
    db: DatabaseDep,
    gtin: str,
    serial: str,
    e: str,
    c: str,
) -> Response:
    """``gs1:verificationService``: verify a tag's SUN message for an item; JSON verdict."""
    try:
        link = DigitalLink(gtin=gtin, serial=serial)
    except InvalidInput as error:
        return _bad_request(request, error)
    if _inline(request, db):
        return await gated(db, lambda g: _scan(request, db, link, "en", page=False, group=g))
    return await run_in_threadpool(_scan, request, db, link, "en", page=False)


@router.get("/api/ping", tags=["meta"])
async def ping() -> dict[str, str]:
    """A constant answer: the ceiling the scan benchmark compares with."""
    return {"ping": "pong"}


# --- the pieces --------------------------------------------------------------------------------


def _scan(
    request: Request,
    db: Database,
    link: DigitalLink,
    language: str,
    *,
    page: bool = True,
    group: ScanGroup | None = None,
) -> Response:
    params = request.query_params
    missing = [name for name in ("e", "c") if not params.get(name)]
    if missing:
        return _bad_request(
            request,
            InvalidInput(
                "is missing: a tag scan URL carries both e and c",
                field=missing[0],
                expected="16 bytes hex for e, 8 bytes hex for c",
            ),
        )
    try:
        place = _place(params.get("lat"), params.get("lon"))
        with member_of(group):  # the scan records in its loop pass's group, if any
            result = scans.verify_scan(
                db,
                master_key(request),
                link,
                params["e"],
                params["c"],
                place=place,
                read_point=params.get("rp"),
                limits=scan_limits(request),
                client=client_key(request.client.host if request.client else None),
            )
    except InvalidInput as error:
        return _bad_request(request, error)
    # After the answer: record the verdict as an EPCIS event (coalesced, off the request).
    after = BackgroundTask(publisher(request).notify)
    settings = request.app.state.settings
    headers = CORS | {
        "Link": resolver.link_header(resolver.Target(link, "", ""), settings.base_url)
    }
    if page and negotiate(request.headers.get("accept"), (JSON, HTML)) == HTML:
        html = _page(request, db, link, result.as_json())
        html.headers.update(headers)
        html.background = after
        return html
    # The passport beside the verdict: its slow part from the cache, its authenticity
    # this very scan (what the scan row just recorded), its ownership read now.
    authenticity = authenticity_block(result.verdict, result.scanned_at, result.counter)
    owned = None if result.ownership is None else ownership_of(*result.ownership)
    tier = _tier(request)
    passport = _passport_cache(request).passport(
        db, link, tier, language, settings.base_url, authenticity, owned
    )
    verdict = access.filter_view("scan", result.as_json(), tier)  # the tag's UID: authorities
    body = compact(verdict)[:-1] + b',"passport":' + passport + b"}"
    return Response(body, media_type=JSON, headers=headers, background=after)


def scan_limits(request: Request) -> ScanLimiter:
    """The failed-scan budgets of this app (one per server process)."""
    found: ScanLimiter | None = getattr(request.app.state, "scan_limits", None)
    if found is None:
        found = request.app.state.scan_limits = ScanLimiter()
    return found


def _passport_cache(request: Request) -> PassportCache:
    cache: PassportCache | None = getattr(request.app.state, "scan_passports", None)
    if cache is None:
        # snapshots: a restart (or an item pushed out of the cache) does not mean
        # assembling the passport again in the scan (passport.snapshots)
        size = request.app.state.settings.passport_cache_size
        cache = request.app.state.scan_passports = PassportCache(size=size, snapshots=True)
    return cache


def _parse(request: Request, prefix: str = "") -> DigitalLink | Response:
    path = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
    path = path.split("?", 1)[0].removeprefix(prefix)
    try:
        return _parsed(path)
    except InvalidInput as error:
        return _bad_request(request, error)


# The same item URLs come back with every tap: parse each path (biip, check digits) once.
_parsed = lru_cache(maxsize=8192)(parse_digital_link)


def _bad_request(request: Request, error: MicsError) -> Response:
    """GS1 resolvers answer 400 to a URI that does not parse (resolver standard §6)."""
    body = error.problem()
    body.update(status=400, title="Bad request", instance=request.url.path)
    return problems.answer(request, body, headers=CORS)


def _place(lat: str | None, lon: str | None) -> GeoPoint | None:
    if lat is None and lon is None:
        return None
    try:
        return GeoPoint(float(lat or ""), float(lon or ""))
    except ValueError:
        raise InvalidInput(
            f"lat={lat!r}, lon={lon!r} is not a position",
            field="lat" if lat is None or not _is_float(lat) else "lon",
            value=f"{lat},{lon}",
            expected="both lat and lon, in decimal degrees",
        ) from None


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _tier(request: Request) -> str:
    """The caller's tier (``passport.access.reader_tier``); the passports it caches are
    per tier, so a brand's key reads them at its role's tier here."""
    if "authorization" not in request.headers:
        return "public"
    return access.reader_tier(get_principal(request).role)


def _serves_credentials(request: Request) -> bool:
    """Whether the app has the signed-passport route (looked up by name: routers nest)."""
    try:
        request.app.url_path_for("item_credential", item_id=0)
    except NoMatchFound:
        return False
    return True


def _page(
    request: Request, db: Database, link: DigitalLink, scan: dict[str, Any] | None
) -> Response:
    try:
        from mics.web.passport_pages import passport_page as render
    except ImportError:
        return _unavailable(request, "the passport page (mics.web.passport_pages)")
    page: Response = render(request, db, link.gtin, link.serial, link.lot, scan)
    return page


def _unavailable(request: Request, what: str) -> Response:
    return problem_response(
        {
            "type": "https://mics.example/problems/NotImplemented",
            "title": "Not implemented",
            "status": 501,
            "detail": f"{what} is not installed",
            "instance": request.url.path,
        }
    )
