"""From a ``model.Dataset`` to the entries of the technosphere and biosphere matrices.

Checks every exchange (ISO 14044 §4.2.3.6 data validation: units, missing
providers, negative masses), converts amounts to the provider's reference unit,
and keeps each entry's distribution in the ``stats_arrays`` parameterisation
that ``bw_processing`` and ``bw2calc`` use (lognormal ``loc = ln|median|``,
``scale = ln sigma_g``; normal ``loc``, ``scale = sd``; uniform and triangular
``minimum``/``maximum``, triangular mode ``loc``). Also finds the processes
that make a technosphere singular.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import bw_processing as bwp
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import splu

from mics.errors import InvalidInput
from mics.footprint.model import Dataset, Exchange, Uncertainty

# unit -> (dimension, size in the dimension's first unit); definitions, not data.
UNITS: Final[Mapping[str, tuple[str, float]]] = {
    "kg": ("mass", 1.0),
    "g": ("mass", 1e-3),
    "mg": ("mass", 1e-6),
    "t": ("mass", 1e3),
    "MJ": ("energy", 1.0),
    "GJ": ("energy", 1e3),
    "kWh": ("energy", 3.6),
    "Wh": ("energy", 3.6e-3),
    "t*km": ("transport", 1.0),
    "kg*km": ("transport", 1e-3),
    "m3": ("volume", 1.0),
    "l": ("volume", 1e-3),
    "m2": ("area", 1.0),
    "m2*a": ("land occupation", 1.0),
    "h": ("time", 1.0),
    "item": ("count", 1.0),
    "kBq": ("radioactivity", 1.0),
    "Bq": ("radioactivity", 1e-3),
}
# stats_arrays distribution ids
NONE, LOGNORMAL, NORMAL, UNIFORM, TRIANGULAR = 0, 2, 3, 4, 5
_IDS_ALL: Final = {
    "none": NONE,
    "lognormal": LOGNORMAL,
    "normal": NORMAL,
    "uniform": UNIFORM,
    "triangular": TRIANGULAR,
}

Array = npt.NDArray[np.float64]
GWP100_PARTS: Final = ("gwp100_fossil", "gwp100_biogenic", "gwp100_luc")


@dataclass(frozen=True, eq=False)
class MatrixEntries:
    """Matrix entries: ``value = sign * amount`` at ``(row, col)``, duplicates summed.

    ``amount`` is in the unit of the row (provider reference unit or flow unit);
    ``sign`` is -1 for technosphere inputs (bw_processing's ``flip``).
    ``scale`` is ``ln sigma_g`` (lognormal) or ``sd`` (normal); ``low``/``high`` bound
    uniform and triangular distributions.
    """

    rows: npt.NDArray[np.int64]
    cols: npt.NDArray[np.int64]
    amounts: Array
    signs: Array
    kinds: npt.NDArray[np.uint8]
    scale: Array
    low: Array
    high: Array

    @property
    def values(self) -> Array:
        return self.signs * self.amounts

    def distributions(self) -> npt.NDArray[np.void]:
        """The ``bw_processing`` uncertainty array (before the flip, as bw2calc samples it)."""
        out = np.zeros(len(self.amounts), dtype=bwp.UNCERTAINTY_DTYPE)
        lognormal = self.kinds == LOGNORMAL
        out["uncertainty_type"] = self.kinds
        out["loc"] = np.where(
            lognormal, np.log(np.abs(np.where(lognormal, self.amounts, 1.0))), self.amounts
        )
        out["scale"], out["shape"] = self.scale, np.nan
        out["minimum"], out["maximum"] = self.low, self.high
        out["negative"] = lognormal & (self.amounts < 0)
        return out


def read_entries(
    dataset: Dataset,
) -> tuple[dict[str, int], dict[str, int], MatrixEntries, MatrixEntries]:
    """Process and flow indices, then the technosphere and biosphere entries; bad data raises."""
    index: dict[str, int] = {}
    for k, process in enumerate(dataset.processes):
        if process.id in index:
            raise InvalidInput(
                f"process id {process.id!r} appears twice: the technosphere would not be square; "
                "give each process its own id",
                field=f"processes[{k}].id",
                value=process.id,
                expected="a unique id",
            )
        _unit(process.unit, f"processes[{k}].unit ({process.id})")
        index[process.id] = k
    flows: dict[str, int] = {}
    for k, flow in enumerate(dataset.flows):
        if flow.id in flows:
            raise InvalidInput(
                f"flow id {flow.id!r} appears twice", field=f"flows[{k}].id", value=flow.id
            )
        _unit(flow.unit, f"flows[{k}].unit ({flow.id})")
        flows[flow.id] = k
    n = len(index)
    tech: list[tuple[int, int, float, float, Uncertainty, float]] = [
        (j, j, 1.0, 1.0, Uncertainty(), 1.0) for j in range(n)
    ]
    bio: list[tuple[int, int, float, float, Uncertainty, float]] = []
    for k, exchange in enumerate(dataset.exchanges):
        where = f"exchanges[{k}] ({exchange.process} <- {exchange.input})"
        col = index.get(exchange.process)
        if col is None:
            raise InvalidInput(
                f"{where}: process {exchange.process!r} is not in dataset.processes",
                field=f"exchanges[{k}].process",
                value=exchange.process,
                expected="the id of a process in dataset.processes",
            )
        if not math.isfinite(exchange.amount):
            raise InvalidInput(
                f"{where}: amount must be finite",
                field=f"exchanges[{k}].amount",
                value=exchange.amount,
            )
        dimension, size = _unit(exchange.unit, f"exchanges[{k}].unit {where}")
        if dimension == "mass" and exchange.amount < 0:
            raise InvalidInput(
                f"{where}: negative mass {exchange.amount} {exchange.unit}; an input or emission "
                "is a positive amount (model a credit as its own process)",
                field=f"exchanges[{k}].amount",
                value=exchange.amount,
                expected=">= 0",
            )
        if exchange.kind == "technosphere":
            row, unit = _provider(exchange, k, where, index, flows, dataset)
        elif exchange.kind == "biosphere":
            if exchange.input not in flows:
                raise InvalidInput(
                    f"{where}: no elementary flow {exchange.input!r}; add it to dataset.flows "
                    "or use kind='technosphere' if it is a process",
                    field=f"exchanges[{k}].input",
                    value=exchange.input,
                    expected="a flow id",
                )
            row, unit = flows[exchange.input], dataset.flows[flows[exchange.input]].unit
        else:
            raise InvalidInput(
                f"{where}: unknown kind",
                field=f"exchanges[{k}].kind",
                value=exchange.kind,
                expected="'technosphere' or 'biosphere'",
            )
        provider_dimension, provider_size = UNITS[unit]
        if provider_dimension != dimension:
            raise InvalidInput(
                f"{where}: unit {exchange.unit!r} ({dimension}) does not match "
                f"{exchange.input!r}'s unit {unit!r} ({provider_dimension}); "
                f"give the amount in {unit}",
                field=f"exchanges[{k}].unit",
                value=exchange.unit,
                expected=unit,
            )
        ratio = size / provider_size
        _check_uncertainty(exchange, k, where)
        if exchange.kind == "technosphere":
            if row == col and exchange.amount * ratio >= 1.0:
                raise InvalidInput(
                    f"{where}: the process consumes {exchange.amount * ratio} {unit} of its own "
                    f"product per {unit} made, so it makes nothing net (singular technosphere)",
                    field=f"exchanges[{k}].amount",
                    value=exchange.amount,
                    expected="< 1 reference unit",
                )
            tech.append((row, col, exchange.amount, -1.0, exchange.uncertainty, ratio))
        else:
            bio.append((row, col, exchange.amount, 1.0, exchange.uncertainty, ratio))
    if not bio:
        raise InvalidInput(
            "the dataset has no biosphere exchanges, so every score would be 0; add emissions "
            "or resource uses",
            field="exchanges",
            value=len(dataset.exchanges),
        )
    return index, flows, _entries(tech), _entries(bio)


def indicator_factors(
    dataset: Dataset, flows: Mapping[str, int]
) -> tuple[dict[str, dict[int, float]], dict[str, str], dict[str, tuple[str, ...]]]:
    factors: dict[str, dict[int, float]] = {}
    units: dict[str, str] = {}
    for k, cf in enumerate(dataset.factors):
        where = f"factors[{k}] ({cf.method}, {cf.flow})"
        if cf.flow not in flows:
            raise InvalidInput(
                f"{where}: flow {cf.flow!r} is not in dataset.flows; add the flow or fix its id",
                field=f"factors[{k}].flow",
                value=cf.flow,
                expected="a flow id of the dataset",
            )
        if not np.isfinite(cf.factor):
            raise InvalidInput(
                f"{where}: factor must be finite", field=f"factors[{k}].factor", value=cf.factor
            )
        if units.setdefault(cf.method, cf.unit) != cf.unit:
            raise InvalidInput(
                f"{where}: unit {cf.unit!r} differs from {units[cf.method]!r} "
                "used by the same indicator",
                field=f"factors[{k}].unit",
                value=cf.unit,
                expected=units[cf.method],
            )
        by_flow = factors.setdefault(cf.method, {})
        by_flow[flows[cf.flow]] = by_flow.get(flows[cf.flow], 0.0) + cf.factor
    present = tuple(m for m in GWP100_PARTS if m in factors)
    parts: dict[str, tuple[str, ...]] = {}
    if present and "gwp100" not in factors:
        if len({units[m] for m in present}) > 1:
            raise InvalidInput("gwp100 parts use different units", field="factors", value=present)
        total: dict[int, float] = {}
        for m in present:
            for flow, value in factors[m].items():
                total[flow] = total.get(flow, 0.0) + value
        factors["gwp100"], units["gwp100"], parts["gwp100"] = total, units[present[0]], present
    return factors, units, parts


def inventory_package(name: str, technosphere: MatrixEntries, biosphere: MatrixEntries) -> Any:
    package = bwp.create_datapackage(name=_package_name(name), sum_intra_duplicates=True)
    for matrix, entries in (("technosphere_matrix", technosphere), ("biosphere_matrix", biosphere)):
        indices = np.empty(len(entries.rows), dtype=bwp.INDICES_DTYPE)
        indices["row"], indices["col"] = entries.rows, entries.cols
        package.add_persistent_vector(
            matrix=matrix,
            name=matrix.removesuffix("_matrix"),
            indices_array=indices,
            data_array=entries.amounts,
            flip_array=entries.signs < 0,
            distributions_array=entries.distributions(),
        )
    return package


def method_package(method: str, by_flow: Mapping[int, float]) -> Any:
    package = bwp.create_datapackage(name=_package_name(method))
    indices = np.empty(len(by_flow), dtype=bwp.INDICES_DTYPE)
    indices["row"], indices["col"] = list(by_flow), 0
    package.add_persistent_vector(
        matrix="characterization_matrix",
        name=_package_name(method),
        indices_array=indices,
        data_array=np.array(list(by_flow.values()), dtype=np.float64),
    )
    return package


def _package_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return cleaned or "dataset"


def singular_processes(matrix: sp.spmatrix) -> list[int]:
    """Columns of the loops (strongly connected blocks) whose own sub-matrix is singular.

    A square technosphere is singular exactly when one of the diagonal blocks of its
    block-triangular form is, and those blocks are the loops of the supply graph.
    """
    csr = sp.csr_matrix(matrix)
    count, labels = connected_components(csr, directed=True, connection="strong")
    bad: list[int] = []
    for label in range(count):
        members = np.flatnonzero(labels == label)
        block = csr[members][:, members]
        try:
            pivots = np.abs(splu(sp.csc_matrix(block)).U.diagonal())
        except RuntimeError:
            bad.extend(int(j) for j in members)
            continue
        if pivots.min() == 0.0 or pivots.max() / pivots.min() > 1e14:
            bad.extend(int(j) for j in members)
    return bad


def _unit(unit: str, field: str) -> tuple[str, float]:
    if unit not in UNITS:
        raise InvalidInput(
            f"unknown unit {unit!r}; use one of {', '.join(UNITS)}",
            field=field,
            value=unit,
            expected="a unit the LCA engine knows",
        )
    return UNITS[unit]


def _provider(
    exchange: Exchange,
    k: int,
    where: str,
    index: Mapping[str, int],
    flows: Mapping[str, int],
    dataset: Dataset,
) -> tuple[int, str]:
    row = index.get(exchange.input)
    if row is None:
        hint = (
            "it is an elementary flow: set kind='biosphere'"
            if exchange.input in flows
            else "add a process with that id that supplies it, or fix the input id"
        )
        raise InvalidInput(
            f"{where}: missing provider: no process {exchange.input!r}; {hint}",
            field=f"exchanges[{k}].input",
            value=exchange.input,
            expected="a process id",
        )
    return row, dataset.processes[row].unit


def _check_uncertainty(exchange: Exchange, k: int, where: str) -> None:
    u, amount, field = exchange.uncertainty, exchange.amount, f"exchanges[{k}].uncertainty"
    problem = ""
    if u.distribution not in _IDS_ALL:
        problem = f"unknown distribution {u.distribution!r}; use one of {', '.join(_IDS_ALL)}"
    elif u.distribution == "lognormal" and not (
        u.sigma_g is not None and u.sigma_g > 1.0 and amount != 0
    ):
        problem = "lognormal needs sigma_g > 1 and a non-zero amount (its median)"
    elif u.distribution == "normal" and not (u.sd is not None and u.sd > 0.0):
        problem = "normal needs sd > 0"
    elif u.distribution in ("uniform", "triangular") and not (
        u.low is not None and u.high is not None and u.low <= amount <= u.high and u.low < u.high
    ):
        problem = f"{u.distribution} needs low <= amount <= high and low < high"
    if problem:
        raise InvalidInput(f"{where}: {problem}", field=field, value=repr(u), expected=problem)


def _entries(items: list[tuple[int, int, float, float, Uncertainty, float]]) -> MatrixEntries:
    count = len(items)
    rows, cols = np.empty(count, np.int64), np.empty(count, np.int64)
    amounts, signs, kinds = np.empty(count), np.empty(count), np.zeros(count, np.uint8)
    scale, low, high = np.full(count, np.nan), np.full(count, np.nan), np.full(count, np.nan)
    for k, (row, col, amount, sign, u, ratio) in enumerate(items):
        rows[k], cols[k], amounts[k], signs[k] = row, col, amount * ratio, sign
        kinds[k] = _IDS_ALL[u.distribution]
        if u.distribution == "lognormal" and u.sigma_g is not None:
            scale[k] = math.log(u.sigma_g)
        elif u.distribution == "normal" and u.sd is not None:
            scale[k] = u.sd * ratio
        elif u.low is not None and u.high is not None and kinds[k] in (UNIFORM, TRIANGULAR):
            low[k], high[k] = u.low * ratio, u.high * ratio
    return MatrixEntries(rows, cols, amounts, signs, kinds, scale, low, high)
