"""Load and check the shipped open life-cycle inventory (the CSV files in ``data/``).

Four files make one :class:`~mics.footprint.model.Dataset`: ``processes.csv``
(unit processes, one reference product each), ``flows.csv`` (elementary flows),
``exchanges.csv`` (inputs per reference unit, with uncertainty) and
``factors.csv`` (characterisation factors per impact method). ISO 14044:2006
§4.2.3.6 asks that data sources be documented, so every row must name its
``source``; ``data/README.md`` lists the sources and licences.

Every row is checked before anything is built, and the first broken value
raises :class:`mics.errors.InvalidInput` naming file, line, column, the value
received, what was expected and how to fix it.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import get_args

from mics.errors import InvalidInput
from mics.footprint.data_quality import (
    FACTOR_COLUMNS,
    QUALITY_COLUMNS,
    attach_quality,
    read_pedigree_factors,
)
from mics.footprint.model import (
    CharacterisationFactor,
    Dataset,
    Distribution,
    Exchange,
    ExchangeKind,
    Flow,
    Process,
    Uncertainty,
)

DATASET_NAME = "MICS open LCI"
UNITS = frozenset({"kg", "kWh", "MJ", "t*km", "m3", "m2", "item"})
INDICATOR_UNITS = frozenset({"kg CO2e", "MJ", "m3"})
CATEGORIES = frozenset({"energy", "transport", "material", "manufacturing", "end_of_life"})
COMPARTMENTS = frozenset({"air", "water", "soil", "resource"})
DISTRIBUTIONS: tuple[Distribution, ...] = get_args(Distribution)
KINDS: tuple[ExchangeKind, ...] = get_args(ExchangeKind)
_DISTRIBUTION_BY_NAME: Mapping[str, Distribution] = {d: d for d in DISTRIBUTIONS}

COLUMNS: Mapping[str, tuple[str, ...]] = {
    "processes.csv": ("id", "name", "unit", "location", "category", "source", "comment"),
    "flows.csv": ("id", "name", "unit", "compartment", "source"),
    "exchanges.csv": (
        "process",
        "input",
        "kind",
        "amount",
        "unit",
        "distribution",
        "sigma_g",
        "sd",
        "low",
        "high",
        "source",
        "comment",
    ),
    "factors.csv": ("method", "flow", "factor", "unit", "source"),
    "exchange_quality.csv": QUALITY_COLUMNS,
    "pedigree_factors.csv": FACTOR_COLUMNS,
    "bio_based.csv": ("process", "biobased_carbon_content", "method", "source"),
}
# Optional: without exchange_quality.csv (an inventory of your own) exchanges carry no
# quality line; with it, pedigree_factors.csv is required. bio_based.csv is read on its
# own (mics.footprint.bio_based).
OPTIONAL_FILES = ("exchange_quality.csv", "pedigree_factors.csv", "bio_based.csv")
OPTIONAL = frozenset(
    {"comment", "sigma_g", "sd", "low", "high", "checked", "note", *QUALITY_COLUMNS[3:8]}
)
_ID = re.compile(r"^[a-z0-9][a-z0-9_]*$")


@dataclass(frozen=True)
class Row:
    """One data line of a CSV file, remembering where it came from for error messages."""

    file: str
    line: int
    values: Mapping[str, str]

    def fail(self, column: str, value: object, expected: str, fix: str) -> InvalidInput:
        where = f"{self.file} line {self.line}, column '{column}'"
        return InvalidInput(
            f"{where}: got {value!r}, expected {expected}; {fix}",
            field=where,
            value=value,
            expected=expected,
            file=self.file,
            line=self.line,
            column=column,
        )

    def text(self, column: str) -> str:
        return self.values.get(column, "").strip()

    def identifier(self, column: str) -> str:
        value = self.text(column)
        if not _ID.match(value):
            raise self.fail(
                column,
                value,
                "a lower-case id of letters, digits and underscores",
                "rename it, e.g. 'steel_eaf'",
            )
        return value

    def choice(self, column: str, allowed: frozenset[str] | tuple[str, ...]) -> str:
        value = self.text(column)
        if value not in allowed:
            raise self.fail(
                column,
                value,
                f"one of {sorted(allowed)}",
                "use one of the listed values (units and categories are a fixed list)",
            )
        return value

    def number(self, column: str) -> float:
        raw = self.text(column)
        try:
            value = float(raw)
        except ValueError:
            raise self.fail(
                column, raw, "a decimal number", "write it with a '.' decimal point, e.g. 0.25"
            ) from None
        if not math.isfinite(value):
            raise self.fail(column, raw, "a finite number", "replace nan/inf with a real value")
        return value

    def optional_number(self, column: str) -> float | None:
        return None if self.text(column) == "" else self.number(column)


def load_dataset(path: Traversable | str | None = None) -> Dataset:
    """The inventory in folder ``path`` (default: the data shipped in this package), checked."""
    folder: Traversable
    if path is None:
        folder = files("mics.footprint").joinpath("data")
    elif isinstance(path, str):
        folder = Path(path)
    else:
        folder = path
    process_rows = tuple(_process(row) for row in _rows(folder, "processes.csv"))
    flow_rows = tuple(_flow(row) for row in _rows(folder, "flows.csv"))
    process_units = _unique(process_rows)
    flow_units = _unique(flow_rows)
    exchanges = _exchanges(_rows(folder, "exchanges.csv"), process_units, flow_units)
    factors = _factors(_rows(folder, "factors.csv"), flow_units)
    if folder.joinpath("exchange_quality.csv").is_file():
        variances = read_pedigree_factors(_rows(folder, "pedigree_factors.csv"))
        exchanges = attach_quality(exchanges, _rows(folder, "exchange_quality.csv"), variances)
    return Dataset(
        name=DATASET_NAME,
        processes=tuple(process for _, process in process_rows),
        flows=tuple(flow for _, flow in flow_rows),
        exchanges=exchanges,
        factors=factors,
    )


def rows(name: str) -> Iterator[Row]:
    """The checked rows of one shipped data file (columns and required cells checked)."""
    return _rows(files("mics.footprint").joinpath("data"), name)


def _rows(folder: Traversable, name: str) -> Iterator[Row]:
    source = folder.joinpath(name)
    if not source.is_file():
        raise InvalidInput(
            f"{name}: file is missing from {folder}; expected the files {sorted(COLUMNS)} "
            f"({', '.join(OPTIONAL_FILES)} optional, the second needed with the first); "
            "copy them from the package data folder",
            field=name,
            value=str(folder),
            expected="an existing CSV file",
        )
    reader = csv.DictReader(io.StringIO(source.read_text(encoding="utf-8")))
    header = reader.fieldnames or []
    for column in COLUMNS[name]:
        if column not in header:
            raise Row(name, 1, {}).fail(
                column, None, f"a header with columns {list(COLUMNS[name])}", "add the column"
            )
    for values in reader:
        row = Row(name, reader.line_num, {k: v or "" for k, v in values.items() if k})
        for column in COLUMNS[name]:
            if column not in OPTIONAL and row.text(column) == "":
                fix = (
                    "name the publication, year and table or page the figure comes from"
                    if column == "source"
                    else "fill it in"
                )
                raise row.fail(column, "", "a non-empty value", fix)
        yield row


def _process(row: Row) -> tuple[Row, Process]:
    return row, Process(
        id=row.identifier("id"),
        name=row.text("name"),
        unit=row.choice("unit", UNITS),
        location=row.text("location"),
        category=row.choice("category", CATEGORIES),
        source=row.text("source"),
        comment=row.text("comment"),
    )


def _flow(row: Row) -> tuple[Row, Flow]:
    return row, Flow(
        id=row.identifier("id"),
        name=row.text("name"),
        unit=row.choice("unit", UNITS),
        compartment=row.choice("compartment", COMPARTMENTS),
    )


def _unique(
    items: tuple[tuple[Row, Process], ...] | tuple[tuple[Row, Flow], ...],
) -> dict[str, str]:
    """Reference unit by id, refusing an id used twice."""
    units: dict[str, str] = {}
    first: dict[str, int] = {}
    for row, item in items:
        if item.id in units:
            raise row.fail(
                "id",
                item.id,
                f"an id not used before (line {first[item.id]} has it)",
                "give the row a unique id",
            )
        units[item.id] = item.unit
        first[item.id] = row.line
    return units


def _exchanges(
    rows: Iterator[Row], process_units: Mapping[str, str], flow_units: Mapping[str, str]
) -> tuple[Exchange, ...]:
    exchanges: list[Exchange] = []
    seen: set[tuple[str, str]] = set()
    for row in rows:
        process = row.text("process")
        if process not in process_units:
            raise row.fail(
                "process", process, "an id from processes.csv", "add the process or fix the id"
            )
        kind = row.choice("kind", KINDS)
        target = row.text("input")
        if kind == "technosphere":
            if target not in process_units:
                raise row.fail(
                    "input",
                    target,
                    "a provider id from processes.csv",
                    "add the provider process or fix the id",
                )
            if target == process:
                raise row.fail(
                    "input", target, "a process other than itself", "fold self-use into amount"
                )
            unit = process_units[target]
        else:
            if target not in flow_units:
                raise row.fail(
                    "input", target, "a flow id from flows.csv", "add the flow or fix the id"
                )
            unit = flow_units[target]
        if row.text("unit") != unit:
            raise row.fail(
                "unit",
                row.text("unit"),
                f"'{unit}', the unit of '{target}'",
                "convert the amount to the provider's reference unit",
            )
        if (process, target) in seen:
            raise row.fail(
                "input", target, "one row per process and input", "merge the duplicate rows"
            )
        seen.add((process, target))
        amount = row.number("amount")
        exchanges.append(
            Exchange(
                process=process,
                input=target,
                kind="technosphere" if kind == "technosphere" else "biosphere",
                amount=amount,
                unit=unit,
                source=row.text("source"),
                uncertainty=_uncertainty(row, amount),
            )
        )
    return tuple(exchanges)


def _uncertainty(row: Row, amount: float) -> Uncertainty:
    """The distribution of one exchange, with only the parameters it needs, all consistent."""
    distribution = _DISTRIBUTION_BY_NAME[row.choice("distribution", DISTRIBUTIONS)]
    params = {c: row.optional_number(c) for c in ("sigma_g", "sd", "low", "high")}
    needed = {
        "none": (),
        "lognormal": ("sigma_g",),
        "normal": ("sd",),
        "triangular": ("low", "high"),
        "uniform": ("low", "high"),
    }[distribution]
    for column, value in params.items():
        if column in needed and value is None:
            raise row.fail(column, "", f"a number for a {distribution} distribution", "fill it in")
        if column not in needed and value is not None:
            raise row.fail(
                column, value, f"empty for a {distribution} distribution", "clear the cell"
            )
    sigma_g, sd, low, high = (params[c] for c in ("sigma_g", "sd", "low", "high"))
    if sigma_g is not None and sigma_g <= 1.0:
        raise row.fail("sigma_g", sigma_g, "a geometric standard deviation > 1", "e.g. 1.2")
    if distribution == "lognormal" and amount <= 0.0:
        raise row.fail("amount", amount, "> 0 for a lognormal distribution", "use normal")
    if sd is not None and sd <= 0.0:
        raise row.fail("sd", sd, "a standard deviation > 0", "use distribution none instead")
    if low is not None and high is not None and (not low <= amount <= high or low == high):
        raise row.fail(
            "low", low, f"low < high and low <= amount ({amount}) <= high ({high})", "fix bounds"
        )
    return Uncertainty(distribution=distribution, sigma_g=sigma_g, sd=sd, low=low, high=high)


def _factors(
    rows: Iterator[Row], flow_units: Mapping[str, str]
) -> tuple[CharacterisationFactor, ...]:
    factors: list[CharacterisationFactor] = []
    method_units: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    for row in rows:
        method = row.identifier("method")
        flow = row.text("flow")
        if flow not in flow_units:
            raise row.fail("flow", flow, "a flow id from flows.csv", "add the flow or fix the id")
        unit = row.choice("unit", INDICATOR_UNITS)
        if method_units.setdefault(method, unit) != unit:
            raise row.fail(
                "unit",
                unit,
                f"'{method_units[method]}' like the other rows of method '{method}'",
                "use one indicator unit per method",
            )
        if (method, flow) in seen:
            raise row.fail("flow", flow, "one factor per method and flow", "remove the duplicate")
        seen.add((method, flow))
        factors.append(
            CharacterisationFactor(
                method=method,
                flow=flow,
                factor=row.number("factor"),
                unit=unit,
                source=row.text("source"),
            )
        )
    return tuple(factors)
