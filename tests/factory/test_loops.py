"""The analytic closed forms, against values worked by hand."""

from __future__ import annotations

import math

import pytest

from mics.factory import loops


def test_expected_uses_is_the_geometric_series() -> None:
    assert loops.expected_uses(0.9) == pytest.approx(10.0)
    assert loops.expected_uses(0.0) == 1.0
    assert loops.uses_with_limit(0.5, 2) == pytest.approx(1 + 0.5 + 0.25)


def test_loops_to_half() -> None:
    assert loops.loops_to_half(0.5) == pytest.approx(1.0)
    # 0.9^6.58 = 0.5
    assert loops.loops_to_half(0.9) == pytest.approx(6.5788, abs=1e-4)
    with pytest.raises(ValueError, match="yield"):
        loops.loops_to_half(1.0)


def test_stock_decay_with_a_return_lag() -> None:
    # 100 kg, 1 kg/day, 80% back after 5 days: 100 - 20 + 0.8 * 15 = 92 at day 20
    assert loops.stock_after(20, 100, 1, 0.8, 5) == pytest.approx(92.0)
    assert loops.stock_after(3, 100, 1, 0.8, 5) == pytest.approx(97.0)
    # runs out when 100 - t + 0.8 (t - 5) = 0: t = 96 / 0.2 = 480
    assert loops.self_sufficiency_days(100, 1, 0.8, 5) == pytest.approx(480.0)
    assert loops.self_sufficiency_days(3, 1, 0.8, 5) == pytest.approx(3.0)
    assert math.isinf(loops.self_sufficiency_days(100, 1, 1.0, 5))


def test_refresh_blend_steady_state() -> None:
    assert loops.refresh_mean_loops(0.5) == pytest.approx(1.0)
    assert loops.refresh_mean_loops(0.3) == pytest.approx(0.7 / 0.3)
    assert loops.refresh_steady_oxygen(0.11, 0.003, 0.25) == pytest.approx(0.11 + 0.009)
    # s = 0.5 / (1 - 0.5 * 0.9) = 0.5 / 0.55
    assert loops.refresh_steady_strength(0.1, 0.5) == pytest.approx(0.5 / 0.55)
