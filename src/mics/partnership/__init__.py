"""The partnership at work: match-making of partners for project ideas (BM25 + offline
multilingual embeddings, fused by reciprocal rank), with the reasons of each match."""

from mics.partnership.ranking import Match, Query, Reason
from mics.partnership.service import MAX_QUERY_CHARS, match

__all__ = ["MAX_QUERY_CHARS", "Match", "Query", "Reason", "match"]
