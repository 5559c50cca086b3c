"""The web UI in Italian and English: which language a request reads, and its texts.

The language is, in this order: ``?lang=``, the ``mics_lang`` cookie the switch
in the header sets (``/lang/{code}``), the browser's ``Accept-Language``
(RFC 9110 §12.5.4, ranked as the passport page ranks it), English. Texts are
written in English in the templates as ``{{ _("Partners") }}``; the Italian
ones live in ``data/it.json`` keyed by the English text, so a text without a
translation shows in English rather than as a key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib.resources import files
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from mics.errors import InvalidInput
from mics.passport.languages import LANGUAGES
from mics.web.passport_pages import choose_language

COOKIE = "mics_lang"
LANGUAGE_NAMES: Mapping[str, str] = {"en": "English", "it": "Italiano"}
router = APIRouter(include_in_schema=False)


@cache
def catalogue(lang: str) -> Mapping[str, str]:
    """English text -> text in ``lang`` (empty for English)."""
    if lang == "en":
        return {}
    text = files("mics.web").joinpath("data", f"{lang}.json").read_text("utf-8")
    table: dict[str, str] = json.loads(text)["texts"]
    return table


@cache
def _names() -> Mapping[str, Mapping[str, Mapping[str, str]]]:
    text = files("mics.web").joinpath("data", "names.json").read_text("utf-8")
    table: dict[str, dict[str, dict[str, str]]] = json.loads(text)
    return table


def name(kind: str, code: str, lang: str) -> str:
    """The name of a ``country`` (ISO 3166-1 alpha-2) or a shaping ``process`` in ``lang``;
    the code itself when the table has none."""
    names = _names().get(kind, {}).get(code, {})
    return names.get(lang) or names.get("en") or code


def language(request: Request) -> str:
    """The language ``request`` reads: ``?lang=``, the cookie, Accept-Language, English."""
    asked = request.query_params.get("lang", "")
    if asked in LANGUAGES:
        return asked
    kept = request.cookies.get(COOKIE, "")
    if kept in LANGUAGES:
        return kept
    return choose_language(request)


def translate(lang: str, text: str, **values: Any) -> str:
    """``text`` in ``lang``, its ``{name}`` fields filled from ``values``."""
    found = catalogue(lang).get(text, text)
    return found.format(**values) if values else found


@pass_context
def _gettext(context: Context, text: str, **values: Any) -> str:
    """``text`` in the page language; a field given as markup (``{% set %}`` blocks) stays
    markup inside it while the text and every other field are escaped."""
    lang = _context_language(context)
    if any(isinstance(value, Markup) for value in values.values()):
        return Markup(escape(translate(lang, text))).format(**values)
    return translate(lang, text, **values)


@pass_context
def _context_language(context: Context) -> str:
    if context.get("lang") in LANGUAGES:
        return str(context["lang"])
    request = context.get("request")
    return language(request) if isinstance(request, Request) else "en"


@pass_context
def _name_of(context: Context, kind: str, code: str) -> str:
    return name(kind, code, _context_language(context))


@pass_context
def _product_name(context: Context, product: Any) -> str:
    """A product's name in the page language where its maker gave one (``texts``)."""
    given = product.texts.get(_context_language(context))
    return str(given.name) if given is not None and given.name else str(product.name)


def install(templates: Jinja2Templates) -> Jinja2Templates:
    """Give ``templates`` the ``_()`` function and the page language ``page_lang()``."""
    templates.env.globals["_"] = _gettext
    templates.env.globals["page_lang"] = _context_language
    templates.env.globals["language_names"] = LANGUAGE_NAMES
    templates.env.globals["name_of"] = _name_of
    templates.env.filters["product_name"] = _product_name
    return templates


@router.get("/lang/{code}")
def switch_language(code: str, next: str = "/") -> RedirectResponse:
    """Keep ``code`` as the reader's language (a cookie for a year) and go back to ``next``."""
    if code not in LANGUAGES:
        raise InvalidInput(
            "unsupported language", field="code", value=code, expected=" or ".join(LANGUAGES)
        )
    # Only a path on this site: an open redirect would let a link send readers anywhere.
    target = next if next.startswith("/") and not next.startswith(("//", "/\\")) else "/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, code, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
    return response
