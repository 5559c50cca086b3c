"""Data quality of the inventory: where each figure was checked, pedigree scores, wider spreads.

``exchange_quality.csv`` has one line per row of ``exchanges.csv`` (``process`` and
``input`` name the row). ``checked`` is the exact place in the cited source (table,
page, section) where the figure was read, empty when nobody checked it. The five
pedigree scores (1 best .. 5 worst; Weidema & Wesnaes 1996, J. Cleaner Prod.
4(3-4):167-174, and the ecoinvent 3 data quality guideline, Weidema et al. 2013
§10.2) are required for an unchecked row and allowed for a checked one.

**Wider uncertainty from the pedigree.** A scored row's lognormal spread becomes
``sigma_g = exp(sqrt(ln(sigma_b)^2 + sum of the five pedigree variances))`` (the
ecoinvent 3 approach, guideline §10.2, with the empirically based variances of Ciroth,
Muller, Weidema & Lesage 2016, Int. J. LCA 21:1338-1348, in ``pedigree_factors.csv``).
The basic uncertainty ``sigma_b`` is the row's own ``sigma_g`` (an exact row,
distribution ``none``, has none, so only the pedigree spreads it). Normal, triangular
and uniform rows keep their stated bounds.

**Checked share of a footprint** (:func:`checked_share`), a contribution analysis of the
point value (ISO 14044 §4.5.3.1). The product's demand ``f`` (bill of materials x yields,
transport legs, use-phase energy, end-of-life shares) is the product's own description
and is taken as given; the supply is ``s = A^-1 f`` and every biosphere row contributes
``s[p] * b * c_flow`` to the total ``c B A^-1 f``.

- ``data_quality`` (``chain=False``): the summed contributions of the biosphere rows
  whose figure was checked, divided by the total: the share of the GWP *emitted* by
  checked figures. The technosphere amounts upstream (e.g. kWh per m2 of leather) may
  still be estimates.
- ``data_quality_chain`` (``chain=True``): the supply is followed through checked
  technosphere rows only, ``(I - A_checked) s_c = f``, and only checked biosphere rows
  count: the share whose every figure from the product to the emission was read in its
  source (a lower bound of the first).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from mics.errors import InvalidInput
from mics.footprint.model import Dataset, Exchange, ExchangeQuality, Uncertainty

if TYPE_CHECKING:
    from mics.footprint.dataset import Row
    from mics.footprint.lca import LcaSystem

PEDIGREE: Final = ("reliability", "completeness", "temporal", "geographical", "technological")
QUALITY_COLUMNS: Final = ("process", "input", "checked", *PEDIGREE, "note")
FACTOR_COLUMNS: Final = ("indicator", "score", "variance", "source")
UNVERIFIED: Final = "(unverified)"

PedigreeVariances = Mapping[str, tuple[float, ...]]  # indicator -> variance of ln, score 1..5


def read_pedigree_factors(rows: Iterable[Row]) -> PedigreeVariances:
    """The variance of ln added by each score of each indicator; all 25 cells required."""
    cells: dict[tuple[str, int], float] = {}
    last: Row | None = None
    for row in rows:
        last = row
        indicator = row.choice("indicator", PEDIGREE)
        score = _score(row, "score")
        if (indicator, score) in cells:
            raise row.fail("score", score, "one line per indicator and score", "remove one")
        variance = row.number("variance")
        if variance < 0:
            raise row.fail("variance", variance, "a variance >= 0", "fix the figure")
        cells[(indicator, score)] = variance
    for indicator in PEDIGREE:
        for score in range(1, 6):
            if (indicator, score) not in cells:
                where = last.file if last is not None else "pedigree_factors.csv"
                raise InvalidInput(
                    f"{where}: no variance for {indicator} score {score}; "
                    "expected 25 lines, five scores for each of the five indicators",
                    field=where,
                    value=f"{indicator},{score}",
                    expected="a line for every indicator and score 1..5",
                )
    return {i: tuple(cells[(i, s)] for s in range(1, 6)) for i in PEDIGREE}


def attach_quality(
    exchanges: tuple[Exchange, ...], rows: Iterable[Row], variances: PedigreeVariances
) -> tuple[Exchange, ...]:
    """``exchanges`` with their quality lines attached and scored spreads widened.

    Every exchange needs exactly one line; a line must name an exchange; a checked
    row's source may no longer say "(unverified)".
    """
    by_row = {(e.process, e.input): e for e in exchanges}
    found: dict[tuple[str, str], ExchangeQuality] = {}
    for row in rows:
        key = (row.text("process"), row.text("input"))
        if key not in by_row:
            raise row.fail(
                "input",
                f"{key[0]},{key[1]}",
                "the process and input of a row of exchanges.csv",
                "fix the ids or remove the line",
            )
        if key in found:
            raise row.fail("input", key[1], "one quality line per exchange", "merge the lines")
        quality = _quality(row)
        if quality.checked and UNVERIFIED in by_row[key].source:
            raise row.fail(
                "checked",
                quality.checked,
                f"empty while exchanges.csv still says {UNVERIFIED!r} for {key[0]} <- {key[1]}",
                "remove '(unverified)' from the row's source and name where it was read",
            )
        found[key] = quality
    missing = [k for k in by_row if k not in found]
    if missing:
        process, flow = missing[0]
        raise InvalidInput(
            f"exchange_quality.csv: no line for exchanges.csv row {process} <- {flow} "
            f"({len(missing)} rows without one); add 'process,input,checked,...' for each",
            field="exchange_quality.csv",
            value=f"{process},{flow}",
            expected="one quality line per exchange row",
        )
    attached = []
    for e in exchanges:
        quality = found[(e.process, e.input)]
        attached.append(replace(e, quality=quality, uncertainty=widened(e, quality, variances)))
    return tuple(attached)


def widened(
    exchange: Exchange, quality: ExchangeQuality, variances: PedigreeVariances
) -> Uncertainty:
    """The exchange's distribution, spread by its pedigree scores (none: unchanged)."""
    u = exchange.uncertainty
    if quality.reliability is None or u.distribution not in ("lognormal", "none"):
        return u
    extra = math.fsum(
        variances[indicator][score - 1]
        for indicator, score in zip(PEDIGREE, quality.scores, strict=True)
        if score is not None
    )
    basic = math.log(u.sigma_g) ** 2 if u.sigma_g is not None else 0.0
    if extra == 0.0 or exchange.amount == 0.0:
        return u
    return Uncertainty(distribution="lognormal", sigma_g=math.exp(math.sqrt(basic + extra)))


def checked_share(
    dataset: Dataset,
    system: LcaSystem,
    demand: Mapping[str, float],
    method: str,
    *,
    chain: bool = False,
) -> float:
    """Share of the demand's ``method`` score from checked rows (module docstring), 0..1."""
    total = system.score(demand, method)
    if total <= 0.0:
        return 0.0
    supply = _checked_supply(dataset, system, demand) if chain else system.supply(demand)
    factors = system.characterisation[method]
    checked = math.fsum(
        float(supply[system.index[e.process]])
        * e.amount
        * float(factors[system.flow_rows[e.input]])
        for e in dataset.exchanges
        if e.kind == "biosphere" and _is_checked(e) and e.input in system.flow_rows
    )
    return min(1.0, max(0.0, checked / total))


def _checked_supply(
    dataset: Dataset, system: LcaSystem, demand: Mapping[str, float]
) -> npt.NDArray[np.float64]:
    """Supply through checked technosphere rows only: ``(I - A_checked) s = f``.

    Only the demanded processes and those joined by a checked row can be reached, so the
    system solved is that small one (a few dozen processes even in a merged ecoinvent).
    """
    links = [e for e in dataset.exchanges if e.kind == "technosphere" and _is_checked(e)]
    nodes = sorted({*demand, *(e.process for e in links), *(e.input for e in links)})
    local = {process: k for k, process in enumerate(nodes)}
    n = len(nodes)
    rows, cols, values = list(range(n)), list(range(n)), [1.0] * n
    for e in links:
        rows.append(local[e.input])
        cols.append(local[e.process])
        values.append(-e.amount)
    technosphere = sp.csc_matrix((values, (rows, cols)), shape=(n, n))
    f = np.array([demand.get(process, 0.0) for process in nodes])
    solved = np.atleast_1d(np.asarray(spsolve(technosphere, f), dtype=float))
    supply = np.zeros(len(system.processes))
    for process, k in local.items():
        supply[system.index[process]] = solved[k]
    return supply


def _is_checked(exchange: Exchange) -> bool:
    return exchange.quality is not None and exchange.quality.checked != ""


def _quality(row: Row) -> ExchangeQuality:
    scores = {c: None if row.text(c) == "" else _score(row, c) for c in PEDIGREE}
    given = [c for c in PEDIGREE if scores[c] is not None]
    checked = row.text("checked")
    if given and len(given) < len(PEDIGREE):
        column = next(c for c in PEDIGREE if scores[c] is None)
        raise row.fail(column, "", "all five pedigree scores or none", "score every indicator")
    if not checked and not given:
        raise row.fail(
            "reliability",
            "",
            "pedigree scores 1..5 for a row whose figure was not checked",
            "check the figure in its source (fill 'checked') or score the five indicators",
        )
    return ExchangeQuality(
        checked,
        reliability=scores["reliability"],
        completeness=scores["completeness"],
        temporal=scores["temporal"],
        geographical=scores["geographical"],
        technological=scores["technological"],
        note=row.text("note"),
    )


def _score(row: Row, column: str) -> int:
    raw = row.text(column)
    if raw not in {"1", "2", "3", "4", "5"}:
        raise row.fail(column, raw, "a pedigree score 1, 2, 3, 4 or 5", "1 is best, 5 worst")
    return int(raw)
