"""Quality on the labelled ideas (labelled_ideas.json): BM25 alone, embeddings alone, hybrid.

Two sets: 32 paraphrased ideas (16 Italian, 16 English) and 14 short requests naming
technical terms. The figures are in the README ("Match-making: quality");
``bench/match.py`` prints them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.databases import Templates

from mics.partnership import encoder, index, ranking
from mics.partnership.quality import ndcg_at, precision_at

IDEAS = json.loads((Path(__file__).parent / "labelled_ideas.json").read_text("utf-8"))["ideas"]
Scores = dict[tuple[str, str], tuple[float, float]]  # (method, set) -> (P@5, nDCG@10)


@pytest.fixture(scope="module")
def scores(tmp_path_factory: pytest.TempPathFactory, templates: Templates) -> Scores:
    db = templates.sqlite("demo", tmp_path_factory.mktemp("ideas") / "demo.db")
    built = index.current(db)
    vectors = encoder.embed([idea["text"] for idea in IDEAS])
    out: Scores = {}
    for method in ranking.METHODS:
        for which in ("paraphrased", "terms", "all"):
            p5, n10 = [], []
            for idea, vector in zip(IDEAS, vectors, strict=True):
                if which != "all" and idea["set"] != which:
                    continue
                query = ranking.Query(idea["text"])
                ranked = [m.partner for m in ranking.rank(built, query, vector, method=method)]
                p5.append(precision_at(5, ranked, idea["relevant"]))
                n10.append(ndcg_at(10, ranked, idea["relevant"]))
            out[method, which] = (sum(p5) / len(p5), sum(n10) / len(n10))
    db.dispose()
    return out


def test_the_paraphrased_set_has_thirty_ideas_half_italian_half_english() -> None:
    paraphrased = [i for i in IDEAS if i["set"] == "paraphrased"]
    assert len(paraphrased) >= 30
    assert sum(i["lang"] == "it" for i in paraphrased) == sum(
        i["lang"] == "en" for i in paraphrased
    )


def test_every_picked_partner_is_a_demo_partner() -> None:
    demo = Path(__file__).parents[2] / "src/mics/registry/data/demo.json"
    partners = {p["id"] for p in json.loads(demo.read_text("utf-8"))["partners"]}
    assert {p for i in IDEAS for p in i["relevant"]} <= partners


def test_embeddings_find_what_bm25_misses_in_paraphrased_ideas(scores: Scores) -> None:
    assert scores["embedding", "paraphrased"][1] > scores["bm25", "paraphrased"][1] + 0.4


def test_on_technical_terms_the_hybrid_beats_both(scores: Scores) -> None:
    for method in ("bm25", "embedding"):
        assert scores["hybrid", "terms"][1] > scores[method, "terms"][1]
        assert scores["hybrid", "terms"][0] > scores[method, "terms"][0]


def test_on_paraphrased_ideas_the_hybrid_is_not_below_either(scores: Scores) -> None:
    for method in ("bm25", "embedding"):
        assert scores["hybrid", "paraphrased"][0] >= scores[method, "paraphrased"][0]
        assert scores["hybrid", "paraphrased"][1] >= scores[method, "paraphrased"][1]


def test_over_all_ideas_the_hybrid_beats_both(scores: Scores) -> None:
    for method in ("bm25", "embedding"):
        assert scores["hybrid", "all"][0] > scores[method, "all"][0]
        assert scores["hybrid", "all"][1] > scores[method, "all"][1]
