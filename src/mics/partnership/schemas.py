"""The match-making answers as the API and the CLI give them (one schema per use)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mics.partnership.consortium import Consortium
from mics.partnership.ranking import Match, Reason


class ReasonOut(BaseModel):
    kind: Literal["evidence", "sector", "spoke"]
    text: str = Field(description="the evidence phrase, or the sector/spoke fit in words")
    source: str = Field(
        default="", description="where the phrase comes from: competence, project:<id>, ..."
    )
    matched: list[str] = Field(
        default_factory=list, description="words of the phrase that the idea shares"
    )
    similarity: float | None = Field(
        default=None, description="cosine similarity of the phrase to the idea (USE v3)"
    )
    fit: bool | None = Field(default=None, description="for sector/spoke: the partner is in it")

    @classmethod
    def of(cls, reason: Reason) -> ReasonOut:
        return cls(
            kind=reason.kind,
            text=reason.text,
            source=reason.source,
            matched=list(reason.matched),
            similarity=reason.similarity,
            fit=reason.fit,
        )


class MatchOut(BaseModel):
    partner: str = Field(description="the partner's id")
    score: float = Field(description="reciprocal-rank fusion score plus fit (higher is better)")
    reasons: list[ReasonOut]

    @classmethod
    def of(cls, found: Match) -> MatchOut:
        return cls(
            partner=found.partner,
            score=found.score,
            reasons=[ReasonOut.of(r) for r in found.reasons],
        )


class ConsortiumIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    idea: str = Field(description="the project idea, in Italian or English")
    sectors: list[str] | None = Field(
        default=None, description="sectors the consortium must span (default: those the idea names)"
    )
    needs: list[str] | None = Field(
        default=None, description="competences the idea needs (default: the parts of the idea)"
    )


class ContributionOut(BaseModel):
    need: str
    phrase: str = Field(description="the member's evidence that covers the need")
    source: str
    similarity: float


class MemberOut(BaseModel):
    partner: str
    name: str
    kind: str
    role: str = Field(description="its kind and the need it covers best: one member per role")
    sectors: list[str]
    brings: list[ContributionOut]


class ConsortiumOut(BaseModel):
    idea: str
    needs: list[str]
    sectors: list[str]
    members: list[MemberOut]
    missing: list[str] = Field(description="needs nobody covers, sides of the mix, sectors")

    @classmethod
    def of(cls, c: Consortium) -> ConsortiumOut:
        return cls(
            idea=c.idea,
            needs=list(c.needs),
            sectors=list(c.sectors),
            members=[
                MemberOut(
                    partner=m.partner,
                    name=m.name,
                    kind=m.kind,
                    role=m.role,
                    sectors=list(m.sectors),
                    brings=[
                        ContributionOut(
                            need=b.need, phrase=b.phrase, source=b.source, similarity=b.similarity
                        )
                        for b in m.brings
                    ],
                )
                for m in c.members
            ],
            missing=list(c.missing),
        )
