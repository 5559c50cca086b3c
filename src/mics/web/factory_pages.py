"""``/factory``: pick or paste a factory scenario, run it, read the run's page (issue 15).

The run page shows the answer (days without resupply), stock by quality band over
time, a Sankey of the material flows, losses, energy and machine utilisation, all as
server-side SVG (nothing fetched, no JavaScript). Pages have no key, so their work is
bounded: one web run at a time per process (another gets 503 and is not queued),
each at most ``WEB_MAX_EVENTS`` events; shipped scenarios' runs are cached.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from mics.errors import InvalidInput, TooLarge, Unavailable
from mics.factory import charts, load, parse, shipped
from mics.factory.scenario import MAX_HORIZON_DAYS, MAX_SCENARIO_BYTES, Scenario
from mics.factory.simulation import simulate
from mics.web.pages import templates

router = APIRouter(include_in_schema=False)
# A keyless page may not hold a core for long: 500,000 events is ~3-5 s of one core,
# ten times what ten years of the space station need.
WEB_MAX_EVENTS = 500_000
_one_at_a_time = threading.Semaphore(1)


@router.get("/factory", response_class=HTMLResponse)
def factory_index(request: Request) -> HTMLResponse:
    scenarios = [load(name) for name in shipped()]
    return templates.TemplateResponse(request, "factory.html", {"scenarios": scenarios})


@router.get("/factory/run", response_class=HTMLResponse)
async def shipped_run(
    request: Request,
    scenario: Annotated[str, Query(max_length=100)],
    seed: Annotated[int | None, Query(ge=0, le=2**32 - 1)] = None,
    horizon: Annotated[float | None, Query(gt=0, le=MAX_HORIZON_DAYS)] = None,
) -> HTMLResponse:
    """A shipped scenario's run (cached: the same question gets the same answer)."""
    if scenario not in shipped():
        raise InvalidInput(
            "no such shipped scenario",
            field="scenario",
            value=scenario,
            expected=f"one of {', '.join(shipped())}",
        )
    result = await run_in_threadpool(_shipped_result, scenario, seed, horizon)
    return _page(request, result)


@router.post("/factory/run", response_class=HTMLResponse)
async def pasted_run(request: Request) -> HTMLResponse:
    """A scenario pasted in the form (``toml=``, form-encoded) or sent as JSON."""
    body = await request.body()
    if len(body) > 3 * MAX_SCENARIO_BYTES:  # form encoding triples a byte at worst
        raise TooLarge(
            "scenario too large", field="toml", value=len(body), expected="at most 1 MB of TOML"
        )
    if request.headers.get("content-type", "").startswith("application/json"):
        import json

        try:
            data = json.loads(body)
        except ValueError as error:
            raise InvalidInput("not JSON", field="body", value=None, expected="{toml}") from error
        text = data.get("toml") if isinstance(data, dict) else None
    else:
        values = parse_qs(body.decode("utf-8", "replace")).get("toml", [])
        text = values[0] if values else None
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(
            "no scenario", field="toml", value=None, expected="the scenario's TOML text"
        )
    scenario = parse(text, source="form", meshes=False)
    result = await run_in_threadpool(_bounded_run, scenario, None)
    return _page(request, result)


@lru_cache(maxsize=32)
def _shipped_result(name: str, seed: int | None, horizon: float | None) -> dict[str, Any]:
    scenario = load(name)
    if horizon is not None:
        scenario = scenario.with_horizon(horizon)
    return _bounded_run(scenario, seed)


def _bounded_run(scenario: Scenario, seed: int | None) -> dict[str, Any]:
    if not _one_at_a_time.acquire(blocking=False):
        raise Unavailable("another factory run is in progress on this server; try again")
    try:
        return simulate(scenario, seed, max_events=WEB_MAX_EVENTS).as_json()
    finally:
        _one_at_a_time.release()


def _page(request: Request, result: dict[str, Any]) -> HTMLResponse:
    # Markup: mics.factory.charts escapes every label it writes into its SVG
    return templates.TemplateResponse(
        request,
        "factory_run.html",
        {
            "r": result,
            "stock": Markup(charts.stock_chart(result)),
            "flows": Markup(charts.material_flows(result)),
            "losses": Markup(charts.bars("losses by stage", result["losses_kg"], "kg")),
            "energy": Markup(charts.bars("energy by stage", result["energy_kwh"], "kWh")),
            "utilisation": Markup(
                charts.bars("machine utilisation", result["utilisation"], "of the run")
            ),
        },
    )
