"""What the registry says each partner can do: the evidence match-making indexes.

Per partner: its name (an Italian firm's name often says its trade: "Conceria",
"Falegnameria"), each of its competences, the titles and summaries of its projects,
the materials it supplies and the products it makes (with their Italian texts when
the registry has them). Read through the registry's public functions only.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import TypeVar

from mics import registry
from mics.db import Database
from mics.registry.schemas import Page

T = TypeVar("T")
PAGE = 500  # the registry's largest page (registry.service.MAX_PAGE)
# "(example)" marks the demo's fictional names: it says nothing of what a partner does.
_NAME_NOISE = re.compile(r"\((?:example|esempio)\)|\bS\.p\.A\.|\bS\.r\.l\.")


@dataclass(frozen=True)
class Phrase:
    """One piece of evidence: its text and where it comes from (``competence``,
    ``project:<id>``, ``material:<id>``, ``product:<id>``, ``name``)."""

    text: str
    source: str


@dataclass(frozen=True)
class PartnerEvidence:
    """A partner as match-making sees it."""

    partner: str
    name: str
    kind: str
    is_public: bool
    sectors: tuple[str, ...]
    spokes: tuple[int, ...]
    phrases: tuple[Phrase, ...]


@dataclass(frozen=True)
class Evidence:
    """Every partner's evidence, the partnership's sectors and spokes, and a digest that
    changes whenever any of it does (the index is rebuilt only then)."""

    partners: tuple[PartnerEvidence, ...]
    sectors: tuple[str, ...]
    spokes: tuple[int, ...]
    digest: str
    sector_scopes: tuple[str, ...] = ()  # per sector: "name, scope" as the registry says


def _all(fetch: Callable[[int], Page[T]]) -> Iterator[T]:
    offset = 0
    while True:
        page = fetch(offset)
        yield from page.items
        offset += len(page.items)
        if not page.items or offset >= page.total:
            return


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?;])\s+", text) if s.strip()]


def partner_name(name: str) -> str:
    """The partner's name without the demo's "(example)" and the legal form."""
    return re.sub(r"\s+", " ", _NAME_NOISE.sub("", name)).strip(" ,")


def gather(db: Database) -> Evidence:
    """The evidence of every member partner, read from the registry now."""
    partners = list(_all(lambda o: registry.list_partners(db, limit=PAGE, offset=o)))
    phrases: dict[str, list[Phrase]] = {p.id: [] for p in partners}

    def add(partner: str | None, text: str, source: str) -> None:
        text = text.strip()
        if partner in phrases and text and all(x.text != text for x in phrases[partner]):
            phrases[partner].append(Phrase(text, source))

    for p in partners:
        add(p.id, partner_name(p.name), "name")
        for competence in re.split(r"[,;\n]", p.competences):
            add(p.id, competence, "competence")
    for project in _all(lambda o: registry.list_projects(db, limit=PAGE, offset=o)):
        for member in project.partners:
            add(member, project.title, f"project:{project.id}")
            for sentence in _sentences(project.summary):
                if sentence.rstrip(".") == project.title.rstrip(".") or "(fictional)" in sentence:
                    continue  # the title again, or the demo's "this is invented" note
                add(member, sentence, f"project:{project.id}")
    for material in _all(lambda o: registry.list_materials(db, limit=PAGE, offset=o)):
        if material.supplier:
            phrase = f"{material.name} ({material.category})"
            add(material.supplier, phrase, f"material:{material.id}")
    for product in _all(lambda o: registry.list_products(db, limit=PAGE, offset=o)):
        add(product.brand, product.name, f"product:{product.id}")
        for sentence in _sentences(product.description):
            add(product.brand, sentence, f"product:{product.id}")
        for texts in product.texts.values():
            for text in (texts.name or "", *_sentences(texts.description or "")):
                add(product.brand, text, f"product:{product.id}")
    found = tuple(
        PartnerEvidence(
            partner=p.id,
            name=p.name,
            kind=p.kind,
            is_public=p.is_public,
            sectors=tuple(p.sectors),
            spokes=tuple(p.spokes),
            phrases=tuple(phrases[p.id]),
        )
        for p in sorted(partners, key=lambda p: p.id)
    )
    listed = registry.list_sectors(db)
    sectors = tuple(s.id for s in listed)
    scopes = tuple(f"{s.name}, {s.scope}" for s in listed)
    spokes = tuple(s.id for s in registry.list_spokes(db))
    return Evidence(found, sectors, spokes, _digest(found, sectors + scopes, spokes), scopes)


def _digest(
    partners: tuple[PartnerEvidence, ...], sectors: tuple[str, ...], spokes: tuple[int, ...]
) -> str:
    blob = json.dumps([[asdict(p) for p in partners], sectors, spokes], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()
