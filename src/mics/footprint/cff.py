"""Circular Footprint Formula of the EU Product Environmental Footprint.

Commission Recommendation (EU) 2021/2279, Annex I §4.4.8 (end-of-life and
recycled content). Per unit (e.g. kg) of a material, for one impact indicator::

    material  (1 - R1) Ev + R1 (A Erec + (1 - A) Ev Qsin/Qp)
              + (1 - A) R2 (ErecEoL - E*v Qsout/Qp)
    energy    (1 - B) R3 (EER - LHV XER,heat ESE,heat - LHV XER,elec ESE,elec)
    disposal  (1 - R2 - R3) ED

``A`` shares burdens and credits of recycling between the supplier and the user
of recycled material (0.2 <= A <= 0.8, Annex C values per material); ``B`` does
the same for energy recovery (0 by default). ``R1`` is the recycled content,
``R2`` the share recycled at end of life, ``R3`` the share sent to energy
recovery. ``E`` values are impacts per unit of material (``ESE`` per MJ), ``LHV``
in MJ per unit, ``XER`` the recovery efficiencies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from mics.errors import InvalidInput

A_RANGE = (0.2, 0.8)  # Annex I §4.4.8.1: A is never 0 or 1, so both sides keep an incentive


@dataclass(frozen=True)
class CffParameters:
    """The CFF's parameters for one material; ``e_*`` in indicator units per unit of material."""

    a: float  # A, burden/credit allocation factor (Annex C)
    r1: float  # recycled (or reused) content
    r2: float  # share recycled (or reused) at end of life
    r3: float  # share sent to energy recovery
    e_v: float  # Ev, virgin material production
    e_rec: float  # Erec, recycling process of the recycled content
    e_rec_eol: float  # ErecEoL, recycling process at end of life
    e_v_star: float  # E*v, virgin material substituted by the recycled material
    e_d: float  # ED, disposal (landfill, incineration without recovery)
    q_sin_qp: float = 1.0  # Qsin/Qp, quality of the ingoing secondary material
    q_sout_qp: float = 1.0  # Qsout/Qp, quality of the outgoing secondary material
    b: float = 0.0  # B, allocation factor of energy recovery
    e_er: float = 0.0  # EER, energy recovery process
    lhv: float = 0.0  # LHV, MJ per unit of material
    x_er_heat: float = 0.0  # XER,heat, efficiency of heat recovery
    x_er_elec: float = 0.0  # XER,elec, efficiency of electricity recovery
    e_se_heat: float = 0.0  # ESE,heat, substituted heat, per MJ
    e_se_elec: float = 0.0  # ESE,elec, substituted electricity, per MJ


@dataclass(frozen=True)
class CffResult:
    """Each term of the formula for ``mass`` units of the material, and their sums."""

    virgin: float  # (1 - R1) Ev
    recycled_content: float  # R1 (A Erec + (1 - A) Ev Qsin/Qp)
    recycling_end_of_life: float  # (1 - A) R2 (ErecEoL - E*v Qsout/Qp), usually a credit
    material: float
    energy: float
    disposal: float
    total: float


def circular_footprint(p: CffParameters, mass: float = 1.0) -> CffResult:
    """The Circular Footprint Formula's terms for ``mass`` units of one material."""
    _validate(p, mass)
    virgin = (1.0 - p.r1) * p.e_v
    recycled = p.r1 * (p.a * p.e_rec + (1.0 - p.a) * p.e_v * p.q_sin_qp)
    end_of_life = (1.0 - p.a) * p.r2 * (p.e_rec_eol - p.e_v_star * p.q_sout_qp)
    recovered = p.lhv * (p.x_er_heat * p.e_se_heat + p.x_er_elec * p.e_se_elec)
    energy = (1.0 - p.b) * p.r3 * (p.e_er - recovered)
    disposal = (1.0 - p.r2 - p.r3) * p.e_d
    material = virgin + recycled + end_of_life
    return CffResult(
        mass * virgin,
        mass * recycled,
        mass * end_of_life,
        mass * material,
        mass * energy,
        mass * disposal,
        mass * (material + energy + disposal),
    )


def _validate(p: CffParameters, mass: float) -> None:
    for f in fields(p):
        value = getattr(p, f.name)
        if not math.isfinite(value):
            raise InvalidInput("must be a finite number", field=f.name, value=value)
    if not (math.isfinite(mass) and mass >= 0.0):
        raise InvalidInput("must be >= 0", field="mass", value=mass, expected="units of material")
    low, high = A_RANGE
    if not low <= p.a <= high:
        raise InvalidInput(
            f"A must lie in [{low}, {high}] (PEF Annex I §4.4.8.1); take it from Annex C "
            "for the material (0.2 when recycled material is in short supply, 0.8 in surplus, "
            "0.5 by default)",
            field="a",
            value=p.a,
            expected=f"{low} <= A <= {high}",
        )
    ranges = {"b": p.b, "r1": p.r1, "r2": p.r2, "r3": p.r3}
    ranges |= {"x_er_heat": p.x_er_heat, "x_er_elec": p.x_er_elec}
    for name, value in ranges.items():
        if not 0.0 <= value <= 1.0:
            raise InvalidInput(
                "must be a share in [0, 1]", field=name, value=value, expected="0..1"
            )
    if p.r2 + p.r3 > 1.0 + 1e-12:
        raise InvalidInput(
            f"R2 + R3 is {p.r2 + p.r3}: more than the whole material recycled and recovered",
            field="r2 + r3",
            value=p.r2 + p.r3,
            expected="<= 1",
        )
    for name, value in (("q_sin_qp", p.q_sin_qp), ("q_sout_qp", p.q_sout_qp)):
        if not 0.0 < value <= 1.0:
            raise InvalidInput(
                "quality ratio must be in (0, 1]: secondary material is at most as good as primary",
                field=name,
                value=value,
                expected="0 < Qs/Qp <= 1",
            )
    if p.lhv < 0.0:
        raise InvalidInput("must be >= 0", field="lhv", value=p.lhv, expected="MJ per unit >= 0")
