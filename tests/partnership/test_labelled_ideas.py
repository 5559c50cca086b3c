"""Quality on the labelled ideas (labelled_ideas.json): BM25 alone, embeddings alone, hybrid.

The figures are in the README ("Match-making"); ``bench/match_quality.py`` prints them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mics.db import Database
from mics.demo import load_demo
from mics.partnership import encoder, index, ranking
from mics.partnership.quality import ndcg_at, precision_at

IDEAS = json.loads((Path(__file__).parent / "labelled_ideas.json").read_text("utf-8"))["ideas"]


@pytest.fixture(scope="module")
def scores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[float, float]]:
    db = Database.from_url(f"sqlite:///{tmp_path_factory.mktemp('ideas') / 'demo.db'}")
    db.upgrade()
    load_demo(db)
    built = index.current(db)
    vectors = encoder.embed([idea["text"] for idea in IDEAS])
    out: dict[str, tuple[float, float]] = {}
    for method in ranking.METHODS:
        p5, n10 = [], []
        for idea, vector in zip(IDEAS, vectors, strict=True):
            query = ranking.Query(idea["text"])
            ranked = [m.partner for m in ranking.rank(built, query, vector, method=method)]
            p5.append(precision_at(5, ranked, idea["relevant"]))
            n10.append(ndcg_at(10, ranked, idea["relevant"]))
        out[method] = (sum(p5) / len(p5), sum(n10) / len(n10))
    db.dispose()
    return out


def test_the_set_has_thirty_ideas_half_italian_half_english() -> None:
    assert len(IDEAS) >= 30
    assert sum(i["lang"] == "it" for i in IDEAS) == sum(i["lang"] == "en" for i in IDEAS)


def test_every_picked_partner_is_a_demo_partner() -> None:
    demo = Path(__file__).parents[2] / "src/mics/registry/data/demo.json"
    partners = {p["id"] for p in json.loads(demo.read_text("utf-8"))["partners"]}
    assert {p for i in IDEAS for p in i["relevant"]} <= partners


def test_embeddings_find_what_bm25_misses_in_paraphrased_ideas(
    scores: dict[str, tuple[float, float]],
) -> None:
    assert scores["embedding"][1] > scores["bm25"][1] + 0.4
    assert scores["embedding"][0] > 0.4


def test_the_hybrid_is_never_below_either_retriever(scores: dict[str, tuple[float, float]]) -> None:
    """On these paraphrased ideas the hybrid ties embeddings alone (README: what was tried)."""
    for method in ("bm25", "embedding"):
        assert scores["hybrid"][0] >= scores[method][0]
        assert scores["hybrid"][1] >= scores[method][1]
    assert scores["hybrid"][1] > scores["bm25"][1]
