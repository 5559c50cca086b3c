"""``/api/custody``: chain-of-custody balances and claims (ISO 22095, issue 18).

``GET /api/custody/sites/{site}/balances?period=2026Q3`` answers every account of
the site for the period: opening, certified input, conversions, output, claims,
closing, reconciliation. Anyone reads the figures; the site's own key, the
operator's and an authority's also read the evidence (event ids, certificates,
transaction documents). ``POST /api/custody/claims`` (the site's key or the
operator's) answers 201 with the claim, or a 409 problem with ``available_kg`` and
``short_kg`` when the ledger does not hold it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from mics.api.deps import DatabaseDep, ReaderDep, WriterDep
from mics.api.openapi import problems
from mics.custody import reports, service
from mics.errors import Forbidden
from mics.registry.api_keys import Principal

router = APIRouter(prefix="/api/custody", tags=["custody"])
EVIDENCE_READERS = ("operator", "authority")
PERIOD = r"^(\d{4}(Q[1-4]|H[12]|-\d{2})?|\d{4}-\d{2}-\d{2}/\d{4}-\d{2}-\d{2})$"


class ClaimIn(BaseModel):
    """A claim on items or lots, named by the account (site, material, characteristic)."""

    site: Annotated[str, Field(max_length=80, description="the site's partner id")]
    material: Annotated[str, Field(max_length=60, description="e.g. gold")]
    characteristic: Annotated[str, Field(max_length=60, description="e.g. recycled")]
    kg: Annotated[float, Field(gt=0, allow_inf_nan=False, description="kg of it claimed")]
    period: Annotated[str, Field(max_length=40, description="e.g. 2026Q3")]
    items: Annotated[
        list[Annotated[str, Field(max_length=500)]],
        Field(min_length=1, max_length=1000, description="item or lot identifiers"),
    ]
    unit: Annotated[str, Field(max_length=10, description="the unit of kg")] = "kg"


def _sees_evidence(reader: Principal | None, site: str) -> bool:
    if reader is None:
        return False
    return reader.role in EVIDENCE_READERS or (reader.role == "partner" and reader.partner == site)


@router.get("/sites/{site}/balances", responses=problems(404, 422))
async def balances(
    site: str,
    db: DatabaseDep,
    reader: ReaderDep,
    period: Annotated[str, Query(max_length=40, pattern=PERIOD, description="e.g. 2026Q3")],
) -> dict[str, Any]:
    """Every account's balance of the site for the period."""
    found = await run_in_threadpool(reports.balances, db, site, period)
    evidence = _sees_evidence(reader, site)
    return {
        "site": site,
        "period": period,
        "accounts": [b.as_json(evidence=evidence) for b in found],
    }


@router.post("/claims", status_code=201, responses=problems(403, 404, 409, 422))
async def claim(body: ClaimIn, db: DatabaseDep, who: WriterDep) -> JSONResponse:
    """Claim kilograms of a characteristic on items or lots (the site's or operator's key)."""
    if who.role != "operator" and who.partner != body.site:
        raise Forbidden(f"only {body.site!r} or the operator may claim on its account")
    made = await run_in_threadpool(
        lambda: service.claim(
            db,
            site=body.site,
            material=body.material,
            characteristic=body.characteristic,
            kg=body.kg,
            period=body.period,
            items=body.items,
            unit=body.unit,
        )
    )
    return JSONResponse(made.as_json(), status_code=201)
