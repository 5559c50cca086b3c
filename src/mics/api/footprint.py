"""``/api/products/{id}/footprint|circularity|alternatives``: eco-design figures over REST.

Bad input (unknown product, iterations out of range, a cut-off outside [0, 1),
a material without ``lca_process``) comes back as an RFC 9457 problem (4xx).
Monte Carlo runs are capped by caller and run in a pool of their own
(``api.compute``): more than ``PUBLIC_WORK`` iterations need a key (401), and a
busy pool answers 503 with ``Retry-After``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from mics.api import compute
from mics.api.deps import CallerDep, DatabaseDep
from mics.footprint import service

router = APIRouter(prefix="/api", tags=["footprint"])
CAPS = f"; without an API key at most {compute.PUBLIC_WORK:,} in all"


@router.get("/products/{product_id}/footprint", responses=compute.BUSY)
async def footprint(
    request: Request,
    db: DatabaseDep,
    caller: CallerDep,
    product_id: str,
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
) -> dict[str, Any]:
    """The life-cycle GWP100 (kg CO2e) by stage, material and process, with its tree."""
    run = await run_in_threadpool(
        service.footprint_run, db, product_id, monte_carlo=monte_carlo, cutoff=cutoff, seed=seed
    )
    result = await compute.run(request, run, caller, field="monte_carlo", value=monte_carlo)
    return result.as_json()


@router.get("/products/{product_id}/circularity")
async def circularity(db: DatabaseDep, product_id: str) -> dict[str, Any]:
    """EMF Material Circularity Indicator and PEF Circular Footprint Formula per material."""
    result = await run_in_threadpool(service.circularity, db, product_id)
    return result.as_json()


@router.get("/products/{product_id}/alternatives", responses=compute.BUSY)
async def alternatives(
    request: Request,
    db: DatabaseDep,
    caller: CallerDep,
    product_id: str,
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
    results = await compute.run(request, run, caller, field="iterations", value=iterations)
    return {"product": product_id, "alternatives": [a.as_json() for a in results]}
