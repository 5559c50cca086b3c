"""The match-making index: BM25 over each partner's evidence and a vector per phrase.

Built from ``evidence.gather`` once per registry state: each database keeps its index
with the evidence digest it was built from. A query re-reads the evidence at most
every ``FRESHNESS_SECONDS`` and rebuilds only when the digest changed, so a query
costs a BM25 lookup and one sentence embedding, not a pass over the registry. Each
process (each API worker) keeps its own index and sees a registry change made by
another process within ``FRESHNESS_SECONDS``.

BM25 is Robertson-Spärck Jones with Lucene's IDF (``bm25s``, k1 = 1.5, b = 0.75).
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass

import bm25s
import numpy as np
from numpy.typing import NDArray

from mics.db import Database
from mics.partnership import encoder, text
from mics.partnership.evidence import Evidence, gather

# How stale an index may be: registry edits are rare and made by people, and re-reading
# the registry costs ~25 ms on the demo, half a query's budget (README, "Match-making").
FRESHNESS_SECONDS = 5.0


@dataclass(frozen=True)
class MatchIndex:
    """The evidence and what was computed from it for retrieval.

    ``phrase_owner[i]`` is the position (in ``evidence.partners``) of the partner whose
    phrase ``i`` is; ``phrase_vectors[i]`` its embedding; ``phrase_words[i]`` its words.
    """

    evidence: Evidence
    bm25: bm25s.BM25 | None  # None: no partner has a word to index (an empty registry)
    vocabulary: frozenset[str]
    phrase_owner: NDArray[np.int64]
    phrase_vectors: encoder.Vectors
    phrase_words: tuple[tuple[text.Word, ...], ...]
    partner_stems: tuple[frozenset[str], ...]

    def bm25_scores(self, stems: list[str]) -> NDArray[np.float64]:
        """BM25 score of each partner's evidence for the query ``stems`` (0 when none match)."""
        known = [s for s in stems if s in self.vocabulary]
        if not known or self.bm25 is None:
            return np.zeros(len(self.evidence.partners))
        return np.asarray(self.bm25.get_scores(known), dtype=np.float64)


def build(evidence: Evidence) -> MatchIndex:
    """The index of ``evidence``: one BM25 document per partner, one vector per phrase."""
    documents = [
        [stem for phrase in p.phrases for stem in text.tokens(phrase.text)]
        for p in evidence.partners
    ]
    bm25 = None
    if any(documents):  # bm25s cannot index a corpus without a single word
        bm25 = bm25s.BM25()
        bm25.index(documents, show_progress=False)
    owner = [i for i, p in enumerate(evidence.partners) for _ in p.phrases]
    phrases = [phrase.text for p in evidence.partners for phrase in p.phrases]
    return MatchIndex(
        evidence=evidence,
        bm25=bm25,
        vocabulary=frozenset(s for doc in documents for s in doc),
        phrase_owner=np.asarray(owner, dtype=np.int64),
        phrase_vectors=encoder.embed_phrases(phrases),
        phrase_words=tuple(tuple(text.words(p)) for p in phrases),
        partner_stems=tuple(frozenset(doc) for doc in documents),
    )


@dataclass
class _Kept:
    index: MatchIndex
    checked_at: float


_lock = threading.Lock()
_kept: weakref.WeakKeyDictionary[Database, _Kept] = weakref.WeakKeyDictionary()
builds = 0  # how many indexes this process built (tests check it is one per registry state)


def current(db: Database, *, refresh: bool = False) -> MatchIndex:
    """The index of ``db``'s registry: checked against the registry when older than
    ``FRESHNESS_SECONDS`` (or ``refresh``), rebuilt only when the evidence changed."""
    global builds
    with _lock:
        kept = _kept.get(db)
        now = time.monotonic()
        if kept is not None and not refresh and now - kept.checked_at < FRESHNESS_SECONDS:
            return kept.index
        evidence = gather(db)
        if kept is None or kept.index.evidence.digest != evidence.digest:
            kept = _Kept(build(evidence), now)
            builds += 1
            _kept[db] = kept
        kept.checked_at = now
        return kept.index
