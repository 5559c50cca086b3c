"""Retrieval quality of a ranking against people's picks: precision@k and nDCG@k.

Binary relevance: a partner a person picked for the idea counts 1, any other 0.
nDCG@k (Järvelin and Kekäläinen, 2002) = DCG@k / ideal DCG@k with
DCG@k = sum over ranks i <= k of rel_i / log2(i + 1).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence


def precision_at(k: int, ranked: Sequence[str], relevant: Collection[str]) -> float:
    """Share of the first ``k`` places held by relevant partners (an empty place counts 0)."""
    return sum(1 for p in ranked[:k] if p in relevant) / k


def ndcg_at(k: int, ranked: Sequence[str], relevant: Collection[str]) -> float:
    """Normalised discounted cumulative gain of the first ``k`` places."""
    dcg = sum(1.0 / math.log2(i + 2) for i, p in enumerate(ranked[:k]) if p in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return dcg / ideal if ideal else 0.0
