"""The lines of a product's life-cycle model (ISO 14044 §4.2.3.3): parts, demand lines.

A :class:`Part` is a leaf of the bill of materials; a :class:`DemandLine` an
amount of one dataset process tagged with its life-cycle stage, material and
component; a :class:`LifeCycleModel` all lines of a product
(:func:`mics.footprint.inventory.life_cycle` builds it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Stage = Literal["materials", "manufacturing", "transport", "use", "end_of_life"]
STAGES: tuple[Stage, ...] = ("materials", "manufacturing", "transport", "use", "end_of_life")
USE_PHASE = "(use phase)"  # the "material" of use-phase lines


@dataclass(frozen=True)
class Part:
    """A leaf of the bill of materials: one material in one component."""

    component: str  # "Body panels", or "Sub-product / Part" inside sub-products
    material: str  # registry material id
    category: str
    lca_process: str | None
    mass_kg: float  # in the finished product
    process: str  # registry process name that shapes it
    country: str
    recycled_share: float
    bio_based_share: float


@dataclass(frozen=True)
class DemandLine:
    stage: Stage
    process: str  # dataset process id
    amount: float  # in the process's reference unit
    unit: str
    material: str
    component: str
    activity: str  # what causes it: the registry process, transport leg or waste route


@dataclass(frozen=True)
class LifeCycleModel:
    product: str
    lifetime_years: float
    mass_kg: float
    lines: tuple[DemandLine, ...]
    assumptions: tuple[str, ...]

    def demand(self, scale: float = 1.0) -> dict[str, float]:
        """All lines summed by process, times ``scale`` (``1/lifetime`` gives per year)."""
        out: dict[str, float] = {}
        for line in self.lines:
            out[line.process] = out.get(line.process, 0.0) + line.amount * scale
        return out

    def demand_without(self, stage: Stage) -> dict[str, float]:
        """The demand of all lines but those of ``stage`` (Monte Carlo samples it apart)."""
        out: dict[str, float] = {}
        for line in self.lines:
            if line.stage != stage:
                out[line.process] = out.get(line.process, 0.0) + line.amount
        return out
