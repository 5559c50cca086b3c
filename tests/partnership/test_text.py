"""Words, stems and stop words for BM25 in Italian and English."""

from __future__ import annotations

from mics.partnership import text


def test_italian_and_english_forms_meet_on_a_shared_stem() -> None:
    assert "robot" in text.stems("robotica")
    assert "robot" in text.stems("robotics")


def test_italian_plural_and_singular_share_a_stem() -> None:
    assert set(text.stems("sedia")) & set(text.stems("sedie")) == {"sed"}


def test_stop_words_of_both_languages_are_dropped_and_positions_kept() -> None:
    found = text.words("Le sedie of the Brianza")
    assert [(w.text, w.start, w.end) for w in found] == [("sedie", 3, 8), ("Brianza", 16, 23)]


def test_tokens_hold_every_stem_of_every_content_word() -> None:
    assert text.tokens("gioielli riciclati") == ["gioielli", "gioiell", "riciclati", "ricicl"]
