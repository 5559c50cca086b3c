"""HTTP content negotiation (RFC 9110 §12.5.1): one Accept parser for every route."""

from __future__ import annotations

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


def prefers_html(accept: str | None) -> bool:
    """Whether a browser asks (its Accept header ranks HTML above JSON and problem+json)."""
    return negotiate(accept, ("application/problem+json", JSON, HTML)) == HTML
