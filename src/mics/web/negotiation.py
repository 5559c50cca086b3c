"""HTTP content negotiation (RFC 9110 §12.5): one Accept and one Accept-Language parser.

Both honour quality values (``q=``, RFC 9110 §12.4.2) for every route, JSON
and HTML alike.
"""

from __future__ import annotations

from collections.abc import Sequence

JSON = "application/json"
HTML = "text/html"


def negotiate(accept: str | None, offers: tuple[str, ...]) -> str:
    """The offer the Accept header prefers (RFC 9110 §12.5.1); ties go to the first offer."""
    best, best_q = offers[0], -1.0
    ranges = []
    for part in (accept or "*/*").split(","):
        fields = [f.strip() for f in part.split(";")]
        quality = 1.0
        for field in fields[1:]:
            if field.startswith("q="):
                try:
                    quality = float(field[2:])
                except ValueError:
                    quality = 0.0
        ranges.append((fields[0].lower(), quality))
    for offer in offers:
        kind = offer.split("/")[0]
        specificity, quality = -1, 0.0
        for media, q in ranges:
            rank = {offer: 2, f"{kind}/*": 1, "*/*": 0}.get(media, -1)
            if rank > specificity:
                specificity, quality = rank, q
        if specificity >= 0 and quality > best_q:
            best, best_q = offer, quality
    return best


def preferred_language(accept_language: str | None, supported: Sequence[str]) -> str | None:
    """The supported language Accept-Language ranks highest (RFC 9110 §12.5.4), or None.

    A range counts by its primary subtag (``it-IT`` is ``it``); ``q=0`` refuses a
    language; ties go to the range named first.
    """
    ranked = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in supported and quality > 0:
            ranked.append((-quality, position, primary))
    return sorted(ranked)[0][2] if ranked else None


def prefers_html(accept: str | None) -> bool:
    """Whether a browser asks (its Accept header ranks HTML above JSON and problem+json)."""
    return negotiate(accept, ("application/problem+json", JSON, HTML)) == HTML
