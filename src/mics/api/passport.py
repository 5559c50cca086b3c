"""``/api/items/{id}/passport`` and friends: passports by tier, credentials, ownership.

- ``GET /api/items/{id}/passport?tier=`` (and ``/api/passport/{gtin}/{serial}``):
  JSON-LD; ``public`` needs no key, ``legitimate_interest`` a partner key with
  that role (or authority/operator), ``authority`` an authority or operator key,
  or the brand's own partner key (``passport.access.reader_tier``).
  A missing, unknown or expired key is a 401 problem, a key with too low a role 403.
- ``GET /api/items/{id}/credential?tier=``: the signed UNTP DPP credential of that
  tier, with the same keys; the events it cites, with their log proofs, only
  from the tier that reads ``provenance.events`` (authority).
- ``POST /api/items/{id}/claim | transfer | accept | report-lost``: ownership
  on resale; the owner token travels in the JSON body, never in a URL.
- ``GET /partners/{id}/did.json``: the maker's did:web document.
- ``GET /passport/{gtin}/{serial}``: the HTML page (the resolver serves it too).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field
from pydantic.config import JsonDict

from mics import registry
from mics.api.deps import OPTIONAL_KEY, DatabaseDep, SettingsDep, get_principal, reader_tier
from mics.api.openapi import media, problems
from mics.column_ranges import RowId
from mics.errors import Forbidden
from mics.passport import access, ownership
from mics.passport.access import TIERS
from mics.passport.data_integrity import did_document, did_web
from mics.passport.issue import issue_credential
from mics.passport.issuer_keys import load_partner_key
from mics.passport.view import passport_json
from mics.web.passport_pages import passport_page

router = APIRouter(tags=["passport"])
LD_JSON = "application/ld+json"
PASSPORT = media(LD_JSON, description="The passport at the tier asked for (JSON-LD)")
Tier = Annotated[
    Literal["public", "legitimate_interest", "authority"],
    Query(description="access tier: " + ", ".join(TIERS)),
]
Lang = Annotated[Literal["en", "it"], Query(description="language of labels")]


def _code_rule(groups: int) -> JsonDict:
    """``ownership.normalise_code``'s rule as a pattern: 4 x ``groups`` Crockford base32
    characters (O, I and L read as 0 and 1, any case), spaces and hyphens between."""
    return {"pattern": f"^[\\s-]*([0-9A-Za-z][\\s-]*){{{4 * groups}}}$"}


class ClaimIn(BaseModel):
    secret: str = Field(
        description="the code printed inside the packaging",
        max_length=60,
        json_schema_extra=_code_rule(ownership.SECRET_GROUPS),
    )


class OwnerIn(BaseModel):
    owner_token: str = Field(max_length=120)


class AcceptIn(BaseModel):
    code: str = Field(
        description="the one-time transfer code from the owner",
        max_length=60,
        json_schema_extra=_code_rule(ownership.CODE_GROUPS),
    )


class ReportIn(OwnerIn):
    status: Literal["lost", "stolen"] | None = "lost"


def _authorise(request: Request, db: Any, gtin: str, tier: str) -> None:
    """401 without a key, 403 when the key's tier (``passport.access``) is below ``tier``."""
    if tier == "public":
        return
    principal = get_principal(request)
    brand = registry.get_product(db, gtin).brand
    if not access.may_read(reader_tier(principal, brand), tier):
        raise Forbidden(
            f"the {tier} tier needs a key with role "
            + " or ".join(r for r, t in access.ROLE_TIERS.items() if access.may_read(t, tier))
            + f" (or the brand's partner key); yours has role {principal.role}",
            role=principal.role,
        )


def _passport(
    request: Request, db: Any, base_url: str, gtin: str, serial: str | None, tier: str, lang: str
) -> JSONResponse:
    _authorise(request, db, gtin, tier)
    body = passport_json(db, gtin, serial, None, tier=tier, lang=lang, base_url=base_url)
    return JSONResponse(body, media_type=LD_JSON, headers={"Cache-Control": "no-store"})


@router.get("/api/items/{item_id}/passport", responses=PASSPORT, openapi_extra=OPTIONAL_KEY)
def item_passport(
    item_id: RowId,
    request: Request,
    db: DatabaseDep,
    settings: SettingsDep,
    tier: Tier = "public",
    lang: Lang = "en",
) -> JSONResponse:
    item = registry.get_item(db, item_id)
    return _passport(request, db, settings.base_url, item.gtin, item.serial, tier, lang)


@router.get("/api/passport/{gtin}/{serial}", responses=PASSPORT, openapi_extra=OPTIONAL_KEY)
def passport_by_gtin(
    gtin: str,
    serial: str,
    request: Request,
    db: DatabaseDep,
    settings: SettingsDep,
    tier: Tier = "public",
    lang: Lang = "en",
) -> JSONResponse:
    return _passport(request, db, settings.base_url, gtin, serial, tier, lang)


@router.get(
    "/api/items/{item_id}/credential",
    responses=media("application/vc+ld+json"),
    openapi_extra=OPTIONAL_KEY,
)
def item_credential(
    item_id: RowId, request: Request, db: DatabaseDep, settings: SettingsDep, tier: Tier = "public"
) -> JSONResponse:
    item = registry.get_item(db, item_id)
    _authorise(request, db, item.gtin, tier)
    credential = issue_credential(db, settings, item.gtin, item.serial, tier=tier)
    return JSONResponse(credential, media_type="application/vc+ld+json")


@router.get("/api/items/{item_id}/ownership")
def item_ownership(item_id: RowId, db: DatabaseDep) -> dict[str, Any]:
    return ownership.item_status(db, item_id)


@router.post("/api/items/{item_id}/claim", status_code=201, responses=problems(401))
def claim(item_id: RowId, body: ClaimIn, db: DatabaseDep) -> dict[str, Any]:
    token = ownership.claim(db, item_id, body.secret)
    return {"owner_token": token, "ownership": ownership.item_status(db, item_id)}


@router.post("/api/items/{item_id}/transfer", status_code=201, responses=problems(401))
def transfer(item_id: RowId, body: OwnerIn, db: DatabaseDep) -> dict[str, Any]:
    code, expires = ownership.start_transfer(db, item_id, body.owner_token)
    return {"code": code, "expires_at": expires.isoformat()}


@router.post("/api/items/{item_id}/accept", status_code=201, responses=problems(401))
def accept(item_id: RowId, body: AcceptIn, db: DatabaseDep) -> dict[str, Any]:
    token = ownership.accept_transfer(db, item_id, body.code)
    return {"owner_token": token, "ownership": ownership.item_status(db, item_id)}


@router.post("/api/items/{item_id}/report-lost", responses=problems(401))
def report_lost(item_id: RowId, body: ReportIn, db: DatabaseDep) -> dict[str, Any]:
    return ownership.report_lost(db, item_id, body.owner_token, status=body.status)


@router.get("/partners/{partner_id}/did.json", responses=media("application/did+json"))
def did_json(partner_id: str, db: DatabaseDep, settings: SettingsDep) -> JSONResponse:
    registry.get_partner(db, partner_id)
    key = load_partner_key(settings.home, partner_id)
    did = did_web(settings.base_url, "partners", partner_id)
    return JSONResponse(did_document(did, key.public_key), media_type="application/did+json")


@router.get("/passport/{gtin}/{serial}", response_class=HTMLResponse, include_in_schema=False)
def passport_html(gtin: str, serial: str, request: Request, db: DatabaseDep) -> HTMLResponse:
    return passport_page(request, db, gtin, serial, None, None)
