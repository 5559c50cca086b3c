"""``/api/factory/simulations``: closed-loop factory simulations as jobs (issue 15).

``POST`` checks the scenario (a shipped name or TOML text) and answers ``202`` with
``Location: /api/factory/simulations/{id}``; the run starts after the answer. A bad
scenario is a ``422`` problem naming the key, and nothing is stored. Keyed callers
only (partner and operator keys), at most ``service.MAX_ACTIVE_RUNS`` runs in flight
per partner, each bounded to ``service.MAX_RUN_EVENTS`` events. ``GET`` reads the
status and, once done, the result: the submitting partner's runs, or any for the
operator.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from mics.api.deps import DatabaseDep, WriterDep
from mics.factory import service
from mics.factory.scenario import MAX_SCENARIO_BYTES

router = APIRouter(prefix="/api/factory", tags=["factory"])


class SimulationIn(BaseModel):
    """A shipped scenario's name or a scenario as TOML text (issue 15 keys)."""

    scenario: Annotated[str | None, Field(max_length=200)] = None
    toml: Annotated[str | None, Field(max_length=MAX_SCENARIO_BYTES)] = None
    seed: Annotated[int | None, Field(ge=0, le=2**32 - 1)] = None
    horizon_days: Annotated[float | None, Field(gt=0)] = None


@router.post("/simulations", status_code=202)
async def submit(
    body: SimulationIn, db: DatabaseDep, who: WriterDep, tasks: BackgroundTasks
) -> JSONResponse:
    """Start a simulation; poll the ``Location`` for its status and result."""
    run = await run_in_threadpool(
        service.submit,
        db,
        who.partner,
        scenario=body.scenario,
        toml=body.toml,
        seed=body.seed,
        horizon_days=body.horizon_days,
    )
    tasks.add_task(service.execute, db, run.id)
    location = f"/api/factory/simulations/{run.id}"
    return JSONResponse(
        run.as_json(), status_code=202, headers={"Location": location}, background=tasks
    )


@router.get("/simulations/{run_id}")
async def status(run_id: str, db: DatabaseDep, who: WriterDep) -> dict[str, Any]:
    """The run's status (queued, running, done, failed) and, once done, its result."""
    partner = None if who.role == "operator" else who.partner
    run = await run_in_threadpool(service.get, db, run_id, partner)
    return run.as_json()
