"""A consortium for an idea: 3-7 partners who together cover what the idea needs.

Rules (issue 19): cover the competences the idea needs; mix public research and
industry (at least one university or research centre, and one enterprise); span the
sectors the idea names; no two members in the same role. A member's role is its kind
and the need it covers best ("enterprise for 'recycled gold'"): two goldsmiths for the
same need are one too many, a goldsmith and a university for it are the mix asked for.

Greedy set cover (Chvátal 1979: within ln n of the smallest cover): at each step the
candidate adding the most - needs newly covered, then a missing side of the
research/industry mix, then a sector not yet spanned, then depth; on a tie, the one
whose evidence fits its needs best, then the better match - joins,
until nothing is missing and there are at least ``MIN_MEMBERS``, or there are
``MAX_MEMBERS``. What no candidate covers is reported as missing. Pure: the index,
the needs' vectors and the ranked candidates come in.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources

import numpy as np

from mics.partnership import text
from mics.partnership.encoder import Vectors
from mics.partnership.index import MatchIndex
from mics.partnership.ranking import Match

MIN_MEMBERS, MAX_MEMBERS = 3, 7  # issue 19: a consortium of 3-7 partners
RESEARCH = ("university", "research_centre")
INDUSTRY = ("enterprise",)
# Cosine similarity (USE v3) from which a phrase of a partner's evidence covers a need:
# on the demo, phrases on the need's topic score 0.45-0.8, while unrelated ones reach
# 0.39 ("leather" and "cobots").
COVERS = 0.45
# A phrase also covers a need when it shares half the need's words, one of them a word
# at most a fifth of the partners use: USE gives "a footprint calculation" and
# "Footprint feedback while designing: LCA" 0.19, and "tag NFC" and "...and NFC tags"
# 0.38, while a common word ("recycled", "leather": 6 of the 25 demo partners) says little.
RARE_WORD_SHARE, SHARED_WORDS = 0.2, 0.5
# Step gains: a need covered outweighs the mix, which outweighs a sector, which
# outweighs depth (a need covered twice).
NEED_GAIN, MIX_GAIN, SECTOR_GAIN, DEPTH_GAIN = 4.0, 2.0, 1.5, 0.5
# Where an idea splits into needs: punctuation and the joining words of both languages.
_SPLIT = re.compile(r"[,;:.!?\n]+|\s(?:and|with|plus|e|ed|con)\s", re.I)


@dataclass(frozen=True)
class Contribution:
    """What a member brings to one need: the phrase of its evidence that covers it."""

    need: str
    phrase: str
    source: str
    similarity: float


@dataclass(frozen=True)
class Member:
    partner: str
    name: str
    kind: str
    role: str
    sectors: tuple[str, ...]
    brings: tuple[Contribution, ...]


@dataclass(frozen=True)
class Consortium:
    idea: str
    needs: tuple[str, ...]
    sectors: tuple[str, ...]
    members: tuple[Member, ...]
    missing: tuple[str, ...]


def split_needs(idea: str) -> list[str]:
    """The parts of ``idea`` that each ask for something (a content word at least);
    the whole idea when it does not split."""
    parts = [p.strip() for p in _SPLIT.split(idea) if p and p.strip()]
    needs = [p for p in parts if text.words(p)]
    return list(dict.fromkeys(needs)) or [idea.strip()]


def _sector_words() -> dict[str, list[str]]:
    raw = resources.files("mics.partnership").joinpath("data", "sector_words.json")
    words: dict[str, list[str]] = json.loads(raw.read_text("utf-8"))["sectors"]
    return words


def named_sectors(idea: str, sectors: dict[str, str]) -> list[str]:
    """The sectors ``idea`` names: by a word of ``sector_words.json`` or of the sector's own
    name and scope (``sectors``: id -> "name, scope"), compared by stem."""
    idea_stems = {s for w in text.words(idea) for s in w.stems}
    found = []
    extra = _sector_words()
    for sector, described in sectors.items():
        vocabulary = [*extra.get(sector, []), *re.split(r"[,\s]+", described)]
        stems = {s for w in vocabulary for word in text.words(w) for s in word.stems}
        if idea_stems & stems:
            found.append(sector)
    return found


def propose(
    index: MatchIndex,
    idea: str,
    needs: list[str],
    need_vectors: Vectors,
    candidates: list[Match],
    sectors: list[str],
) -> Consortium:
    """The consortium for ``idea`` drawn from ``candidates`` (ranked matches)."""
    partners = {p.partner: (i, p) for i, p in enumerate(index.evidence.partners)}
    # cover[c][n]: best similarity of candidate c's phrases to need n, and which phrase
    sims = index.phrase_vectors @ need_vectors.T if len(index.phrase_vectors) else None
    contributions: dict[str, list[Contribution]] = {}
    for m in candidates:
        position, evidence = partners[m.partner]
        rows = np.flatnonzero(index.phrase_owner == position)
        found = []
        for n, need in enumerate(needs):
            if sims is None or not len(rows):
                continue
            need_words = [w.stems for w in text.words(need)]
            rare = {
                s
                for stems in need_words
                for s in stems
                if sum(s in have for have in index.partner_stems)
                <= RARE_WORD_SHARE * len(index.partner_stems)
            }
            best: tuple[float, int] | None = None
            for row in rows.tolist():
                similarity = float(sims[row, n])
                said = {s for w in index.phrase_words[row] for s in w.stems}
                shares = bool(rare & said) and sum(
                    bool(said.intersection(stems)) for stems in need_words
                ) >= SHARED_WORDS * len(need_words)
                rank_key = similarity + (1.0 if shares else 0.0)
                if (similarity >= COVERS or shares) and (best is None or rank_key > best[0]):
                    best = (rank_key, row)
            if best is not None:
                phrase = evidence.phrases[best[1] - int(rows[0])]
                similarity = round(float(sims[best[1], n]), 3)
                found.append(Contribution(need, phrase.text, phrase.source, similarity))
        contributions[m.partner] = found

    chosen: list[Match] = []
    roles: set[str] = set()
    covered: set[str] = set()
    spanned: set[str] = set()

    def role(m: Match) -> str:
        brings = contributions[m.partner]
        top = max(brings, key=lambda c: c.similarity).need if brings else "the idea as a whole"
        return f"{m.kind} for '{top}'"

    def gain(m: Match) -> float:
        """What ``m`` adds (needs, mix, sectors, depth); 0 when it adds none of them."""
        evidence = partners[m.partner][1]
        kinds = {c.kind for c in chosen}
        needs_met = {c.need for c in contributions[m.partner]}
        new_needs = needs_met - covered
        mix = (m.kind in RESEARCH and not kinds & set(RESEARCH)) + (
            m.kind in INDUSTRY and not kinds & set(INDUSTRY)
        )
        new_sectors = (set(evidence.sectors) & set(sectors)) - spanned
        return (
            NEED_GAIN * len(new_needs)
            + MIX_GAIN * mix
            + SECTOR_GAIN * len(new_sectors)
            + DEPTH_GAIN * len(needs_met & covered)
        )

    def strength(m: Match) -> float:
        """How closely its evidence fits the needs it covers: breaks ties of gain."""
        return sum(c.similarity for c in contributions[m.partner])

    def complete() -> bool:
        kinds = {c.kind for c in chosen}
        return (
            covered >= set(needs)
            and bool(kinds & set(RESEARCH))
            and bool(kinds & set(INDUSTRY))
            and spanned >= set(sectors)
        )

    while len(chosen) < MAX_MEMBERS and not (complete() and len(chosen) >= MIN_MEMBERS):
        pool = [m for m in candidates if m not in chosen and role(m) not in roles]
        if not pool:
            break
        pick = max(pool, key=lambda m: (gain(m), strength(m), m.score, -candidates.index(m)))
        if gain(pick) == 0 and len(chosen) >= MIN_MEMBERS:
            break  # nobody left adds a need, a side of the mix or a sector
        chosen.append(pick)
        roles.add(role(pick))
        covered |= {c.need for c in contributions[pick.partner]}
        spanned |= set(partners[pick.partner][1].sectors) & set(sectors)

    kinds = {c.kind for c in chosen}
    missing = [f"nobody covers '{n}'" for n in needs if n not in covered]
    if not kinds & set(RESEARCH):
        missing.append("no university or research centre")
    if not kinds & set(INDUSTRY):
        missing.append("no enterprise")
    missing += [f"nobody works in sector {s}" for s in sectors if s not in spanned]
    if len(chosen) < MIN_MEMBERS:
        missing.append(f"only {len(chosen)} partners: a consortium has at least {MIN_MEMBERS}")
    members = tuple(
        Member(
            partner=m.partner,
            name=m.name,
            kind=m.kind,
            role=role(m),
            sectors=partners[m.partner][1].sectors,
            brings=tuple(contributions[m.partner]),
        )
        for m in chosen
    )
    return Consortium(idea, tuple(needs), tuple(sectors), members, tuple(missing))
