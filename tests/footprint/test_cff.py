"""PEF Circular Footprint Formula: hand-computed cases and parameter ranges."""

from __future__ import annotations

import dataclasses

import pytest

from mics.errors import InvalidInput
from mics.footprint.cff import CffParameters, circular_footprint

# A metal: A = 0.2, 30 % recycled content, 90 % recycled at end of life, no energy recovery.
METAL = CffParameters(
    a=0.2, r1=0.3, r2=0.9, r3=0.0, e_v=10.0, e_rec=1.0, e_rec_eol=0.8, e_v_star=10.0, e_d=0.05
)
# A plastic: A = 0.5, half incinerated with heat and electricity recovery.
PLASTIC = CffParameters(
    a=0.5, r1=0.0, r2=0.3, r3=0.5, e_v=2.0, e_rec=0.6, e_rec_eol=0.5, e_v_star=2.0, e_d=1.0,
    q_sout_qp=0.8, e_er=2.5, lhv=40.0, x_er_heat=0.3, x_er_elec=0.2, e_se_heat=0.07,
    e_se_elec=0.12,
)  # fmt: skip


def test_metal_terms_match_hand_computation() -> None:
    result = circular_footprint(METAL)
    assert result.virgin == pytest.approx(0.7 * 10.0)
    assert result.recycled_content == pytest.approx(0.3 * (0.2 * 1.0 + 0.8 * 10.0))  # 2.46
    assert result.recycling_end_of_life == pytest.approx(0.8 * 0.9 * (0.8 - 10.0))  # -6.624
    assert result.material == pytest.approx(7.0 + 2.46 - 6.624)
    assert result.energy == 0.0
    assert result.disposal == pytest.approx(0.1 * 0.05)
    assert result.total == pytest.approx(2.841)


def test_plastic_energy_recovery_matches_hand_computation() -> None:
    result = circular_footprint(PLASTIC, mass=2.0)
    # energy: (1 - 0) * 0.5 * (2.5 - 40 * 0.3 * 0.07 - 40 * 0.2 * 0.12) = 0.5 * 0.7
    assert result.energy == pytest.approx(2.0 * 0.35)
    assert result.recycling_end_of_life == pytest.approx(2.0 * 0.5 * 0.3 * (0.5 - 2.0 * 0.8))
    assert result.disposal == pytest.approx(2.0 * 0.2 * 1.0)
    assert result.virgin == pytest.approx(2.0 * 2.0)
    assert result.recycled_content == 0.0
    assert result.total == pytest.approx(2.0 * 2.385)


def test_quality_of_recycled_content_and_b_factor_enter_their_terms() -> None:
    lower_quality = circular_footprint(dataclasses.replace(METAL, q_sin_qp=0.5))
    assert lower_quality.recycled_content == pytest.approx(0.3 * (0.2 * 1.0 + 0.8 * 10.0 * 0.5))
    shared = circular_footprint(dataclasses.replace(PLASTIC, b=0.4))
    assert shared.energy == pytest.approx(0.6 * 0.35)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"a": 0.1}, "a"),
        ({"a": 1.0}, "a"),
        ({"r1": -0.1}, "r1"),
        ({"r2": 0.7, "r3": 0.4}, "r2 + r3"),
        ({"b": 1.5}, "b"),
        ({"q_sout_qp": 0.0}, "q_sout_qp"),
        ({"q_sin_qp": 1.2}, "q_sin_qp"),
        ({"x_er_heat": 2.0}, "x_er_heat"),
        ({"lhv": -1.0}, "lhv"),
        ({"e_v": float("nan")}, "e_v"),
    ],
)
def test_out_of_range_parameters_name_the_field(change: dict[str, float], field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        circular_footprint(dataclasses.replace(PLASTIC, **change))
    assert error.value.field == field


def test_a_factor_error_says_where_to_find_the_value() -> None:
    with pytest.raises(InvalidInput, match=r"Annex C"):
        circular_footprint(dataclasses.replace(METAL, a=0.0))
    with pytest.raises(InvalidInput, match="mass"):
        circular_footprint(METAL, mass=-1.0)
