"""The passport's languages: which there are, and how a requested one is read.

The one home of both: the resolver's ``?lang=``, the passport JSON, its pages and
the web pages' language switch read the same list. Accept-Language is negotiated
by the faces (``web.negotiation.preferred_language``, q-values honoured).
"""

from __future__ import annotations

from mics.errors import InvalidInput

LANGUAGES = ("en", "it")  # ISO 639-1; English first: the default


def language_code(lang: str) -> str:
    """The passport language ``lang`` asks for (``IT``, ``it-IT``: ``it``), or InvalidInput."""
    code = lang.strip().lower()[:2]
    if code not in LANGUAGES:
        raise InvalidInput(
            f"{lang!r} is not a language of the passport",
            field="lang",
            value=lang,
            expected=" or ".join(LANGUAGES),
        )
    return code
