"""EMF Material Circularity Indicator: reference points, a hand-computed case, validation."""

from __future__ import annotations

import dataclasses

import pytest

from mics.errors import InvalidInput
from mics.footprint.circularity import MaterialInput, ProductInput, product_circularity

LINEAR = MaterialInput("virgin steel", 10.0, 0.0, 0.0, 0.0, 0.0, 0.8, 0.9)
REUSED = MaterialInput("reused part", 10.0, 0.0, 1.0, 0.0, 1.0, 0.8, 0.9)
# M = 10, F_R = 0.3, F_U = 0.1, C_R = 0.5, C_U = 0.1, E_C = 0.8, E_F = 0.9
MIXED = MaterialInput("wool", 10.0, 0.3, 0.1, 0.5, 0.1, 0.8, 0.9, bio_based=1.0)


def product(*materials: MaterialInput, lifetime: float = 5.0, uses: float = 1.0) -> ProductInput:
    return ProductInput("jacket", materials, lifetime, 5.0, uses, 1.0)


def test_fully_linear_product_of_average_utility_scores_0_1() -> None:
    result = product_circularity(product(LINEAR))
    assert result.linear_flow_index == pytest.approx(1.0)
    assert result.mci == pytest.approx(0.1)
    assert result.utility == 1.0


def test_fully_reused_in_and_out_scores_1() -> None:
    result = product_circularity(product(REUSED))
    assert result.linear_flow_index == 0.0
    assert result.mci == 1.0
    assert result.reused_content == 1.0


def test_mixed_material_matches_hand_computation() -> None:
    # V = 10 * 0.6 = 6; W0 = 10 * 0.4 = 4; W_C = 10 * 0.2 * 0.5 = 1; W_F = 10 * 0.1 * 0.3 / 0.9
    w_f = 1.0 / 3.0
    waste = 4.0 + (w_f + 1.0) / 2.0
    lfi = (6.0 + waste) / (20.0 + (w_f - 1.0) / 2.0)  # = 0.542373
    result = product_circularity(product(MIXED, lifetime=10.0))  # X = 2, F(X) = 0.45
    (material,) = result.materials
    assert material.virgin_feedstock == pytest.approx(6.0)
    assert material.waste_after_use == pytest.approx(4.0)
    assert material.waste_recycling == pytest.approx(1.0)
    assert material.waste_feedstock == pytest.approx(w_f)
    assert material.unrecoverable_waste == pytest.approx(waste)
    assert result.linear_flow_index == pytest.approx(lfi)
    assert result.linear_flow_index == pytest.approx(0.542373, abs=1e-6)
    assert result.utility_factor == pytest.approx(0.45)
    assert result.mci == pytest.approx(1.0 - 0.45 * lfi)
    assert result.mci == pytest.approx(0.755932, abs=1e-6)


def test_product_aggregates_materials_by_mass() -> None:
    heavy = dataclasses.replace(LINEAR, mass=30.0)
    result = product_circularity(product(heavy, REUSED))
    # sum of flows: V = 30, W = 30, M = 40, W_F = W_C = 0 => LFI = 60 / 80
    assert result.linear_flow_index == pytest.approx(0.75)
    assert result.mci == pytest.approx(1.0 - 0.75 * 0.9)
    assert [m.mci for m in result.materials] == [pytest.approx(0.1), 1.0]
    assert result.reused_content == pytest.approx(0.25)
    assert result.mass == 40.0


def test_recycled_and_bio_based_contents_are_mass_shares() -> None:
    result = product_circularity(product(MIXED, dataclasses.replace(LINEAR, mass=30.0)))
    assert result.recycled_content == pytest.approx(3.0 / 40.0)
    assert result.bio_based_content == pytest.approx(10.0 / 40.0)


def test_longer_use_raises_mci_and_it_never_goes_below_0() -> None:
    base = product_circularity(product(LINEAR)).mci
    assert product_circularity(product(LINEAR, uses=3.0)).mci == pytest.approx(1.0 - 0.3)
    assert base < product_circularity(product(LINEAR, lifetime=7.5)).mci
    assert product_circularity(product(LINEAR, lifetime=0.5)).mci == 0.0  # 1 - 9 < 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"recycled_feedstock": 1.2}, "recycled_feedstock"),
        (
            {"recycled_feedstock": 0.6, "reused_feedstock": 0.6},
            "recycled_feedstock + reused_feedstock",
        ),
        ({"collected_for_recycling": 0.7, "collected_for_reuse": 0.4}, "collected_for_recycling +"),
        ({"recycling_efficiency": 0.0}, "recycling_efficiency"),
        ({"feedstock_recycling_efficiency": 1.5}, "feedstock_recycling_efficiency"),
        ({"mass": -1.0}, "mass"),
        ({"bio_based": -0.1}, "bio_based"),
    ],
)
def test_invalid_material_inputs_name_the_field(change: dict[str, float], field: str) -> None:
    broken = dataclasses.replace(MIXED, **change)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as error:
        product_circularity(product(MIXED, broken))
    assert error.value.field is not None
    assert error.value.field.startswith(f"materials[1] (wool).{field}")


def test_invalid_product_inputs_raise() -> None:
    with pytest.raises(InvalidInput, match="lifetime"):
        product_circularity(product(MIXED, lifetime=0.0))
    with pytest.raises(InvalidInput, match="at least one material"):
        product_circularity(product())


# EMF & Granta MCI methodology 2019: the biological cycle (F_S, C_C, C_E).
BIO_COMPOSTED = MaterialInput(
    "sustainably sourced, composted fibre",
    2.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.8,
    0.9,
    bio_based=1.0,
    sustained_feedstock=1.0,
    composted=1.0,
)
# 3 kg: 20 % recycled, 50 % sustained bio feedstock; 30 % recycled and 40 % burnt for energy.
BIO_MIXED = MaterialInput(
    "mixed",
    3.0,
    0.2,
    0.0,
    0.3,
    0.0,
    0.8,
    0.5,
    bio_based=0.6,
    sustained_feedstock=0.5,
    energy_recovery=0.4,
)


def test_fully_biological_sustained_and_composted_product_scores_1() -> None:
    result = product_circularity(product(BIO_COMPOSTED, lifetime=5.0))
    (m,) = result.materials
    assert m.virgin_feedstock == 0.0  # V = M (1 - F_R - F_U - F_S)
    assert m.waste_after_use == 0.0  # W0 = M (1 - C_R - C_U - C_C - C_E)
    assert result.linear_flow_index == 0.0
    assert result.mci == 1.0
    assert result.sustained_content == 1.0
    assert "2019" in result.method


def test_mixed_biological_material_matches_hand_computation() -> None:
    (m,) = product_circularity(product(BIO_MIXED)).materials
    assert m.virgin_feedstock == pytest.approx(3 * (1 - 0.2 - 0.5))  # 0.9
    assert m.waste_after_use == pytest.approx(3 * (1 - 0.3 - 0.4))  # 0.9
    assert m.waste_recycling == pytest.approx(3 * 0.2 * 0.3)  # 0.18
    assert m.waste_feedstock == pytest.approx(3 * 0.5 * 0.2 / 0.5)  # 0.6
    assert m.unrecoverable_waste == pytest.approx(0.9 + (0.6 + 0.18) / 2)  # 1.29
    assert m.linear_flow_index == pytest.approx(2.19 / 6.21)
    assert m.mci == pytest.approx(1 - 0.9 * 2.19 / 6.21)  # 0.682609


def test_mixed_product_of_biological_and_linear_materials_sums_flows() -> None:
    linear = dataclasses.replace(LINEAR, mass=1.0)
    result = product_circularity(product(BIO_MIXED, linear))
    # V 0.9 + 1, W 1.29 + 1, W_F 0.6, W_C 0.18, M 4
    assert result.linear_flow_index == pytest.approx(4.19 / (8 + (0.6 - 0.18) / 2))
    assert result.mci == pytest.approx(1 - 0.9 * 4.19 / 8.21)  # 0.540682


def test_the_2019_terms_change_the_2015_result() -> None:
    as_2015 = dataclasses.replace(BIO_MIXED, sustained_feedstock=0.0, energy_recovery=0.0)
    assert product_circularity(product(BIO_MIXED)).mci > product_circularity(product(as_2015)).mci


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"energy_recovery": 0.6}, "energy_recovery"),  # more than the sustained share
        ({"sustained_feedstock": 0.7}, "sustained_feedstock"),  # more than bio-based
        ({"composted": 0.65, "energy_recovery": 0.0}, "composted"),  # more than bio-based
    ],
)
def test_biological_terms_apply_to_biological_material_only(
    change: dict[str, float], field: str
) -> None:
    broken = dataclasses.replace(BIO_MIXED, recycled_feedstock=0.0, **change)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as error:
        product_circularity(product(broken))
    assert error.value.field == f"materials[0] (mixed).{field}"
