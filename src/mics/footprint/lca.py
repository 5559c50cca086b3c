"""Matrix life-cycle assessment (ISO 14040/44; Heijungs & Suh 2002 matrix form).

For a demand vector ``f`` over the processes' reference products::

    A s = f        supply (activity levels), A = technosphere
    g  = B s       life-cycle inventory, B = biosphere (flows x processes)
    h  = c . g     impact score, c = characterisation factors of one indicator

``A`` has one column per process: ``1`` reference unit on the diagonal minus
the inputs it consumes. ``A``, ``B`` and every indicator's ``c`` are written as
``bw_processing`` datapackages and loaded into matrices by ``bw2calc`` (the
Brightway 2.5 calculator, used without ``bw2data``); ``LcaSystem.bw2calc_lca``
returns the plain Brightway calculation for the same data.

Scores use the adjoint (dual) system instead of one solve per product: since
``h = c B A^-1 f = (A^-T B^T c) . f``, solving ``A^T lam = B^T c`` once per
indicator makes every later score a dot product ``lam . f``. ``lam[j]`` is the
cradle-to-gate impact of one unit of process ``j``'s product. One SuperLU
factorisation of ``A^T`` (the orientation ``bw2calc.utils.lu_solver`` uses,
far less fill-in than ``A``) serves both the supply ``A s = f`` (``trans="T"``)
and the adjoint solve. Indicators ``gwp100_fossil``, ``gwp100_biogenic`` and
``gwp100_luc`` are summed into ``gwp100`` when the dataset has no ``gwp100``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.linalg import SuperLU, splu

from mics.errors import InvalidInput
from mics.footprint.matrices import (
    MatrixEntries,
    indicator_factors,
    inventory_package,
    method_package,
    read_entries,
    singular_processes,
)
from mics.footprint.model import Dataset, Process
from mics.runtime import blas

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # bw2calc warns at import when pypardiso is absent
    import bw2calc

Array = npt.NDArray[np.float64]
# Largest ratio between the U-factor pivots before the technosphere counts as singular.
_PIVOT_RATIO = 1e14


@dataclass(frozen=True)
class IndicatorScore:
    """One indicator's score; ``parts`` lists the indicators a composite sums."""

    method: str
    value: float
    unit: str
    parts: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProcessContribution:
    """Impact emitted directly by one process at its activity level in the supply."""

    process: str
    name: str
    activity: float
    unit: str
    direct: float
    share: float


@dataclass(frozen=True)
class ContributionNode:
    """``amount`` of a process's product with its own (direct) and cradle-to-gate impact."""

    process: str
    name: str
    amount: float
    unit: str
    direct: float
    total: float
    share: float
    children: tuple[ContributionNode, ...]


@dataclass(frozen=True)
class Contributions:
    """Direct contributions (largest first, above the cut-off) and the upstream tree."""

    method: str
    unit: str
    total: float
    cutoff: float
    direct: tuple[ProcessContribution, ...]
    other_direct: float  # sum of the direct contributions below the cut-off
    tree: tuple[ContributionNode, ...]  # one root per demanded process


@dataclass(frozen=True, eq=False)
class LcaSystem:
    """A compiled dataset: matrices, indices, one factorisation and the adjoint vectors."""

    name: str
    processes: tuple[Process, ...]  # in matrix order
    index: Mapping[str, int]  # process id -> row and column of A
    flow_rows: Mapping[str, int]  # flow id -> row of B (flows that some exchange uses)
    technosphere: sp.csr_matrix
    biosphere: sp.csr_matrix
    characterisation: Mapping[str, Array]  # indicator -> c over the rows of B
    units: Mapping[str, str]
    parts: Mapping[str, tuple[str, ...]]
    entries: tuple[MatrixEntries, MatrixEntries]  # A and B entries, rows and columns as in A, B
    datapackages: Mapping[str, Any]  # "inventory" and one per indicator
    factorisation: SuperLU  # of A^T
    adjoint: Mapping[str, Array]  # indicator -> lam = A^-T B^T c

    @property
    def methods(self) -> tuple[str, ...]:
        return tuple(sorted(self.characterisation))

    def demand_vector(self, demand: Mapping[str, float]) -> Array:
        """``f``: the demand as a dense vector; unknown ids and bad amounts raise."""
        rows, amounts = self.demand_entries(demand)
        vector = np.zeros(len(self.processes))
        np.add.at(vector, rows, amounts)
        return vector

    def demand_entries(self, demand: Mapping[str, float]) -> tuple[npt.NDArray[np.intp], Array]:
        """The demand's rows in ``f`` and their amounts, checked as ``demand_vector`` checks.

        A score is ``lam . f``, and ``f`` is zero but for these rows: reading them straight
        from the adjoint vector costs a few entries, not a vector of every process
        (a dot product that BLAS spreads over busy cores: ``mics.runtime.blas``).
        """
        if not demand:
            raise InvalidInput(
                "the demand is empty", field="demand", value={}, expected="{process id: amount}"
            )
        rows = np.empty(len(demand), dtype=np.intp)
        amounts = np.empty(len(demand))
        for k, (process, amount) in enumerate(demand.items()):
            if process not in self.index:
                raise InvalidInput(
                    f"no process {process!r} in dataset {self.name!r}; use one of its process ids",
                    field="demand",
                    value=process,
                    expected="a process id of the dataset",
                )
            if not np.isfinite(amount):
                raise InvalidInput(
                    f"amount for {process!r} must be a finite number",
                    field=f"demand[{process}]",
                    value=amount,
                    expected="a finite number of reference units",
                )
            rows[k], amounts[k] = self.index[process], amount
        return rows, amounts

    def supply(self, demand: Mapping[str, float]) -> Array:
        """``s = A^-1 f``: each process's activity level for the demand."""
        return np.asarray(self.factorisation.solve(self.demand_vector(demand), trans="T"))

    def inventory(self, demand: Mapping[str, float]) -> dict[str, float]:
        """``g = B s`` by flow id (emissions and resource uses of the whole life cycle)."""
        flows = self.biosphere @ self.supply(demand)
        return {flow: float(flows[row]) for flow, row in self.flow_rows.items()}

    def score(self, demand: Mapping[str, float], method: str) -> float:
        """``h = c B A^-1 f``, computed as ``lam . f`` with the indicator's adjoint vector
        (read at the demand's rows only, ``demand_entries``)."""
        rows, amounts = self.demand_entries(demand)
        return float(self.adjoint_vector(method)[rows] @ amounts)

    def scores_many(self, demands: Sequence[Mapping[str, float]], method: str) -> Array:
        """Scores of many demands: one adjoint vector, then its entries at each demand's rows."""
        lam = self.adjoint_vector(method)
        scores = np.empty(len(demands))
        for k, demand in enumerate(demands):
            rows, amounts = self.demand_entries(demand)
            scores[k] = lam[rows] @ amounts
        return scores

    def footprint(self, demand: Mapping[str, float]) -> tuple[IndicatorScore, ...]:
        """Every indicator's score for the demand, ``gwp100`` with its parts."""
        rows, amounts = self.demand_entries(demand)
        return tuple(
            IndicatorScore(
                m, float(self.adjoint[m][rows] @ amounts), self.units[m], self.parts.get(m, ())
            )
            for m in self.methods
        )

    def contributions(
        self,
        demand: Mapping[str, float],
        method: str,
        cutoff: float = 0.01,
        max_depth: int = 4,
    ) -> Contributions:
        """Which processes cause the score: directly, and through their supply chains.

        Processes and tree branches smaller than ``cutoff`` times the total are left
        out; ``max_depth`` bounds the tree, which loops would otherwise make infinite.
        """
        if not 0.0 <= cutoff < 1.0:
            raise InvalidInput(
                "not a share of the total",
                field="cutoff",
                value=cutoff,
                expected="0 <= cutoff < 1, e.g. 0.01 for 1 %",
            )
        if max_depth < 0:
            raise InvalidInput(
                "a tree has no negative depth", field="max_depth", value=max_depth, expected=">= 0"
            )
        lam, direct_unit = self.adjoint_vector(method), self._direct_impacts(method)
        activity = self.supply(demand)
        direct = activity * direct_unit
        total = float(self.score(demand, method))
        scale = abs(total) or float(np.abs(direct).sum()) or 1.0
        order = np.argsort(-np.abs(direct), kind="stable")
        kept = [j for j in order if abs(direct[j]) >= cutoff * scale and direct[j] != 0.0]
        listed = tuple(
            ProcessContribution(
                p.id, p.name, float(activity[j]), p.unit, float(direct[j]), float(direct[j] / scale)
            )
            for j in kept
            for p in (self.processes[j],)
        )
        columns = self.technosphere.tocsc()
        diagonal = columns.diagonal()

        def node(j: int, amount: float, depth: int) -> ContributionNode:
            level = amount / diagonal[j]
            children: list[ContributionNode] = []
            if depth < max_depth:
                start, end = columns.indptr[j], columns.indptr[j + 1]
                for i, a in zip(columns.indices[start:end], columns.data[start:end], strict=True):
                    if i != j and a < 0 and abs(level * a * lam[i]) >= cutoff * scale:
                        children.append(node(int(i), -level * a, depth + 1))
                children.sort(key=lambda child: -abs(child.total))
            p, cumulative = self.processes[j], amount * float(lam[j])
            return ContributionNode(
                p.id,
                p.name,
                amount,
                p.unit,
                level * float(direct_unit[j]),
                cumulative,
                cumulative / scale,
                tuple(children),
            )

        roots = tuple(node(self.index[p], float(a), 0) for p, a in demand.items())
        return Contributions(
            method,
            self.units[method],
            total,
            cutoff,
            listed,
            float(direct.sum() - sum(c.direct for c in listed)),
            roots,
        )

    def bw2calc_lca(
        self,
        demand: Mapping[str, float],
        method: str,
        *,
        use_distributions: bool = False,
        seed: int | None = None,
    ) -> Any:
        """A ``bw2calc.LCA`` on this system's datapackages, LCI and LCIA done (``.score``)."""
        self.adjoint_vector(method)
        self.demand_vector(demand)
        keys = {self.index[p]: float(a) for p, a in demand.items()}
        lca = bw2calc.LCA(
            keys,
            data_objs=[self.datapackages["inventory"], self.datapackages[method]],
            use_distributions=use_distributions,
            seed_override=seed,
        )
        lca.lci()
        lca.lcia()
        return lca

    def adjoint_vector(self, method: str) -> Array:
        """``lam = A^-T B^T c``: cradle-to-gate impact of one unit of each process's product."""
        if method not in self.adjoint:
            known = ", ".join(self.methods) or "none: add characterisation factors"
            raise InvalidInput(
                f"no indicator {method!r} in dataset {self.name!r}; use one of: {known}",
                field="method",
                value=method,
                expected=known,
            )
        return self.adjoint[method]

    def _direct_impacts(self, method: str) -> Array:
        """``B^T c``: each process's own impact per unit of activity."""
        return np.asarray(self.biosphere.T @ self.characterisation[method])


def compile_system(dataset: Dataset) -> LcaSystem:
    """Check the dataset, build its datapackages and matrices, and factorise ``A`` once."""
    index, flows, technosphere, biosphere = read_entries(dataset)
    n = len(dataset.processes)
    factors, units, parts = indicator_factors(dataset, flows)
    packages: dict[str, Any] = {
        "inventory": inventory_package(dataset.name, technosphere, biosphere)
    }
    for method, by_flow in factors.items():
        packages[method] = method_package(method, by_flow)
    lca = bw2calc.LCA({0: 1.0}, data_objs=[packages["inventory"]])
    try:
        lca.load_lci_data()
    except bw2calc.errors.NonsquareTechnosphere as error:  # pragma: no cover - ids are unique
        raise InvalidInput(str(error), field="processes", expected="one process per id") from None
    order = np.array([lca.dicts.activity[j] for j in range(n)])
    a_matrix = sp.csr_matrix(lca.technosphere_matrix)[order][:, order]
    b_matrix = sp.csr_matrix(lca.biosphere_matrix)[:, order]
    flow_rows = {f: lca.dicts.biosphere[k] for f, k in flows.items() if k in lca.dicts.biosphere}
    # Monte Carlo samples the entries straight into B, whose rows are the flows in use.
    row_of_flow = np.full(len(flows), -1, dtype=np.int64)
    row_of_flow[[flows[f] for f in flow_rows]] = list(flow_rows.values())
    biosphere = replace(biosphere, rows=row_of_flow[biosphere.rows])
    characterisation: dict[str, Array] = {}
    for method, by_flow in factors.items():
        if any(k in lca.dicts.biosphere for k in by_flow):
            lca.load_lcia_data(data_objs=[packages[method]])
            characterisation[method] = np.asarray(lca.characterization_matrix.diagonal())
        else:
            characterisation[method] = np.zeros(b_matrix.shape[0])
    with blas.one_thread():  # SuperLU's dense kernels on vector-sized blocks
        factorisation = _factorise(a_matrix, dataset.processes)
        adjoint = {
            m: np.asarray(factorisation.solve(np.asarray(b_matrix.T @ c)))
            for m, c in characterisation.items()
        }
    if not all(np.isfinite(lam).all() for lam in adjoint.values()):
        _raise_singular(a_matrix, dataset.processes)
    return LcaSystem(
        dataset.name,
        dataset.processes,
        index,
        flow_rows,
        a_matrix,
        b_matrix,
        characterisation,
        units,
        parts,
        (technosphere, biosphere),
        packages,
        factorisation,
        adjoint,
    )


def _factorise(matrix: sp.csr_matrix, processes: Sequence[Process]) -> SuperLU:
    try:
        lu = splu(sp.csc_matrix(matrix.T))
    except RuntimeError:  # SuperLU: "Factor is exactly singular"
        _raise_singular(matrix, processes)
    pivots = np.abs(lu.U.diagonal())
    if pivots.size and (pivots.min() == 0.0 or pivots.max() / pivots.min() > _PIVOT_RATIO):
        _raise_singular(matrix, processes)
    return lu


def _raise_singular(matrix: sp.csr_matrix, processes: Sequence[Process]) -> Any:
    names = [processes[j].id for j in singular_processes(matrix)]
    shown = ", ".join(repr(p) for p in names[:10]) + (" ..." if len(names) > 10 else "")
    raise InvalidInput(
        "the technosphere matrix is singular: a loop of processes "
        f"({shown or 'not isolated'}) consumes at least as much of its own products as it makes; "
        "check the amounts and units of the exchanges inside that loop",
        field="exchanges",
        value=names[:10],
        expected="loops that return less than one unit per unit made",
    )
