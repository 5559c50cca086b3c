"""What a factory run answers (issue 15, "Results"): a frozen dataclass and its JSON.

``gwp_kg_co2e`` is the run's electricity through the footprint engine: the GWP100
score of one kWh of the scenario's ``grid`` process in the shipped inventory
(``mics.footprint``), times the kWh used; no emission factor is copied here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from mics.errors import InvalidInput

if TYPE_CHECKING:
    from mics.factory.simulation import Factory, MaterialState

GWP_METHOD = "gwp100"


@dataclass(frozen=True)
class Sample:
    day: float
    backlog: int
    stock_kg: dict[str, dict[str, float]]  # material -> quality band -> kg of feedstock


@dataclass(frozen=True)
class Result:
    scenario: str
    seed: int
    horizon_days: float
    end_day: float
    stopped: str | None
    self_sufficiency_days: float | None  # the first demand not met; None: never in the horizon
    delivered_kg: float
    delivered_parts: int
    backlog_parts: int
    initial_stock_kg: float
    closure_rate: float  # recycled feedstock used / all feedstock used
    losses_kg: dict[str, float]  # stage -> kg
    mass_balance_error_kg: float
    energy_kwh: dict[str, float]  # stage -> kWh
    gwp_kg_co2e: float
    utilisation: dict[str, float]  # machine -> fraction of the run spent building
    lead_time_days: dict[str, float]  # p50, p95
    quality: dict[str, dict[str, float]]  # material -> mean and max loops of delivered parts
    stock_kg: dict[str, float]  # material -> feedstock at the end
    events: int
    flows_kg: tuple[tuple[str, str, float], ...]  # (from, to, kg): the Sankey of the run
    series: tuple[Sample, ...]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@cache
def grid_gwp_per_kwh(process: str) -> float:
    """kg CO2e per kWh of ``process`` (e.g. ``electricity_it``) in the shipped inventory."""
    from mics.footprint.service import system_for

    system = system_for()
    if process not in system.index:
        raise InvalidInput(
            "no such electricity process in the footprint inventory",
            field="scenario.grid",
            value=process,
            expected="a process id such as electricity_it or electricity_cn",
        )
    return system.score({process: 1.0}, GWP_METHOD)


def summarise(factory: Factory, end: float) -> Result:
    s = factory.scenario
    states = list(factory.states())
    losses = dict.fromkeys(_stages(), 0.0)
    for state in states:
        for stage, kg in state.losses.items():
            losses[stage] = losses.get(stage, 0.0) + kg
    drawn = sum(st.drawn for st in states)
    leads = np.array(factory.lead_times) if factory.lead_times else np.zeros(0)
    energy = dict(factory.energy)
    quality = {
        mid: {
            "mean_loops": float(np.mean(loops)) if loops else 0.0,
            "max_loops": float(np.max(loops)) if loops else 0.0,
        }
        for mid, loops in factory.delivered_loops.items()
    }
    return Result(
        scenario=s.name,
        seed=factory.seed,
        horizon_days=s.horizon_days,
        end_day=end,
        stopped=factory.stopped,
        self_sufficiency_days=factory.shortage_day,
        delivered_kg=factory.delivered_kg,
        delivered_parts=factory.delivered_parts,
        backlog_parts=sum(len(st.queue) for st in states),
        initial_stock_kg=sum(m.initial_kg for m in s.materials),
        closure_rate=sum(st.drawn_recycled for st in states) / drawn if drawn else 0.0,
        losses_kg=losses,
        mass_balance_error_kg=factory.mass_balance_error(),
        energy_kwh=energy,
        gwp_kg_co2e=sum(energy.values()) * grid_gwp_per_kwh(s.grid),
        utilisation={m: busy / end if end else 0.0 for m, busy in factory.busy.items()},
        lead_time_days={
            "p50": float(np.percentile(leads, 50)) if leads.size else 0.0,
            "p95": float(np.percentile(leads, 95)) if leads.size else 0.0,
        },
        quality=quality,
        stock_kg={st.spec.id: st.feed.total() for st in states},
        events=factory.events,
        flows_kg=_flows(states, losses, factory.delivered_kg),
        series=tuple(factory.samples),
    )


def _flows(
    states: list[MaterialState], losses: dict[str, float], delivered: float
) -> tuple[tuple[str, str, float], ...]:
    """Where the material went, all materials together (kg over the run)."""
    drawn = sum(st.drawn for st in states)
    recycled = sum(st.drawn_recycled for st in states)
    back = {
        k: sum(st.returned_kg.get(k, 0.0) for st in states) for k in ("parts", "supports", "scrap")
    }
    flows = [
        ("virgin feedstock", "printing", drawn - recycled),
        ("recycled feedstock", "printing", recycled),
        ("printing", "parts", delivered),
        ("printing", "supports and scrap", back["supports"] + back["scrap"]),
        ("printing", "lost: sieving", losses.get("sieving", 0.0)),
        ("parts", "lost: in service", losses.get("in_service", 0.0)),
        ("parts", "recycler", back["parts"]),
        ("supports and scrap", "recycler", back["supports"] + back["scrap"]),
        ("recycler", "recycled feedstock", sum(st.recycled_kg for st in states)),
    ]
    for stage in ("atomisation", "re_extrusion", "supports", "scrap", "quality", "unrecycled"):
        flows.append(("recycler", f"lost: {stage}", losses.get(stage, 0.0)))
    return tuple((a, b, kg) for a, b, kg in flows if kg > 0)


def _stages() -> tuple[str, ...]:
    from mics.factory.simulation import STAGES

    return STAGES
