"""Scenario sweeps: vary any scenario key over a grid or a Latin hypercube, run in parallel.

A key is its path in the TOML document, as in error messages: ``recycler[0].yield``,
``material[1].initial_kg``, ``part[0].demand.per_day``. ``KEY=LO:HI:N`` is ``N``
evenly spaced values (a grid: the product over keys); with ``lhs=N`` the same ranges
are sampled by a seeded Latin hypercube (``scipy.stats.qmc``, McKay et al. 1979).
Every variant is checked before any runs. Variants go through any
``concurrent.futures.Executor``: processes by default, or a Dask ``distributed``
cluster's (``Client(address).get_executor()``), unchanged.

    axes = [axis("recycler[0].yield=0.8:0.99:5"), axis("material[0].initial_kg=40:120:3")]
    rows = sweep(document("space-station"), axes)          # 15 variants
"""

from __future__ import annotations

import copy
import csv
import itertools
import multiprocessing
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from mics.errors import InvalidInput
from mics.factory.scenario import Scenario, shipped
from mics.factory.scenario_check import check_document

__all__ = ["Axis", "axis", "document", "grid", "latin_hypercube", "run_variant", "sweep"]

# A sweep's variants each run a whole simulation; 10,000 covers a fine 4-key grid or a
# large hypercube, and bounds what one command line can ask of a cluster.
MAX_VARIANTS = 10_000
MAX_GRID_POINTS = 1_000  # per key
_SEGMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?$")
ROW_FIELDS = (
    "self_sufficiency_days",
    "delivered_kg",
    "delivered_parts",
    "backlog_parts",
    "closure_rate",
    "losses_kg",
    "energy_kwh",
    "gwp_kg_co2e",
    "lead_time_p95_days",
    "end_day",
)


@dataclass(frozen=True)
class Axis:
    key: str
    low: float
    high: float
    count: int

    def values(self) -> list[float]:
        return [float(v) for v in np.linspace(self.low, self.high, self.count)]


def axis(spec: str) -> Axis:
    """``KEY=LO:HI:N`` -> Axis; a malformed spec raises naming it."""
    key, _, span = spec.partition("=")
    parts = span.split(":")
    try:
        low, high, count = float(parts[0]), float(parts[1]), int(parts[2])
        if len(parts) != 3:
            raise ValueError(spec)
    except (ValueError, IndexError) as error:
        raise InvalidInput(
            "not KEY=LO:HI:N",
            field="--vary",
            value=spec,
            expected="e.g. recycler[0].yield=0.8:0.99:5",
        ) from error
    if not key or not 1 <= count <= MAX_GRID_POINTS or not low <= high:
        raise InvalidInput(
            "bad range",
            field="--vary",
            value=spec,
            expected=f"LO <= HI and 1 <= N <= {MAX_GRID_POINTS}",
        )
    _segments(key)
    return Axis(key, low, high, count)


def document(name_or_path: str) -> dict[str, Any]:
    """The TOML document of a shipped scenario or a file (not yet checked)."""
    if name_or_path in shipped():
        text = (resources.files("mics.factory") / "scenarios" / f"{name_or_path}.toml").read_text(
            "utf-8"
        )
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise InvalidInput(
                "no such scenario file or shipped scenario",
                field="scenario",
                value=name_or_path,
                expected=f"a TOML path or one of {', '.join(shipped())}",
            )
        text = path.read_text("utf-8")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InvalidInput(
            f"not valid TOML: {error}", field="scenario", value=name_or_path, expected="TOML"
        ) from error


def grid(axes: Sequence[Axis]) -> list[dict[str, float]]:
    """The full factorial grid of the axes' values."""
    total = int(np.prod([a.count for a in axes])) if axes else 0
    _check_count(total)
    return [
        dict(zip((a.key for a in axes), point, strict=True))
        for point in itertools.product(*(a.values() for a in axes))
    ]


def latin_hypercube(axes: Sequence[Axis], n: int, seed: int = 0) -> list[dict[str, float]]:
    """``n`` points of a seeded Latin hypercube over the axes' [LO, HI] ranges."""
    from scipy.stats import qmc

    _check_count(n)
    unit = qmc.LatinHypercube(d=len(axes), seed=seed).random(n)
    lows = np.array([a.low for a in axes])
    highs = np.array([a.high for a in axes])
    points = lows + unit * (highs - lows)
    return [{a.key: float(v) for a, v in zip(axes, row, strict=True)} for row in points]


def apply(doc: Mapping[str, Any], values: Mapping[str, float]) -> dict[str, Any]:
    """A copy of ``doc`` with each key path set (integers stay integers). The last key
    may be new (an optional key); every table and entry on the way must exist."""
    out = copy.deepcopy(dict(doc))
    for key, value in values.items():
        node: Any = out
        segments = _segments(key)
        for depth, (name, index) in enumerate(segments):
            last = depth == len(segments) - 1
            if not isinstance(node, dict) or (name not in node and not (last and index is None)):
                raise InvalidInput(
                    "no such key in the scenario",
                    field=key,
                    value=value,
                    expected="an existing key path",
                )
            holder: Any = node
            slot: str | int = name
            if index is not None:
                holder, slot = node[name], index
                if not isinstance(holder, list) or index >= len(holder):
                    raise InvalidInput(
                        f"{name} has no entry {index}",
                        field=key,
                        value=value,
                        expected="an existing entry",
                    )
            if last:
                old = holder.get(slot) if isinstance(holder, dict) else holder[slot]
                whole = isinstance(old, int) and not isinstance(old, bool)
                holder[slot] = round(value) if whole else value
            else:
                node = holder[slot]
    return out


def checked_variants(
    doc: Mapping[str, Any], points: Sequence[Mapping[str, float]]
) -> list[dict[str, Any]]:
    """Every variant document, each checked: a bad one raises before any runs."""
    docs = []
    for point in points:
        variant = apply(doc, point)
        check_document(variant, None, meshes=False)
        docs.append(variant)
    return docs


def run_variant(payload: tuple[dict[str, Any], dict[str, float]]) -> dict[str, Any]:
    """Run one variant; the row of its values and its headline results (picklable)."""
    from mics.factory.simulation import simulate

    variant, point = payload
    scenario: Scenario = check_document(variant, None, meshes=False)
    result = simulate(scenario)
    return dict(point) | {
        "self_sufficiency_days": result.self_sufficiency_days,
        "delivered_kg": result.delivered_kg,
        "delivered_parts": result.delivered_parts,
        "backlog_parts": result.backlog_parts,
        "closure_rate": result.closure_rate,
        "losses_kg": sum(result.losses_kg.values()),
        "energy_kwh": sum(result.energy_kwh.values()),
        "gwp_kg_co2e": result.gwp_kg_co2e,
        "lead_time_p95_days": result.lead_time_days["p95"],
        "end_day": result.end_day,
    }


def default_executor(workers: int | None = None) -> Executor:
    """Processes forked from a server that already imported the simulation."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["mics.factory.sweep", "mics.factory.simulation"])
    return ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1, mp_context=context)


def sweep(
    doc: Mapping[str, Any],
    axes: Sequence[Axis],
    *,
    lhs: int | None = None,
    seed: int = 0,
    executor: Executor | None = None,
) -> list[dict[str, Any]]:
    """Run the grid (or ``lhs`` hypercube points) of ``axes``; one row per variant, in order."""
    points = latin_hypercube(axes, lhs, seed) if lhs else grid(axes)
    variants = checked_variants(doc, points)
    payloads = list(zip(variants, points, strict=True))
    if executor is not None:
        return list(executor.map(run_variant, payloads))
    with default_executor(min(len(payloads), os.cpu_count() or 1)) as pool:
        return list(pool.map(run_variant, payloads))


def write_csv(rows: Sequence[Mapping[str, Any]], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else list(ROW_FIELDS))
        writer.writeheader()
        writer.writerows(rows)


def write_parquet(rows: Sequence[Mapping[str, Any]], path: Path) -> None:
    """Parquet through pyarrow (the ``mics[cluster]`` extra)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as error:
        raise InvalidInput(
            "Parquet needs pyarrow",
            field="--out",
            value=str(path),
            expected="pip install 'mics[cluster]', or a .csv path",
        ) from error
    pq.write_table(pa.Table.from_pylist([dict(r) for r in rows]), path)


def _segments(key: str) -> list[tuple[str, int | None]]:
    out: list[tuple[str, int | None]] = []
    for segment in key.split("."):
        match = _SEGMENT.match(segment)
        if match is None:
            raise InvalidInput(
                "not a key path", field="--vary", value=key, expected="e.g. part[0].demand.per_day"
            )
        out.append((match.group(1), int(match.group(2)) if match.group(2) else None))
    return out


def _check_count(total: int) -> None:
    if not 1 <= total <= MAX_VARIANTS:
        raise InvalidInput(
            "too many or no variants", field="--vary", value=total, expected=f"1 to {MAX_VARIANTS}"
        )
