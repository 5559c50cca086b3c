"""Life-cycle parameters around the inventory: manufacturing routes, transport, end of life, CFF.

A product's bill of materials says *what* it is made of; these tables say what
happens around each material (ISO 14044 §4.2.3.3 system boundary, documented
in ``data/README.md`` "Product footprints"):

- ``manufacturing.csv``: per registry process name (``cnc_machining``,
  ``leather_cutting_sewing``, ...), the material bought per kg of finished
  component (``input = material``, the yield) and the inputs of dataset
  processes per kg of component (electricity, workshop energy, ...).
- ``conversions.csv``: kg per reference unit of material processes that are not
  per kg (leather per m2, a motor per item).
- ``transport.csv``: legs from a country of origin to Italy (dataset transport
  process and distance); the ``*`` rows are the default for unlisted countries.
- ``end_of_life.csv``: landfill, incineration and recycling shares per material
  category (recycling is cut-off: burden-free for this product), the disposal
  processes, and the recycling yields the EMF MCI needs (``E_C``, ``E_F``).
- ``cff_parameters.csv``: the PEF Circular Footprint Formula's ``A``,
  ``Qsin/Qp``, ``Qsout/Qp``, ``LHV`` and recovery efficiencies per material
  category (Rec. (EU) 2021/2279 Annex I §4.4.8, Annex C).
- ``recycling_routes.csv``: per virgin material process, its recycled twin
  (``Erec``, and the recycled share of the LCA's virgin/recycled mix), the
  process that recycles it at end of life (``ErecEoL``) and the virgin process
  its recycled output substitutes (``E*v``); a material without a row has no
  recycling route: no CFF credit and no burden.
- ``waste_carbon.csv``: per waste family (wood, leather, textiles, plastics,
  metals, electronics) the IPCC 2006 Vol. 5 parameters (dry matter, DOC, DOCf,
  MCF, F, OX, carbon and fossil carbon fractions, oxidation factor) behind its
  landfill and incineration processes, and the biogenic carbon balance.
- ``regional.csv``: direct inputs of a material process that follow the
  supplier's country (its grid electricity, its delivery leg to Italy).
- ``grid_scenarios.csv``: a grid's intensity over the years relative to its
  dataset value (e.g. Italy's PNIEC 2030 trajectory), for the use phase.

Every row names its ``source``; a broken value raises
:class:`mics.errors.InvalidInput` naming file, line and column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable

from mics.errors import InvalidInput
from mics.footprint.dataset import Row
from mics.footprint.tables import (
    CIRCULAR_COLUMNS,
    OPTIONAL,
    GridScenario,
    RecyclingRoute,
    WasteFamily,
    load_circular,
)

__all__ = ["GridScenario", "RecyclingRoute", "WasteFamily"]  # from mics.footprint.tables
DEFAULT = "*"  # the row used when a country or category has none of its own
MATERIAL = "material"  # manufacturing.csv input naming the component's own material
_SHARE_TOLERANCE = 1e-9

COLUMNS: Mapping[str, tuple[str, ...]] = {
    "manufacturing.csv": ("process", "input", "amount", "unit", "source"),
    "conversions.csv": ("process", "unit", "kg_per_unit", "source"),
    "transport.csv": ("country", "mode", "distance_km", "source"),
    "end_of_life.csv": (
        "category",
        "landfill",
        "incineration",
        "recycling",
        "landfill_process",
        "incineration_process",
        "recycling_efficiency",
        "feedstock_recycling_efficiency",
        "bio_landfill_process",
        "bio_incineration_process",
        "bottom_ash_recovery",
        "source",
    ),
    "cff_parameters.csv": (
        "category",
        "a",
        "q_sin_qp",
        "q_sout_qp",
        "lhv_mj_kg",
        "x_er_heat",
        "x_er_elec",
        "source",
    ),
} | CIRCULAR_COLUMNS


@dataclass(frozen=True)
class ManufacturingRoute:
    """How one registry process name shapes 1 kg of component."""

    name: str
    material_factor: float  # kg of material bought per kg of finished component
    inputs: tuple[tuple[str, float, str], ...]  # (dataset process, amount per kg, unit)
    source: str


@dataclass(frozen=True)
class TransportLeg:
    mode: str  # dataset transport process, per t*km
    distance_km: float
    source: str


@dataclass(frozen=True)
class EndOfLifeRoute:
    """Fate of a material category after use; ``recycling`` is cut-off (no burden here)."""

    category: str
    landfill: float
    incineration: float
    recycling: float
    landfill_process: str  # for the share that is not bio-based
    incineration_process: str
    recycling_efficiency: float  # E_C of the EMF MCI
    feedstock_recycling_efficiency: float  # E_F of the EMF MCI
    source: str
    bio_landfill_process: str = ""  # for the bio-based share ("" = as landfill_process)
    bio_incineration_process: str = ""
    bottom_ash_recovery: float = 0.0  # share of the incinerated mass recovered as metal

    def processes(self, bio_based: float) -> tuple[tuple[str, str, float], ...]:
        """(route, process, share of mass) of the disposal routes, split by bio-based share."""
        out = []
        for route, fossil, bio in (
            ("landfill", self.landfill_process, self.bio_landfill_process),
            ("incineration", self.incineration_process, self.bio_incineration_process),
        ):
            bio = bio or fossil
            if bio == fossil:
                out.append((route, fossil, 1.0))
                continue
            out += [(route, fossil, 1.0 - bio_based), (route, bio, bio_based)]
        return tuple(o for o in out if o[2] > 0)


@dataclass(frozen=True)
class CffCategory:
    """CFF parameters of a material category (the E values come from the dataset)."""

    category: str
    a: float
    q_sin_qp: float
    q_sout_qp: float
    lhv_mj_kg: float
    x_er_heat: float
    x_er_elec: float
    source: str


@dataclass(frozen=True)
class LifeCycleParameters:
    """All tables, checked; lookups fall back to the documented ``*`` rows."""

    manufacturing: Mapping[str, ManufacturingRoute]
    kg_per_unit: Mapping[str, tuple[str, float]]  # dataset process -> (unit, kg per unit)
    transport: Mapping[str, tuple[TransportLeg, ...]]
    end_of_life: Mapping[str, EndOfLifeRoute]
    cff: Mapping[str, CffCategory]
    recycled_twin: Mapping[str, str]  # virgin -> recycled process
    virgin_twin: Mapping[str, str]  # recycled -> virgin process
    recycling: Mapping[str, RecyclingRoute] = field(default_factory=dict)  # by virgin process
    waste: Mapping[str, WasteFamily] = field(default_factory=dict)  # by landfill/incin. process
    regional: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    grid_scenarios: Mapping[str, GridScenario] = field(default_factory=dict)

    def recycling_route(self, process: str) -> RecyclingRoute | None:
        """The recycling route of a material process (or of its virgin twin), if any."""
        return self.recycling.get(self.virgin_twin.get(process, process))

    def grid_scenario(self, name: str) -> GridScenario:
        if name not in self.grid_scenarios:
            raise InvalidInput(
                f"unknown grid scenario {name!r}; use one of "
                f"{', '.join(sorted(self.grid_scenarios))} (grid_scenarios.csv)",
                field="grid_scenario",
                value=name,
                expected="a scenario of grid_scenarios.csv",
            )
        return self.grid_scenarios[name]

    def route(self, process: str, where: str) -> ManufacturingRoute:
        name = process or "none"
        if name not in self.manufacturing:
            raise InvalidInput(
                f"unknown manufacturing process {process!r}; use one of "
                f"{', '.join(sorted(self.manufacturing))} or add rows for it to "
                "src/mics/footprint/data/manufacturing.csv",
                field=where,
                value=process,
                expected="a process name listed in manufacturing.csv",
            )
        return self.manufacturing[name]

    def legs(self, country: str) -> tuple[tuple[TransportLeg, ...], bool]:
        """The legs from ``country`` to Italy, and whether they are the ``*`` default."""
        if country in self.transport:
            return self.transport[country], False
        return self.transport[DEFAULT], True

    def fate(self, category: str) -> tuple[EndOfLifeRoute, bool]:
        if category in self.end_of_life:
            return self.end_of_life[category], False
        return self.end_of_life[DEFAULT], True

    def cff_category(self, category: str) -> tuple[CffCategory, bool]:
        if category in self.cff:
            return self.cff[category], False
        return self.cff[DEFAULT], True


@cache
def shipped_parameters() -> LifeCycleParameters:
    """The tables shipped in ``mics/footprint/data`` (loaded once)."""
    return load_parameters()


def load_parameters(path: Traversable | None = None) -> LifeCycleParameters:
    folder = path if path is not None else files("mics.footprint").joinpath("data")
    routes: dict[str, tuple[float | None, list[tuple[str, float, str]], str]] = {}
    for row in _rows(folder, "manufacturing.csv"):
        name, target = row.identifier("process"), row.text("input")
        factor, inputs, source = routes.get(name, (None, [], row.text("source")))
        amount = _non_negative(row, "amount")
        if target == MATERIAL:
            if row.text("unit") != "kg":
                raise row.fail("unit", row.text("unit"), "'kg' for the material row", "use kg")
            if amount <= 0:
                raise row.fail("amount", amount, "> 0 kg bought per kg made", "e.g. 1.1")
            factor = amount
        else:
            inputs.append((row.identifier("input"), amount, row.text("unit")))
        routes[name] = (factor, inputs, source)
    manufacturing = {}
    for name, (factor, inputs, source) in routes.items():
        if factor is None:
            raise InvalidInput(
                f"manufacturing.csv: process {name!r} has no 'material' row; add one saying "
                "how many kg of material are bought per kg of finished component (1.0 if none "
                "is lost)",
                field="manufacturing.csv",
                value=name,
                expected="one row with input 'material'",
            )
        manufacturing[name] = ManufacturingRoute(name, factor, tuple(inputs), source)
    conversions = {}
    for row in _rows(folder, "conversions.csv"):
        kg = _non_negative(row, "kg_per_unit")
        if kg <= 0:
            raise row.fail("kg_per_unit", kg, "a mass > 0", "e.g. 1.1 kg per m2 of leather")
        conversions[row.identifier("process")] = (row.text("unit"), kg)
    transport: dict[str, list[TransportLeg]] = {}
    for row in _rows(folder, "transport.csv"):
        country = row.text("country")
        if country != DEFAULT and not (len(country) == 2 and country.isupper()):
            raise row.fail("country", country, "an ISO 3166-1 alpha-2 code or '*'", "e.g. IT")
        leg = TransportLeg(
            row.identifier("mode"), _non_negative(row, "distance_km"), row.text("source")
        )
        transport.setdefault(country, []).append(leg)
    fates = {row.text("category"): _fate(row) for row in _rows(folder, "end_of_life.csv")}
    cff = {row.text("category"): _cff(row) for row in _rows(folder, "cff_parameters.csv")}
    circular = load_circular(lambda name: _rows(folder, name))
    for name, table in (("transport.csv", transport), ("end_of_life.csv", fates)):
        if DEFAULT not in table:
            raise InvalidInput(
                f"{name} has no default row '*'; add one so that unlisted entries have a "
                "documented default",
                field=name,
                value=sorted(table),
                expected="a row whose first column is '*'",
            )
    if DEFAULT not in cff:
        raise InvalidInput(
            "cff_parameters.csv has no default row '*'", field="cff_parameters.csv", value=None
        )
    return LifeCycleParameters(
        manufacturing,
        conversions,
        {k: tuple(v) for k, v in transport.items()},
        fates,
        cff,
        circular.twins,
        {recycled: virgin for virgin, recycled in circular.twins.items()},
        circular.recycling,
        circular.waste,
        circular.regional,
        circular.scenarios,
    )


def _rows(folder: Traversable, name: str) -> Iterator[Row]:
    source = folder.joinpath(name)
    if not source.is_file():
        raise InvalidInput(
            f"{name}: file is missing from {folder}; copy it from the package data folder",
            field=name,
            value=str(folder),
            expected="an existing CSV file",
        )
    reader = csv.DictReader(io.StringIO(source.read_text(encoding="utf-8")))
    header = reader.fieldnames or []
    for column in COLUMNS[name]:
        if column not in header:
            raise Row(name, 1, {}).fail(column, None, f"columns {list(COLUMNS[name])}", "add it")
    for values in reader:
        row = Row(name, reader.line_num, {k: v or "" for k, v in values.items() if k})
        for column in COLUMNS[name]:
            if row.text(column) == "" and (name, column) not in OPTIONAL:
                fix = "name the publication and table" if column == "source" else "fill it in"
                raise row.fail(column, "", "a non-empty value", fix)
        yield row


def _non_negative(row: Row, column: str) -> float:
    value = row.number(column)
    if value < 0:
        raise row.fail(column, value, "a number >= 0", "amounts and distances are not negative")
    return value


def _share(row: Row, column: str) -> float:
    value = row.number(column)
    if not 0.0 <= value <= 1.0:
        raise row.fail(column, value, "a share in [0, 1]", "write 0.25 for 25 %")
    return value


def _efficiency(row: Row, column: str) -> float:
    value = row.number(column)
    if not 0.0 < value <= 1.0:
        raise row.fail(column, value, "a yield in (0, 1]", "e.g. 0.9")
    return value


def _fate(row: Row) -> EndOfLifeRoute:
    shares = [_share(row, c) for c in ("landfill", "incineration", "recycling")]
    if abs(sum(shares) - 1.0) > _SHARE_TOLERANCE:
        raise row.fail(
            "recycling", sum(shares), "landfill + incineration + recycling = 1", "fix the shares"
        )
    return EndOfLifeRoute(
        row.text("category"),
        shares[0],
        shares[1],
        shares[2],
        row.identifier("landfill_process"),
        row.identifier("incineration_process"),
        _efficiency(row, "recycling_efficiency"),
        _efficiency(row, "feedstock_recycling_efficiency"),
        row.text("source"),
        row.identifier("bio_landfill_process"),
        row.identifier("bio_incineration_process"),
        _share(row, "bottom_ash_recovery"),
    )


def _cff(row: Row) -> CffCategory:
    a = row.number("a")
    if not 0.2 <= a <= 0.8:
        raise row.fail("a", a, "0.2 <= A <= 0.8 (PEF Annex I 4.4.8.1)", "take A from Annex C")
    return CffCategory(
        row.text("category"),
        a,
        _efficiency(row, "q_sin_qp"),
        _efficiency(row, "q_sout_qp"),
        _non_negative(row, "lhv_mj_kg"),
        _share(row, "x_er_heat"),
        _share(row, "x_er_elec"),
        row.text("source"),
    )
