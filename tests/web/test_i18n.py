"""The web UI's Italian texts: every template text has one, with the same ``{fields}``."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.requests import Request

from mics.web import i18n, templates_dir

TEXT = re.compile(r"""_\('((?:[^'\\]|\\.)*)'""")
FIELD = re.compile(r"\{(\w+)\}")


def _texts() -> set[str]:
    found = set()
    for template in Path(templates_dir()).glob("*.html"):
        found |= {t.replace("\\'", "'") for t in TEXT.findall(template.read_text("utf-8"))}
    return found


def test_every_template_text_has_an_italian_text_with_the_same_fields() -> None:
    italian = i18n.catalogue("it")
    texts = _texts()
    assert len(texts) > 100
    assert sorted(texts - set(italian)) == []
    for text in texts:
        assert set(FIELD.findall(text)) == set(FIELD.findall(italian[text])), text


def test_translate_fills_fields_and_falls_back_to_english() -> None:
    assert i18n.translate("it", "{n} projects", n=3) == "3 progetti"
    assert i18n.translate("en", "{n} projects", n=3) == "3 projects"
    assert i18n.translate("it", "a text nobody translated") == "a text nobody translated"


def test_names_of_countries_and_processes_in_both_languages() -> None:
    assert i18n.name("country", "DE", "it") == "Germania"
    assert i18n.name("country", "DE", "en") == "Germany"
    assert i18n.name("process", "cnc_machining", "it") == "Lavorazione CNC"
    assert i18n.name("country", "ZZ", "it") == "ZZ"  # no name: the code itself


def _request(query: str = "", cookie: str = "", accept: str = "") -> Request:
    headers = []
    if cookie:
        headers.append((b"cookie", f"{i18n.COOKIE}={cookie}".encode()))
    if accept:
        headers.append((b"accept-language", accept.encode()))
    return Request({"type": "http", "query_string": query.encode(), "headers": headers})


def test_the_language_is_the_query_then_the_cookie_then_accept_language() -> None:
    assert i18n.language(_request()) == "en"
    assert i18n.language(_request(accept="it-IT,it;q=0.9,en;q=0.5")) == "it"
    assert i18n.language(_request(cookie="en", accept="it")) == "en"
    assert i18n.language(_request(query="lang=it", cookie="en")) == "it"
    assert i18n.language(_request(query="lang=fr", cookie="xx", accept="de")) == "en"
