"""The match-making answers as the API and the CLI give them (one schema per use)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

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
