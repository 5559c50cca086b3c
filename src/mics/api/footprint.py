"""``/api/products/{id}/footprint|circularity|alternatives``: eco-design figures over REST.

Bad input (unknown product, iterations out of range, a cut-off outside [0, 1),
a material without ``lca_process``) comes back as an RFC 9457 problem (4xx).
What is broken down by component (footprint ``lines``, MCI per component) is
for legitimate interest, authorities and the brand (``passport.access``).
Monte Carlo runs are capped by caller and run in a pool of their own
(``api.compute``): more than ``PUBLIC_WORK`` iterations need a key (401), and a
busy pool answers 503 with ``Retry-After``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from mics import registry
from mics.api import compute
from mics.api.deps import DatabaseDep, ReaderDep, reader_tier
from mics.db import Database
from mics.footprint import service
from mics.passport import access
from mics.registry.api_keys import Principal

router = APIRouter(prefix="/api", tags=["footprint"])
CAPS = f"; without an API key at most {compute.PUBLIC_WORK:,} in all"


@router.get("/products/{product_id}/footprint", responses=compute.BUSY)
async def footprint(
    request: Request,
    db: DatabaseDep,
    product_id: str,
    reader: ReaderDep,
    monte_carlo: Annotated[
        int,
        Query(
            ge=0, le=service.MAX_ITERATIONS, description="Monte Carlo iterations, 0: none" + CAPS
        ),
    ] = 0,
    cutoff: Annotated[
        float, Query(description="contribution cut-off, share of the total (0 <= cutoff < 1)")
    ] = 0.01,
    seed: Annotated[int, Query(ge=0, le=2**32 - 1, description="random seed")] = 0,
    grid_scenario: Annotated[
        str | None,
        Query(
            max_length=64,
            description="use-phase grid scenario of grid_scenarios.csv (e.g. pniec-2030); "
            "none: the dataset's grid intensity throughout",
        ),
    ] = None,
) -> dict[str, Any]:
    """The life-cycle GWP100 (kg CO2e) by stage, material and process, with its tree."""
    run = await run_in_threadpool(
        service.footprint_run,
        db,
        product_id,
        monte_carlo=monte_carlo,
        cutoff=cutoff,
        seed=seed,
        grid_scenario=grid_scenario,
    )
    result = await compute.run(request, run, reader, field="monte_carlo", value=monte_carlo)
    return access.filter_view("footprint", result.as_json(), _tier(db, product_id, reader))


@router.get("/products/{product_id}/circularity")
async def circularity(db: DatabaseDep, product_id: str, reader: ReaderDep) -> dict[str, Any]:
    """EMF Material Circularity Indicator and PEF Circular Footprint Formula per material."""
    result = await run_in_threadpool(service.circularity, db, product_id)
    return access.filter_view("circularity", result.as_json(), _tier(db, product_id, reader))


def _tier(db: Database, product_id: str, reader: Principal | None) -> str:
    """The caller's tier for the product: the brand reads its own breakdown whole."""
    if reader is None:
        return "public"
    return reader_tier(reader, registry.get_product(db, product_id).brand)


@router.get("/products/{product_id}/alternatives", responses=compute.BUSY)
async def alternatives(
    request: Request,
    db: DatabaseDep,
    product_id: str,
    reader: ReaderDep,
    variant: Annotated[
        list[str] | None,
        Query(
            max_length=compute.MAX_VARIANTS,
            description="demo variant ids or inline specs; none: the product's demo variants",
        ),
    ] = None,
    iterations: Annotated[
        int,
        Query(
            ge=0,
            le=service.MAX_ITERATIONS,
            description="Monte Carlo iterations of each comparison; "
            f"iterations x variants at most {compute.KEYED_WORK:,}" + CAPS,
        ),
    ] = 200,
    seed: Annotated[int, Query(ge=0, le=2**32 - 1, description="random seed")] = 0,
) -> dict[str, Any]:
    """Design variants side by side, per year of service, with significance under uncertainty."""
    run = await run_in_threadpool(
        service.alternatives_run, db, product_id, variant or (), iterations=iterations, seed=seed
    )
    results = await compute.run(request, run, reader, field="iterations", value=iterations)
    return {"product": product_id, "alternatives": [a.as_json() for a in results]}
