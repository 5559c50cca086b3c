"""Monte Carlo uncertainty propagation for matrix LCA (ISO 14044 §4.4.5; ISO/TS 14071).

Each iteration draws every uncertain exchange of ``A`` and ``B`` from the same
distributions ``bw2calc.LCA(..., use_distributions=True)`` samples
(``stats_arrays``: lognormal ``exp(N(ln median, ln sigma_g))``, normal, uniform,
triangular), but in one vectorised draw: one standard-normal vector for the
lognormal and normal entries, one uniform vector for the uniform and triangular
ones (triangular by its inverse CDF). The values go into a fixed CSR structure
(a precomputed position map and ``np.bincount``), so the sparsity pattern is
built once.

The use phase is sampled too (:class:`UsePhase`): its energy per year and the
lifetime are lognormal around their point values, and a grid scenario's mean
intensity factor follows each sampled lifetime. Being linear, the score is the
fixed demand's score plus ``kWh/year x years x factor x`` the grid's sampled
score per kWh, both from the same matrix draw.

Only the score is needed, so each iteration solves the adjoint system
``A^T lam = B^T c`` once and scores every demand as ``lam . f``; comparing two
variants therefore uses the very same draws for both (common random numbers).
The solve does not refactorise: sampled matrices stay close to the
deterministic one, so BiCGSTAB (Jacobi preconditioner, started from the
deterministic ``lam``) converges in a few sparse products, and one correction
with the deterministic LU factors, ``delta = A0^-T (r - A^T lam)``, both
improves the solution and estimates its error (``|delta| / |lam|``, the check
``bw2calc.IterativeLCA`` uses). Until the estimate is below ``1e-9`` the
correction repeats; if it does not converge the iteration refactorises with
SuperLU, as it does throughout with ``refactorise=True``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.linalg import SuperLU, bicgstab, splu

from mics.errors import InvalidInput
from mics.footprint.lca import LcaSystem
from mics.footprint.matrices import LOGNORMAL, NORMAL, TRIANGULAR, UNIFORM, MatrixEntries
from mics.runtime import blas

Array = npt.NDArray[np.float64]
Index = npt.NDArray[np.intp]
_MAX_ERROR = 1e-9  # accepted relative error estimate of lam
_CORRECTIONS = 20  # corrections with the reference LU before refactorising
_BICGSTAB_RTOL, _BICGSTAB_MAXITER = 1e-10, 200


@dataclass(frozen=True, eq=False)
class MonteCarloResult:
    """Distribution of one demand's score; ``low``/``high`` are the 2.5 and 97.5 percentiles."""

    method: str
    unit: str
    iterations: int
    seed: int
    deterministic: float
    mean: float
    median: float
    sd: float
    low: float
    high: float
    samples: Array
    direct_solves: int  # iterations that had to refactorise
    sampled: tuple[str, ...] = ("exchanges",)  # what the iterations draw


@dataclass(frozen=True)
class UsePhase:
    """Use-phase electricity whose energy and lifetime Monte Carlo samples (lognormal)."""

    process: str  # the grid's dataset process
    kwh_per_year: float  # median
    lifetime_years: float  # median
    kwh_sigma_g: float
    lifetime_sigma_g: float
    mean_factor: Callable[[Array], Array] | None = None  # grid scenario over sampled lifetimes

    def kwh(self, rng: np.random.Generator, iterations: int) -> Array:
        """Sampled kWh over the sampled lifetimes, times the scenario's mean factor."""
        z = rng.standard_normal((2, iterations))
        per_year = self.kwh_per_year * np.exp(np.log(self.kwh_sigma_g) * z[0])
        years = self.lifetime_years * np.exp(np.log(self.lifetime_sigma_g) * z[1])
        factor = self.mean_factor(years) if self.mean_factor is not None else 1.0
        return np.asarray(per_year * years * factor, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class Comparison:
    """``variant - baseline`` under shared draws; significant when the 95 % interval excludes 0."""

    baseline: MonteCarloResult
    variant: MonteCarloResult
    mean: float
    median: float
    low: float
    high: float
    significant: bool
    probability_lower: float  # share of iterations in which the variant scores lower
    deltas: Array


@dataclass(frozen=True, eq=False)
class ExchangeSampler:
    """Draws all uncertain entries of some matrices at once (matrix signs included)."""

    base: Array
    lognormal: Index
    normal: Index
    uniform: Index
    triangular: Index
    sign: Array  # per entry: matrix sign times the sign of a negative lognormal median
    location: Array  # per entry: ln|median|, mean, or mode
    scale: Array
    low: Array
    high: Array

    @classmethod
    def of(cls, *entries: MatrixEntries) -> ExchangeSampler:
        kinds = np.concatenate([e.kinds for e in entries])
        amounts = np.concatenate([e.amounts for e in entries])
        signs = np.concatenate([e.signs for e in entries])
        lognormal = np.flatnonzero(kinds == LOGNORMAL)
        location = amounts.copy()
        location[lognormal] = np.log(np.abs(amounts[lognormal]))
        sign = signs * np.where((kinds == LOGNORMAL) & (amounts < 0), -1.0, 1.0)
        return cls(
            signs * amounts,
            lognormal,
            np.flatnonzero(kinds == NORMAL),
            np.flatnonzero(kinds == UNIFORM),
            np.flatnonzero(kinds == TRIANGULAR),
            sign,
            location,
            np.concatenate([e.scale for e in entries]),
            np.concatenate([e.low for e in entries]),
            np.concatenate([e.high for e in entries]),
        )

    def draw(self, rng: np.random.Generator) -> Array:
        values = self.base.copy()
        logn, norm, unif, tri = self.lognormal, self.normal, self.uniform, self.triangular
        z = rng.standard_normal(len(logn) + len(norm))
        values[logn] = self.sign[logn] * np.exp(
            self.location[logn] + self.scale[logn] * z[: len(logn)]
        )
        values[norm] = self.sign[norm] * (self.location[norm] + self.scale[norm] * z[len(logn) :])
        u = rng.random(len(unif) + len(tri))
        low, high = self.low[unif], self.high[unif]
        values[unif] = self.sign[unif] * (low + (high - low) * u[: len(unif)])
        a, c, b, p = self.low[tri], self.location[tri], self.high[tri], u[len(unif) :]
        left = p * (b - a) < (c - a)
        x = np.where(
            left, a + np.sqrt(p * (b - a) * (c - a)), b - np.sqrt((1 - p) * (b - a) * (b - c))
        )
        values[tri] = self.sign[tri] * x
        return values


@dataclass(frozen=True, eq=False)
class _Pattern:
    """A CSR structure fixed once; ``matrix(values)`` sums entries into it."""

    positions: Index
    indices: npt.NDArray[np.int64]
    indptr: npt.NDArray[np.int64]
    shape: tuple[int, int]

    @classmethod
    def of(cls, entries: MatrixEntries, shape: tuple[int, int]) -> _Pattern:
        unique, positions = np.unique(entries.rows * shape[1] + entries.cols, return_inverse=True)
        indptr = np.zeros(shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(unique // shape[1], minlength=shape[0]), out=indptr[1:])
        return cls(positions, unique % shape[1], indptr, shape)

    def matrix(self, values: Array) -> sp.csr_matrix:
        data = np.bincount(self.positions, weights=values, minlength=len(self.indices))
        return sp.csr_matrix((data, self.indices, self.indptr), shape=self.shape)


def sample_scores(
    system: LcaSystem,
    demands: Sequence[Mapping[str, float]],
    method: str,
    *,
    iterations: int,
    seed: int,
    refactorise: bool = False,
) -> tuple[npt.NDArray[np.float64], int]:
    """Scores of each demand in each iteration (``iterations x len(demands)``), direct solves."""
    if iterations < 2:
        raise InvalidInput(
            "at least 2 iterations are needed",
            field="iterations",
            value=iterations,
            expected=">= 2",
        )
    reference_lam = system.adjoint_vector(method)
    if not demands:
        raise InvalidInput("no demands given", field="demands", value=[], expected="1 or more")
    demand_rows = sp.csr_matrix(np.array([system.demand_vector(d) for d in demands]))
    technosphere, biosphere = system.entries
    n = len(system.processes)
    patterns = (_Pattern.of(technosphere, (n, n)), _Pattern.of(biosphere, system.biosphere.shape))
    split = len(technosphere.amounts)
    sampler = ExchangeSampler.of(technosphere, biosphere)
    c = system.characterisation[method]
    rng = np.random.default_rng(seed)
    scores = np.empty((iterations, len(demands)))
    direct = 0
    with blas.one_thread():  # the solves' dot products and norms are vector-sized
        for k in range(iterations):
            values = sampler.draw(rng)
            a_matrix = patterns[0].matrix(values[:split])
            rhs = np.asarray(patterns[1].matrix(values[split:]).T @ c)
            lam, refactorised = _adjoint(
                a_matrix, rhs, system.factorisation, reference_lam, refactorise
            )
            direct += refactorised
            scores[k] = demand_rows @ lam
    return scores, direct


def monte_carlo(
    system: LcaSystem,
    demand: Mapping[str, float],
    method: str,
    *,
    iterations: int = 1000,
    seed: int = 0,
    refactorise: bool = False,
    use: UsePhase | None = None,
    total: Mapping[str, float] | None = None,
) -> MonteCarloResult:
    """Seeded Monte Carlo of one demand's score: same seed, same samples.

    With ``use``, ``demand`` is everything but the use phase, which is added
    per iteration from its own sampled energy and lifetime; ``total`` (the
    whole demand) then gives the point value.
    """
    if use is None:
        scores, direct = sample_scores(
            system, [demand], method, iterations=iterations, seed=seed, refactorise=refactorise
        )
        return _summary(system, demand, method, scores[:, 0], seed, direct)
    scores, direct = sample_scores(
        system,
        [demand, {use.process: 1.0}],
        method,
        iterations=iterations,
        seed=seed,
        refactorise=refactorise,
    )
    kwh = use.kwh(np.random.default_rng([seed, 1]), iterations)
    samples = scores[:, 0] + kwh * scores[:, 1]
    sampled: tuple[str, ...] = ("exchanges", "use-phase energy", "lifetime")
    if use.mean_factor is not None:
        sampled += ("grid scenario over the sampled lifetime",)
    return _summary(system, total or demand, method, samples, seed, direct, sampled)


def compare(
    system: LcaSystem,
    baseline: Mapping[str, float],
    variant: Mapping[str, float],
    method: str,
    *,
    iterations: int = 1000,
    seed: int = 0,
) -> Comparison:
    """Variant minus baseline with common random numbers (both scored on every draw).

    Shared draws cancel the uncertainty the two have in common (the same steel, the
    same grid), so a real difference shows with far fewer iterations than two
    independent runs would need.
    """
    scores, direct = sample_scores(
        system, [baseline, variant], method, iterations=iterations, seed=seed
    )
    deltas = scores[:, 1] - scores[:, 0]
    low, high = (float(v) for v in np.percentile(deltas, [2.5, 97.5]))
    return Comparison(
        _summary(system, baseline, method, scores[:, 0], seed, direct),
        _summary(system, variant, method, scores[:, 1], seed, direct),
        float(deltas.mean()),
        float(np.median(deltas)),
        low,
        high,
        low > 0.0 or high < 0.0,
        float(np.mean(deltas < 0.0)),
        deltas,
    )


def _adjoint(
    a_matrix: sp.csr_matrix, rhs: Array, reference: SuperLU, start: Array, refactorise: bool
) -> tuple[Array, bool]:
    """Solve ``A^T lam = rhs``; True when it had to factorise ``A``."""
    if not rhs.any():
        return np.zeros_like(rhs), False
    transposed = a_matrix.T  # CSC, sharing the CSR arrays
    if not refactorise:
        diagonal = a_matrix.diagonal()
        jacobi = None if np.all(diagonal == 1.0) else sp.diags(1.0 / diagonal)
        lam, _ = bicgstab(
            transposed, rhs, x0=start, rtol=_BICGSTAB_RTOL, maxiter=_BICGSTAB_MAXITER, M=jacobi
        )
        for _ in range(_CORRECTIONS):
            if not np.all(np.isfinite(lam)):
                break
            delta = reference.solve(rhs - transposed @ lam)
            lam = lam + delta
            if np.linalg.norm(delta) <= _MAX_ERROR * np.linalg.norm(lam):
                return np.asarray(lam), False
    try:
        return np.asarray(splu(sp.csc_matrix(transposed)).solve(rhs)), True
    except RuntimeError:  # SuperLU: "Factor is exactly singular"
        raise InvalidInput(
            "a Monte Carlo draw made the technosphere singular: a loop consumed as much as it "
            "made; narrow the distributions of the exchanges inside loops",
            field="exchanges.uncertainty",
        ) from None


def _summary(
    system: LcaSystem,
    demand: Mapping[str, float],
    method: str,
    samples: Array,
    seed: int,
    direct: int,
    sampled: tuple[str, ...] = ("exchanges",),
) -> MonteCarloResult:
    low, median, high = (float(v) for v in np.percentile(samples, [2.5, 50.0, 97.5]))
    return MonteCarloResult(
        method,
        system.units[method],
        len(samples),
        seed,
        system.score(demand, method),
        float(samples.mean()),
        median,
        float(samples.std(ddof=1)),
        low,
        high,
        samples,
        direct,
        sampled,
    )
