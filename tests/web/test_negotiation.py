"""One Accept parser (RFC 9110 §12.5.1) for the resolver, the pages and the error pages."""

from __future__ import annotations

from pathlib import Path

from mics.web.negotiation import HTML, JSON, negotiate, preferred_language, prefers_html

JSON_LD = "application/ld+json"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_accept_negotiation_prefers_quality_then_specificity() -> None:
    offers = (JSON_LD, HTML, JSON)
    assert negotiate(BROWSER, offers) == HTML
    assert negotiate("*/*", offers) == JSON_LD
    assert negotiate(None, offers) == JSON_LD
    assert negotiate("application/json", offers) == JSON
    assert negotiate("text/html;q=0.1, application/*;q=0.5", offers) == JSON_LD


def test_only_a_browser_that_ranks_html_first_prefers_html() -> None:
    assert prefers_html(BROWSER)
    assert prefers_html("text/html")
    assert not prefers_html(None)  # curl, scripts: no Accept header
    assert not prefers_html("*/*")
    assert not prefers_html("application/json, text/html;q=0.5")
    assert not prefers_html("application/problem+json")


def test_the_openapi_document_declares_the_bearer_scheme_on_keyed_routes(
    tmp_path: Path,
) -> None:
    from mics.api import create_app
    from mics.config import Settings
    from mics.db import Database

    db = Database.from_url(f"sqlite:///{tmp_path / 'docs.db'}")
    db.upgrade()
    spec = create_app(Settings(home=tmp_path / "var"), db).openapi()
    db.dispose()
    scheme = spec["components"]["securitySchemes"]["partnerKey"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    secured = {
        (method, path)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if {"partnerKey": []} in operation.get("security", [])
    }
    assert ("post", "/epcis/capture") in secured  # /docs shows the lock and Authorize
    assert ("post", "/api/products") in secured
    assert ("get", "/api/sectors") not in secured


def test_accept_language_is_ranked_by_quality_for_json_and_html_alike() -> None:
    supported = ("en", "it")
    assert preferred_language("de, en;q=0.5, it;q=0.7", supported) == "it"
    assert preferred_language("it-IT,it;q=0.9,en;q=0.8", supported) == "it"
    assert preferred_language("it;q=0, en", supported) == "en"
    assert preferred_language("en;q=0.2, it;q=0.2", supported) == "en"  # a tie: first named
    assert preferred_language("de, fr", supported) is None
    assert preferred_language(None, supported) is None
