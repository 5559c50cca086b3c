"""precision@k and nDCG@k against hand-computed values."""

from __future__ import annotations

import math

import pytest

from mics.partnership.quality import ndcg_at, precision_at


def test_precision_counts_relevant_places_among_the_first_k() -> None:
    assert precision_at(5, ["a", "x", "b", "y", "z", "c"], {"a", "b", "c"}) == pytest.approx(0.4)


def test_precision_counts_missing_places_as_misses() -> None:
    assert precision_at(5, ["a"], {"a", "b"}) == pytest.approx(0.2)


def test_ndcg_is_one_for_the_ideal_order_and_discounts_later_hits() -> None:
    assert ndcg_at(10, ["a", "b", "x"], {"a", "b"}) == pytest.approx(1.0)
    # hits at ranks 2 and 3: (1/log2 3 + 1/log2 4) / (1 + 1/log2 3)
    expected = (1 / math.log2(3) + 0.5) / (1 + 1 / math.log2(3))
    assert ndcg_at(10, ["x", "a", "b"], {"a", "b"}) == pytest.approx(expected)


def test_ndcg_of_no_relevant_partner_is_zero() -> None:
    assert ndcg_at(10, ["x", "y"], set()) == 0.0
