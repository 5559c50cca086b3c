"""The inventory data model: processes, elementary flows, exchanges, impact methods.

A dataset is a technosphere (processes that supply each other) plus a biosphere
(elementary flows such as fossil CO2 to air) and characterisation factors that
turn flows into impact scores (ISO 14040/44 matrix form: s = A^-1 f, g = B s,
h = C g). Everything here is plain, frozen data: loading lives in
``mics.footprint.dataset``, arithmetic in ``mics.footprint.lca``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ExchangeKind = Literal["technosphere", "biosphere"]
Distribution = Literal["none", "lognormal", "normal", "triangular", "uniform"]


@dataclass(frozen=True)
class Uncertainty:
    """An exchange amount's distribution (the ``amount`` is its deterministic value).

    - lognormal: ``sigma_g`` geometric standard deviation (> 1); median = amount
    - normal: ``sd`` standard deviation
    - triangular / uniform: ``low`` and ``high`` (mode = amount for triangular)
    """

    distribution: Distribution = "none"
    sigma_g: float | None = None
    sd: float | None = None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Process:
    """One activity with one reference product, e.g. "aluminium ingot, primary, EU"."""

    id: str
    name: str
    unit: str  # unit of the reference product: kg, kWh, MJ, t*km, m3, item
    location: str  # ISO 3166 code or region (IT, EU, GLO, CN, ...)
    category: str  # material | energy | transport | manufacturing | end_of_life | ...
    source: str  # publication, year, page/table the process data comes from
    comment: str = ""


@dataclass(frozen=True)
class Flow:
    """An elementary flow exchanged with the environment."""

    id: str  # e.g. "co2_fossil_air"
    name: str
    unit: str  # kg, MJ, m3
    compartment: str  # air | water | soil | resource


@dataclass(frozen=True)
class ExchangeQuality:
    """Where an exchange's figure was checked, and its pedigree scores (1 best .. 5 worst).

    ``checked`` names the place in the cited source (table, page, section) where the
    figure was read; empty when nobody checked it. The five scores follow the
    pedigree matrix of Weidema & Wesnaes 1996 (reliability, completeness, temporal,
    geographical and further technological correlation); ``None`` when not scored.
    """

    checked: str = ""
    reliability: int | None = None
    completeness: int | None = None
    temporal: int | None = None
    geographical: int | None = None
    technological: int | None = None
    note: str = ""

    @property
    def scores(self) -> tuple[int | None, ...]:
        return (
            self.reliability,
            self.completeness,
            self.temporal,
            self.geographical,
            self.technological,
        )


@dataclass(frozen=True)
class Exchange:
    """``amount`` of ``input`` (a process id or a flow id) per reference unit of ``process``.

    Technosphere inputs are positive amounts consumed; biosphere amounts are
    emissions (positive) or resource uses (positive, compartment ``resource``).
    """

    process: str
    input: str
    kind: ExchangeKind
    amount: float
    unit: str
    source: str
    uncertainty: Uncertainty = field(default_factory=Uncertainty)
    quality: ExchangeQuality | None = None  # None: no quality line (e.g. imported data)


@dataclass(frozen=True)
class CharacterisationFactor:
    """Impact per unit of a flow, for one indicator of a method."""

    method: str  # e.g. "gwp100_fossil", "gwp100_biogenic", "gwp100_luc", "ced", "water"
    flow: str
    factor: float
    unit: str  # unit of the indicator, e.g. "kg CO2e", "MJ", "m3"
    source: str


@dataclass(frozen=True)
class Dataset:
    """A whole inventory database plus its impact methods."""

    name: str
    processes: tuple[Process, ...]
    flows: tuple[Flow, ...]
    exchanges: tuple[Exchange, ...]
    factors: tuple[CharacterisationFactor, ...]
