"""Tables of the circular end of life: recycling routes, waste families, grid scenarios.

Loaded with the other life-cycle parameters (:mod:`mics.footprint.parameters`):

- :class:`RecyclingRoute` (``recycling_routes.csv``): a virgin material process,
  its recycled twin, its end-of-life recycling process and what that
  recycling's output substitutes (the PEF CFF's ``Erec``, ``ErecEoL``, ``E*v``,
  Rec. (EU) 2021/2279 Annex I §4.4.8);
- :class:`WasteFamily` (``waste_carbon.csv``): the IPCC 2006 Vol. 5 defaults of a
  waste family (Ch. 2 Table 2.4; Ch. 3 Eq. 3.1; Ch. 5 Eq. 5.1) behind its
  landfill and incineration processes;
- :class:`GridScenario` (``grid_scenarios.csv``): a grid's intensity over the
  years as factors of its dataset value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mics.footprint.dataset import Row

_STEPS = 200  # midpoint steps of a grid scenario's mean over a lifetime
CIRCULAR_COLUMNS: dict[str, tuple[str, ...]] = {
    "recycling_routes.csv": ("virgin", "recycled", "recycling_process", "substituted", "source"),
    "waste_carbon.csv": (
        "family",
        "landfill_process",
        "incineration_process",
        "dry_matter",
        "doc",
        "docf",
        "mcf",
        "methane_fraction",
        "oxidation",
        "gas_recovery",
        "carbon_fraction",
        "fossil_carbon_fraction",
        "oxidation_factor",
        "source",
    ),
    "regional.csv": ("process", "input", "role", "source"),
    "grid_scenarios.csv": ("scenario", "process", "year", "factor", "source"),
}
OPTIONAL = frozenset({("recycling_routes.csv", "recycled")})  # may be empty
REGIONAL_ROLES = ("electricity", "delivery")


@dataclass(frozen=True)
class RecyclingRoute:
    """How a virgin material is recycled: its recycled twin, EoL recycling, what it substitutes."""

    virgin: str
    recycled: str | None  # process of recycled content (Erec); None: no recycled twin
    recycling_process: str  # ErecEoL, per kg of material sent to recycling
    substituted: str  # E*v, the virgin process the recycled output replaces
    source: str


@dataclass(frozen=True)
class WasteFamily:
    """IPCC 2006 Vol. 5 parameters of one waste family (Table 2.4, Eq. 3.1, Eq. 5.1)."""

    family: str
    landfill_process: str
    incineration_process: str
    dry_matter: float  # dm, share of wet mass
    doc: float  # degradable organic carbon, share of wet mass
    docf: float  # share of DOC that decomposes
    mcf: float  # methane correction factor
    methane_fraction: float  # F, CH4 share of landfill gas
    oxidation: float  # OX, CH4 oxidised in the cover
    gas_recovery: float  # R, CH4 recovered and flared
    carbon_fraction: float  # CF, total carbon, share of dry matter
    fossil_carbon_fraction: float  # FCF, share of the carbon
    oxidation_factor: float  # OF of incineration
    source: str

    @property
    def carbon(self) -> float:
        """kg of carbon in 1 kg (wet) of waste."""
        return self.dry_matter * self.carbon_fraction

    @property
    def landfill_degraded(self) -> float:
        """kg of carbon degraded in a landfill per kg of waste (DOC x DOCf x MCF)."""
        return self.doc * self.docf * self.mcf


@dataclass(frozen=True)
class GridScenario:
    """Intensity of a grid process over the years, as factors of its dataset value."""

    name: str
    process: str
    points: tuple[tuple[float, float], ...]  # (year, factor), sorted by year
    source: str

    def mean_factor(self, start: float, years: float) -> float:
        """The mean factor over ``years`` of use from ``start``."""
        return float(self.mean_factors(start, np.array([float(years)]))[0])

    def mean_factors(self, start: float, years: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Mean factors for many lifetimes at once (midpoint rule, 200 steps each)."""
        steps = (np.arange(_STEPS) + 0.5) / _STEPS
        times = start + years[:, None] * steps[None, :]
        xs = np.array([y for y, _ in self.points])
        ys = np.array([f for _, f in self.points])
        return np.asarray(np.interp(times, xs, ys).mean(axis=1), dtype=np.float64)


def waste_family(row: Row) -> WasteFamily:
    """A ``waste_carbon.csv`` row; every parameter is a share in [0, 1]."""
    shares = {
        c: _share(row, c)
        for c in (
            "dry_matter",
            "doc",
            "docf",
            "mcf",
            "methane_fraction",
            "oxidation",
            "gas_recovery",
            "carbon_fraction",
            "fossil_carbon_fraction",
            "oxidation_factor",
        )
    }
    return WasteFamily(
        row.identifier("family"),
        row.identifier("landfill_process"),
        row.identifier("incineration_process"),
        source=row.text("source"),
        **shares,
    )


def _share(row: Row, column: str) -> float:
    value = row.number(column)
    if not 0.0 <= value <= 1.0:
        raise row.fail(column, value, "a share in [0, 1]", "write 0.25 for 25 %")
    return value


@dataclass(frozen=True)
class CircularTables:
    twins: Mapping[str, str]  # virgin -> recycled process
    recycling: Mapping[str, RecyclingRoute]
    waste: Mapping[str, WasteFamily]  # by landfill or incineration process
    regional: Mapping[str, tuple[tuple[str, str], ...]]  # process -> (input, role)
    scenarios: Mapping[str, GridScenario]


def load_circular(rows: Callable[[str], Iterator[Row]]) -> CircularTables:
    """Read the four tables; ``rows(name)`` yields a file's checked rows."""
    twins = {}
    recycling = {}
    for row in rows("recycling_routes.csv"):
        virgin = row.identifier("virgin")
        recycled = row.identifier("recycled") if row.text("recycled") else None
        if recycled is not None:
            twins[virgin] = recycled
        recycling[virgin] = RecyclingRoute(
            virgin,
            recycled,
            row.identifier("recycling_process"),
            row.identifier("substituted"),
            row.text("source"),
        )
    waste = {}
    for row in rows("waste_carbon.csv"):
        family = waste_family(row)
        waste[family.landfill_process] = family
        waste[family.incineration_process] = family
    regional: dict[str, list[tuple[str, str]]] = {}
    for row in rows("regional.csv"):
        entry = (row.identifier("input"), row.choice("role", REGIONAL_ROLES))
        regional.setdefault(row.identifier("process"), []).append(entry)
    points: dict[tuple[str, str], list[tuple[float, float]]] = {}
    sources: dict[tuple[str, str], str] = {}
    for row in rows("grid_scenarios.csv"):
        key = (row.text("scenario"), row.identifier("process"))
        points.setdefault(key, []).append((row.number("year"), _factor(row)))
        sources.setdefault(key, row.text("source"))
    scenarios = {
        name: GridScenario(name, process, tuple(sorted(p)), sources[(name, process)])
        for (name, process), p in points.items()
    }
    return CircularTables(
        twins,
        recycling,
        waste,
        {k: tuple(v) for k, v in regional.items()},
        scenarios,
    )


def _factor(row: Row) -> float:
    value = row.number("factor")
    if value < 0:
        raise row.fail("factor", value, "a factor >= 0", "1.0 is the dataset's intensity")
    return value
