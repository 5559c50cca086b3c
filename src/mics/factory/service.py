"""Factory simulation jobs: submit a scenario, run it, read its status and result.

``submit`` checks the whole scenario first (a bad one raises ``InvalidInput``
naming the key: nothing is stored or started), then stores a ``queued`` run.
``execute`` runs it (the API calls it after answering 202) and stores the result
or the error. Runs are bounded: a partner has at most ``MAX_ACTIVE_RUNS`` queued or
running, and each run stops after ``MAX_RUN_EVENTS`` events. The count is read from
the database, so it holds across API processes.

    run = submit(db, "maison-aurora", scenario="space-station", seed=1)
    execute(db, run.id)
    get(db, run.id, "maison-aurora").result["self_sufficiency_days"]
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

from sqlalchemy import func, select

from mics.db import Database
from mics.errors import Conflict, InvalidInput, MicsError, NotFound
from mics.factory.result import grid_gwp_per_kwh
from mics.factory.scenario import Scenario, parse, shipped
from mics.factory.simulation import Recycling, simulate
from mics.factory.store import FactoryRunRow

# Two runs in flight per partner: a simulation holds a CPU for seconds, and a
# deployment serves many partners on few cores (README, "Security: factory runs").
MAX_ACTIVE_RUNS = 2
# ~20 s of one core at the measured 100k events/s (bench/factory.py): ten years of
# the space station take ~50k events, so real scenarios finish well inside it.
MAX_RUN_EVENTS = 2_000_000
# A run ends within seconds (the event budget); one still "running" an hour later lost
# its process (a restart) and no longer counts against its partner's bound.
STALE_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class Run:
    id: str
    partner: str
    scenario: str
    seed: int
    horizon_days: float
    status: str
    created_at: datetime
    finished_at: datetime | None
    result: dict[str, Any] | None
    error: dict[str, Any] | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "scenario": self.scenario,
            "seed": self.seed,
            "horizon_days": self.horizon_days,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "result": self.result,
            "error": self.error,
        }


def scenario_text(name: str) -> str:
    """The TOML text of a shipped scenario."""
    if name not in shipped():
        raise InvalidInput(
            "no such shipped scenario",
            field="scenario",
            value=name,
            expected=f"one of {', '.join(shipped())}, or the TOML text in 'toml'",
        )
    return (resources.files("mics.factory") / "scenarios" / f"{name}.toml").read_text("utf-8")


def submit(
    db: Database,
    partner: str,
    *,
    scenario: str | None = None,
    toml: str | None = None,
    seed: int | None = None,
    horizon_days: float | None = None,
) -> Run:
    """Check the scenario (a shipped name or TOML text) and store a queued run."""
    if (scenario is None) == (toml is None):
        raise InvalidInput(
            "give a shipped scenario's name or a scenario's TOML text, not both",
            field="scenario",
            value=scenario,
            expected="'scenario' or 'toml'",
        )
    text = scenario_text(scenario) if scenario is not None else str(toml)
    checked = _checked(text, seed, horizon_days)
    row = FactoryRunRow(
        id=str(uuid.uuid4()),
        partner_id=partner,
        scenario_name=checked.name,
        scenario_toml=text,
        seed=checked.seed,
        horizon_days=checked.horizon_days,
        status="queued",
        created_at=datetime.now(UTC),
    )
    with db.transaction() as session:
        active = session.scalar(
            select(func.count())
            .select_from(FactoryRunRow)
            .where(FactoryRunRow.partner_id == partner)
            .where(FactoryRunRow.status.in_(("queued", "running")))
            .where(FactoryRunRow.created_at > row.created_at - STALE_AFTER)
        )
        if (active or 0) >= MAX_ACTIVE_RUNS:
            raise Conflict(
                f"{partner} has {active} simulations queued or running, the most allowed is "
                f"{MAX_ACTIVE_RUNS}; wait for one to finish",
                field="scenario",
            )
        session.add(row)
    return _run(row)


def execute(db: Database, run_id: str) -> None:
    """Run a queued simulation and store its result (or its error)."""
    with db.transaction() as session:
        row = session.get(FactoryRunRow, run_id)
        if row is None or row.status != "queued":
            return
        row.status = "running"
        text, seed, horizon = row.scenario_toml, row.seed, row.horizon_days
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    try:
        scenario = _checked(text, seed, horizon)
        result = simulate(scenario, seed, max_events=MAX_RUN_EVENTS).as_json()
    except MicsError as failure:
        error = failure.problem()
    except Exception as failure:  # a run must end as failed, never stay running
        error = {"title": "simulation failed", "detail": type(failure).__name__}
    with db.transaction() as session:
        row = session.get(FactoryRunRow, run_id)
        if row is not None:
            row.status = "done" if error is None else "failed"
            row.result, row.error = result, error
            row.finished_at = datetime.now(UTC)


def get(db: Database, run_id: str, partner: str | None) -> Run:
    """A run; ``partner`` None reads any run (the operator), else only the partner's."""
    with db.read() as session:
        row = session.get(FactoryRunRow, run_id)
        if row is None or (partner is not None and row.partner_id != partner):
            raise NotFound(f"no simulation {run_id!r}", field="id", value=run_id)
        return _run(row)


def record_genealogy(
    db: Database,
    scenario: Scenario,
    log: list[Recycling],
    partner: str,
    *,
    start: datetime | None = None,
    end_day: float = 0.0,
) -> tuple[str | None, int]:
    """Capture a run's recycling as EPCIS TransformationEvents (and so in the log).

    ``start``: the run's day 0 (default: ``end_day`` days ago, so no event is in the
    future). Returns the capture id (None if nothing was recycled) and the count."""
    from mics.factory import genealogy
    from mics.trace import capture

    now = datetime.now(UTC)
    first = start or now - timedelta(days=math.ceil(end_day) + 1)
    found = genealogy.events(scenario, log, first)
    if not found:
        return None, 0
    result = capture.capture_document(db, genealogy.document(found, now), partner)
    return result.capture_id, result.captured


def _checked(text: str, seed: int | None, horizon_days: float | None) -> Scenario:
    scenario = parse(text, source="request", meshes=False)
    if horizon_days is not None:
        scenario = scenario.with_horizon(horizon_days)
    if seed is not None:
        if not 0 <= seed < 2**32:
            raise InvalidInput("bad seed", field="seed", value=seed, expected="0 <= seed < 2**32")
        from dataclasses import replace

        scenario = replace(scenario, seed=seed)
    grid_gwp_per_kwh(scenario.grid)
    return scenario


def _run(row: FactoryRunRow) -> Run:
    return Run(
        id=row.id,
        partner=row.partner_id,
        scenario=row.scenario_name,
        seed=row.seed,
        horizon_days=row.horizon_days,
        status=row.status,
        created_at=row.created_at,
        finished_at=row.finished_at,
        result=row.result,
        error=row.error,
    )
