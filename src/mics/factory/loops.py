"""Closed forms of material loops: the analytic cross-check of the simulation.

A unit of material used, returned and recycled with per-loop yield ``y`` is used
``1 + y + y^2 + ... = 1 / (1 - y)`` times; after ``n`` loops ``y^n`` of it is left,
so half is gone after ``ln 0.5 / ln y`` loops (REFERENCES.md, "Loop algebra").
Under a constant demand ``d`` (kg/day) whose material comes back ``lag`` days
later with yield ``y``, a stock ``S0`` falls as ``S0 - d t + y d (t - lag)``.
A refresh blend (virgin share ``r`` in every build) settles at a mean loop count
of ``(1 - r) / r``: ``L = (1 - r)(L + 1)``.
"""

from __future__ import annotations

import math

__all__ = [
    "expected_uses",
    "loops_to_half",
    "refresh_mean_loops",
    "refresh_steady_oxygen",
    "refresh_steady_strength",
    "self_sufficiency_days",
    "stock_after",
    "uses_with_limit",
]


def _check_yield(y: float) -> None:
    if not 0.0 <= y < 1.0:
        raise ValueError(f"yield must be in [0, 1) for a finite result, got {y!r}")


def expected_uses(y: float) -> float:
    """Expected uses of a unit of material with per-loop yield ``y``: ``1 / (1 - y)``."""
    _check_yield(y)
    return 1.0 / (1.0 - y)


def uses_with_limit(y: float, max_loops: int) -> float:
    """Expected uses when a lot is retired after ``max_loops`` recyclings:
    ``sum_{n=0..k} y^n = (1 - y^(k+1)) / (1 - y)``."""
    _check_yield(y)
    return (1.0 - y ** (max_loops + 1)) / (1.0 - y)


def loops_to_half(y: float) -> float:
    """Loops after which half of a unit is lost: ``ln 0.5 / ln y``."""
    if not 0.0 < y < 1.0:
        raise ValueError(f"yield must be in (0, 1), got {y!r}")
    return math.log(0.5) / math.log(y)


def stock_after(
    days: float, initial_kg: float, demand_kg_per_day: float, y: float, lag_days: float = 0.0
) -> float:
    """Stock left after ``days`` under constant demand, returns ``lag_days`` later at
    yield ``y``: ``S0 - d t + y d max(0, t - lag)`` (never below zero)."""
    returned = y * demand_kg_per_day * max(0.0, days - lag_days)
    return max(0.0, initial_kg - demand_kg_per_day * days + returned)


def self_sufficiency_days(
    initial_kg: float, demand_kg_per_day: float, y: float, lag_days: float = 0.0
) -> float:
    """The day the stock runs out under constant demand (inf if it never does)."""
    if demand_kg_per_day <= 0:
        return math.inf
    if initial_kg <= demand_kg_per_day * lag_days:  # gone before the first return
        return initial_kg / demand_kg_per_day
    if y >= 1.0:
        return math.inf
    return (initial_kg - y * demand_kg_per_day * lag_days) / ((1.0 - y) * demand_kg_per_day)


def refresh_mean_loops(r: float) -> float:
    """Steady mean loop count of a blend with virgin share ``r``: ``(1 - r) / r``."""
    if not 0.0 < r <= 1.0:
        raise ValueError(f"refresh fraction must be in (0, 1], got {r!r}")
    return (1.0 - r) / r


def refresh_steady_oxygen(o0: float, pickup: float, r: float) -> float:
    """Steady oxygen (wt%) of a refresh blend: ``o0 + pickup (1 - r) / r``."""
    return o0 + pickup * refresh_mean_loops(r)


def refresh_steady_strength(loss: float, r: float) -> float:
    """Steady strength fraction of a refresh blend, strengths mixing by mass:
    ``s = r + (1 - r)(1 - loss) s``, so ``s = r / (1 - (1 - r)(1 - loss))``."""
    refresh_mean_loops(r)
    return r / (1.0 - (1.0 - r) * (1.0 - loss))
