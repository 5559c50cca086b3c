"""A factory scenario: TOML (``tomllib``) read into frozen dataclasses and checked.

The keys are those of issue 15 (``[scenario]``, ``[[material]]``, ``[[machine]]``,
``[[recycler]]``, ``[[part]]``), so that other tools can write scenarios. Every
error is an :class:`~mics.errors.InvalidInput` naming the key path
(``material[0].oxygen_limit_wt_pct``), the value received and what was expected;
an unknown key names the nearest known one (``difflib``). Nothing is started on
bad input: :func:`parse` checks the whole document before it returns.

    scenario = load("space-station")          # a shipped name, or a path to a TOML file
    scenario = parse(toml_text, source="my.toml")
"""

from __future__ import annotations

import difflib
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from mics.errors import InvalidInput

__all__ = [
    "Demand",
    "Machine",
    "Material",
    "Part",
    "Recycler",
    "Scenario",
    "load",
    "parse",
    "shipped",
]

RESUPPLY = ("none", "scheduled", "on_shortage")
MATERIAL_KINDS = ("metal_powder", "polymer_powder", "filament", "wire")
METALS = ("metal_powder", "wire")
PROCESSES = ("lpbf", "ebm", "fff", "sls", "ded")
RECYCLER_PROCESSES = ("gas_atomiser", "plasma_atomiser", "re_extruder", "sieve")
DEMAND_KINDS = ("poisson", "scheduled", "replacement")
# A scenario is a human-written file: a megabyte is far beyond any real one and keeps
# a pasted or uploaded document from tying up the parser.
MAX_SCENARIO_BYTES = 1_000_000
# Horizon cap: 50 years covers any station or plant life; longer runs are a typo.
MAX_HORIZON_DAYS = 18_250.0
# Caps on list lengths and fleets keep one run bounded (API callers included).
MAX_ENTRIES = 200
MAX_FLEET = 100_000


@dataclass(frozen=True)
class Material:
    """A feedstock: its stock and how its quality falls loop after loop."""

    id: str
    kind: str
    initial_kg: float
    density_kg_m3: float
    refresh_fraction: float  # virgin share mixed into each build (0 in space)
    oxygen_wt_pct: float | None = None  # metals: oxygen of the virgin powder
    oxygen_pickup_per_cycle: float | None = None
    oxygen_limit_wt_pct: float | None = None
    strength_loss_per_cycle: float | None = None  # polymers: fraction lost per loop
    min_strength_fraction: float | None = None
    sieve_loss_fraction: float = 0.0  # of each build's feedstock, lost in handling
    resupply_kg: float = 0.0  # delivered per resupply (scheduled or on shortage)

    @property
    def is_metal(self) -> bool:
        return self.kind in METALS

    def quality(self, loops: float) -> float:
        """Oxygen wt% (metals) or strength fraction (polymers) after ``loops`` loops."""
        if self.oxygen_wt_pct is not None and self.oxygen_pickup_per_cycle is not None:
            return self.oxygen_wt_pct + self.oxygen_pickup_per_cycle * loops
        if self.strength_loss_per_cycle is not None:
            return float((1.0 - self.strength_loss_per_cycle) ** loops)
        return 1.0

    def max_loops(self) -> int | None:
        """The most loops a lot may have and still be used; None: no quality limit."""
        if (
            self.oxygen_wt_pct is not None
            and self.oxygen_pickup_per_cycle
            and self.oxygen_limit_wt_pct is not None
        ):
            # A tiny tolerance keeps 0.11 + 9 x 0.001 <= 0.12 an allowed loop despite rounding.
            room = (self.oxygen_limit_wt_pct - self.oxygen_wt_pct) / self.oxygen_pickup_per_cycle
            return max(0, math.floor(room + 1e-9))
        if self.strength_loss_per_cycle and self.min_strength_fraction is not None:
            room = math.log(self.min_strength_fraction) / math.log(
                1.0 - self.strength_loss_per_cycle
            )
            return max(0, math.floor(room + 1e-9))
        return None


@dataclass(frozen=True)
class Machine:
    id: str
    process: str
    materials: tuple[str, ...]
    build_volume_mm: tuple[float, float, float]
    layer_mm: float
    recoat_s: float
    scan_mm3_per_s: float
    power_kw: float
    availability: float  # share of time the machine can print (maintenance, calibration)
    scrap_fraction: float = 0.0  # of each build's part mass reprinted for rejects


@dataclass(frozen=True)
class Recycler:
    id: str
    process: str
    material: str
    yield_: float  # fraction of input that comes back usable
    kwh_per_kg: float
    kg_per_hour: float

    @property
    def loss_stage(self) -> str:
        return {"sieve": "sieving", "re_extruder": "re_extrusion"}.get(self.process, "atomisation")


@dataclass(frozen=True)
class Demand:
    kind: str
    per_day: float = 0.0  # poisson
    every_days: float = 0.0  # scheduled
    in_service: int = 0  # replacement: a fixed fleet whose failed parts are reprinted


@dataclass(frozen=True)
class Part:
    id: str
    material: str
    mass_kg: float
    bbox_mm: tuple[float, float, float]
    support_fraction: float  # support mass per part mass
    life_days: float  # mean service life
    demand: Demand
    return_fraction: float = 1.0  # share of failed parts that come back for recycling
    mesh: str | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    horizon_days: float
    seed: int
    resupply: str
    materials: tuple[Material, ...]
    machines: tuple[Machine, ...]
    recyclers: tuple[Recycler, ...]
    parts: tuple[Part, ...]
    stochastic: bool = True  # False: mean intervals and lives (the analytic limit)
    resupply_every_days: float = 0.0
    resupply_lead_days: float = 0.0
    grid: str = "electricity_it"  # footprint process id of the electricity used
    sample_days: float = 1.0

    def material(self, material_id: str) -> Material:
        return next(m for m in self.materials if m.id == material_id)

    def with_horizon(self, days: float) -> Scenario:
        from dataclasses import replace

        _number("scenario.horizon_days", days, low=0.0, high=MAX_HORIZON_DAYS, open_low=True)
        return replace(self, horizon_days=float(days))


# ---------------------------------------------------------------- reading


def shipped() -> tuple[str, ...]:
    """Names of the scenarios shipped in the package."""
    folder = resources.files("mics.factory") / "scenarios"
    return tuple(
        sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))
    )


def load(name_or_path: str | Path) -> Scenario:
    """A shipped scenario by name, or a TOML file by path."""
    text = str(name_or_path)
    if text in shipped():
        ref = resources.files("mics.factory") / "scenarios" / f"{text}.toml"
        return parse(ref.read_text(encoding="utf-8"), source=text)
    path = Path(text)
    if not path.is_file():
        raise InvalidInput(
            "no such scenario file or shipped scenario",
            field="scenario",
            value=text,
            expected=f"a TOML path or one of {', '.join(shipped())}",
        )
    if path.stat().st_size > MAX_SCENARIO_BYTES:
        raise InvalidInput(
            "scenario file too large",
            field="scenario",
            value=path.stat().st_size,
            expected=f"at most {MAX_SCENARIO_BYTES} bytes",
        )
    return parse(path.read_text(encoding="utf-8"), source=str(path), base=path.parent)


def parse(
    text: str, *, source: str = "scenario", base: Path | None = None, meshes: bool = True
) -> Scenario:
    """Read and check a scenario document; raise InvalidInput naming the first bad key.

    ``meshes=False`` refuses ``mesh`` paths: a scenario sent over the API must not
    make the server open files of its choosing."""
    if len(text.encode("utf-8")) > MAX_SCENARIO_BYTES:
        raise InvalidInput(
            "scenario too large",
            field="scenario",
            value=len(text),
            expected=f"at most {MAX_SCENARIO_BYTES} bytes",
        )
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InvalidInput(
            f"not valid TOML: {error}", field="scenario", value=source, expected="a TOML document"
        ) from error
    from mics.factory.scenario_check import check_document

    return check_document(doc, base, meshes=meshes)


# ---------------------------------------------------------------- checks shared with the reader


def known_keys(path: str, table: Mapping[str, Any], keys: Sequence[str]) -> None:
    """Unknown keys raise, naming the nearest known key."""
    for key in table:
        if key not in keys:
            near = difflib.get_close_matches(key, keys, n=1, cutoff=0.5)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise InvalidInput(
                f"unknown key {key!r}{hint}",
                field=f"{path}.{key}" if path else key,
                value=key,
                expected=f"one of {', '.join(keys)}",
            )


def _number(
    path: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    open_low: bool = False,
    open_high: bool = False,
) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidInput("not a finite number", field=path, value=value, expected="a number")
    lo = "(" if open_low else "["
    hi = ")" if open_high else "]"
    lo_text = "-inf" if low is None else f"{low:g}"
    hi_text = "inf" if high is None else f"{high:g}"
    span = f"{lo}{lo_text}, {hi_text}{hi}"
    too_low = low is not None and (value <= low if open_low else value < low)
    too_high = high is not None and (value >= high if open_high else value > high)
    if too_low or too_high:
        raise InvalidInput(
            f"{value!r} is outside {span}", field=path, value=value, expected=f"a number in {span}"
        )
    return float(value)


number = _number
