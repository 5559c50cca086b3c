"""Product parameters the registry does not hold: use phase, end-of-life routes, MCI inputs.

``data/profiles.json`` has ``defaults`` per sector (``*`` for all sectors) and
``products`` keyed by product id. A product's profile takes each value from
its own entry, else from its sector's default, else from ``*``, and records
where every value came from in ``assumptions``: a default is documented, never
a silent zero. Fields:

- ``use_kwh_per_year``: electricity drawn in use (kWh per year of the lifetime)
- ``average_lifetime_years``: ``L_av`` of the EMF MCI, the industry-average
  lifetime (``null``: the product's own, so ``L / L_av = 1``)
- ``functional_units`` / ``average_functional_units``: ``U`` and ``U_av``
- ``reused_feedstock``: ``F_U``; ``collected_for_reuse``: ``C_U`` (shares)
- ``end_of_life``: per material category, ``landfill``/``incineration``/
  ``recycling`` shares replacing ``end_of_life.csv`` for this product
- ``electricity_process`` / ``heat_process``: dataset processes for use-phase
  electricity and the CFF's substituted energy
- ``use_kwh_sigma_g`` / ``lifetime_sigma_g``: geometric standard deviations of
  the use-phase energy and the lifetime that Monte Carlo samples (lognormal,
  median = the point value)
- ``first_year_of_use``: the calendar year the product enters service, where a
  grid scenario (``grid_scenarios.csv``) starts
- ``sustained_production``: per material category, the share of the bio-based
  feedstock that comes from sustained production (F_S of the EMF MCI 2019,
  e.g. PEFC/FSC-certified timber); the product's own entry only
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from typing import Any

from mics.errors import InvalidInput

FIELDS = (
    "use_kwh_per_year",
    "average_lifetime_years",
    "functional_units",
    "average_functional_units",
    "reused_feedstock",
    "collected_for_reuse",
    "electricity_process",
    "heat_process",
    "use_kwh_sigma_g",
    "lifetime_sigma_g",
    "first_year_of_use",
)
_SIGMAS = ("use_kwh_sigma_g", "lifetime_sigma_g")
_SHARES = ("reused_feedstock", "collected_for_reuse")
_ROUTES = ("landfill", "incineration", "recycling")


@dataclass(frozen=True)
class Profile:
    """One product's resolved parameters and where each came from."""

    product: str
    use_kwh_per_year: float
    average_lifetime_years: float | None
    functional_units: float
    average_functional_units: float
    reused_feedstock: float
    collected_for_reuse: float
    electricity_process: str
    heat_process: str
    use_kwh_sigma_g: float = 1.0
    lifetime_sigma_g: float = 1.0
    first_year_of_use: float = 2026.0
    end_of_life: Mapping[str, tuple[float, float, float]] = field(default_factory=dict)
    sustained_production: Mapping[str, float] = field(default_factory=dict)
    assumptions: tuple[str, ...] = ()


@cache
def shipped_profiles() -> Mapping[str, Any]:
    text = files("mics.footprint").joinpath("data", "profiles.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    check_profiles(data, "profiles.json")
    return data


def profile_for(product: str, sector: str, profiles: Mapping[str, Any] | None = None) -> Profile:
    """The product's profile: its own values, then its sector's, then the ``*`` defaults."""
    data = profiles if profiles is not None else shipped_profiles()
    layers = [
        (f"profile of product {product!r}", data.get("products", {}).get(product)),
        (f"default for sector {sector!r}", data.get("defaults", {}).get(sector)),
        ("MICS default '*'", data.get("defaults", {}).get("*")),
    ]
    values: dict[str, Any] = {}
    notes: list[str] = []
    used: dict[str, str] = {}
    for name in FIELDS:
        for label, layer in layers:
            if layer is not None and name in layer:
                values[name] = layer[name]
                notes.append(f"{name} = {layer[name]} ({label})")
                used[label] = str(layer.get("source", ""))
                break
        else:
            raise InvalidInput(
                f"profiles.json gives no value for {name!r}, not even in defaults['*']; add it",
                field=f"defaults.*.{name}",
                value=None,
                expected="a value in defaults['*']",
            )
    notes += [f"source of the {label}: {source}" for label, source in used.items()]
    overrides = (layers[0][1] or {}).get("end_of_life", {})
    end_of_life = {c: tuple(float(r[k]) for k in _ROUTES) for c, r in overrides.items()}
    for category in end_of_life:
        notes.append(f"end of life of {category!r} materials from the profile of {product!r}")
    sustained = {
        c: float(v) for c, v in (layers[0][1] or {}).get("sustained_production", {}).items()
    }
    for category, share in sustained.items():
        notes.append(
            f"{share:.0%} of the bio-based {category!r} feedstock from sustained production "
            f"(EMF MCI 2019 F_S), profile of {product!r}"
        )
    return Profile(
        product=product,
        end_of_life=end_of_life,  # type: ignore[arg-type]
        sustained_production=sustained,
        assumptions=tuple(notes),
        **values,
    )


def check_profiles(data: Mapping[str, Any], where: str) -> None:
    """Refuse unknown keys, shares outside [0, 1], negative energy and lifetimes <= 0."""
    for section in ("defaults", "products"):
        entries = data.get(section, {})
        if not isinstance(entries, Mapping):
            raise InvalidInput(
                f"{where}: {section!r} must map ids to objects",
                field=section,
                value=type(entries).__name__,
            )
        for key, entry in entries.items():
            _check_entry(entry, f"{where} {section}.{key}")


def _check_entry(entry: Any, where: str) -> None:
    if not isinstance(entry, Mapping):
        raise InvalidInput(f"{where} must be an object", field=where, value=repr(entry))
    for name, value in entry.items():
        at = f"{where}.{name}"
        if name in ("source", "note"):
            continue
        if name == "end_of_life":
            _check_routes(value, at)
        elif name == "sustained_production":
            _check_sustained(value, at)
        elif name not in FIELDS:
            raise InvalidInput(
                f"unknown profile field {name!r}",
                field=at,
                value=name,
                expected="one of "
                + ", ".join((*FIELDS, "end_of_life", "sustained_production", "source")),
            )
        elif name.endswith("_process"):
            if not isinstance(value, str) or not value:
                raise InvalidInput("must name a dataset process id", field=at, value=value)
        elif name == "average_lifetime_years" and value is None:
            continue
        else:
            _check_number(name, value, at)
    if "source" not in entry:
        raise InvalidInput(
            f"{where} has no 'source'; say where its figures come from",
            field=f"{where}.source",
            value=None,
            expected="a publication, measurement or stated assumption",
        )


def _check_number(name: str, value: Any, at: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidInput("must be a finite number", field=at, value=value)
    if name in _SHARES and not 0.0 <= value <= 1.0:
        raise InvalidInput(
            "a share must be between 0 and 1", field=at, value=value, expected="0..1 (0.3 = 30 %)"
        )
    if name == "use_kwh_per_year" and value < 0:
        raise InvalidInput("energy use cannot be negative", field=at, value=value, expected=">= 0")
    if name in _SIGMAS and value < 1.0:
        raise InvalidInput(
            "a geometric standard deviation is at least 1 (1: no uncertainty)",
            field=at,
            value=value,
            expected=">= 1, e.g. 1.3",
        )
    if name not in _SHARES and name != "use_kwh_per_year" and value <= 0:
        raise InvalidInput(
            "lifetimes and functional units must be > 0", field=at, value=value, expected="> 0"
        )


def _check_routes(value: Any, at: str) -> None:
    if not isinstance(value, Mapping):
        raise InvalidInput("must map material categories to shares", field=at, value=repr(value))
    for category, routes in value.items():
        where = f"{at}.{category}"
        if not isinstance(routes, Mapping) or set(routes) != set(_ROUTES):
            raise InvalidInput(
                "give exactly the landfill, incineration and recycling shares",
                field=where,
                value=repr(routes),
                expected='{"landfill": 0.3, "incineration": 0.2, "recycling": 0.5}',
            )
        for route in _ROUTES:
            share = routes[route]
            if not isinstance(share, (int, float)) or not 0.0 <= share <= 1.0:
                raise InvalidInput(
                    "a share must be between 0 and 1",
                    field=f"{where}.{route}",
                    value=share,
                    expected="0..1",
                )
        if abs(sum(float(routes[r]) for r in _ROUTES) - 1.0) > 1e-9:
            raise InvalidInput(
                "the shares must add up to 1",
                field=where,
                value=sum(float(routes[r]) for r in _ROUTES),
                expected="landfill + incineration + recycling = 1",
            )


def _check_sustained(value: Any, at: str) -> None:
    if not isinstance(value, Mapping):
        raise InvalidInput("must map material categories to shares", field=at, value=repr(value))
    for category, share in value.items():
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
            raise InvalidInput(
                "a share must be between 0 and 1",
                field=f"{at}.{category}",
                value=share,
                expected="0..1: share of the bio-based feedstock from sustained production",
            )
