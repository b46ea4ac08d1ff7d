"""Recall: the best text matches, then the memories linked to them, ranked together.

Every result gets one number (higher is better):

    recall score = RELEVANCE_WEIGHT  × relevance
                 + IMPORTANCE_WEIGHT × memory.importance
                 + CONFIDENCE_WEIGHT × memory.confidence
                 + RECENCY_WEIGHT    × 0.5 ** (age in days / RECENCY_HALF_LIFE_DAYS)

(age: time since `memory.changed_at`).

* A direct match's relevance is its search score divided by the best search
  score of the query (so the best match has relevance 1).
* A linked memory (one relationship away from one of the first `SEED_MATCHES`
  direct matches) has relevance
  ``match relevance × LINK_DECAY × (0.5 + 0.5 × relationship strength) × type factor``,
  where the type factor is 1 for the solution and causal families (SOLVES,
  ADDRESSES, CAUSES, …) and `OTHER_LINK_FACTOR` otherwise.
* Relationships no longer valid are not followed: `invalidated_by` set,
  `valid_until` in the past, or `valid_from` in the future.
* A memory reached several ways keeps its best score. Filters apply to linked
  memories too. Ties go to the smaller id.

The ranked list is built from a fixed pool (`MATCH_POOL` direct matches, or
offset + limit if larger, plus what `SEED_MATCHES` of them link to), so pages
of one query do not overlap.

Recall is read-only: it does not touch `last_accessed` or `usage_count`.
Those fields are part of a memory's canonical form and digest, so a read that
wrote them would make every recall a change (``since`` sync would copy it,
and a migration's verification would see the source change under it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from memorygraph.models import RELATIONSHIP_FAMILIES, Memory, Relationship
from memorygraph.search import RecallHit, SearchFilters, SearchHit
from memorygraph.values import Neighbour

RELEVANCE_WEIGHT = 0.6
IMPORTANCE_WEIGHT = 0.2
CONFIDENCE_WEIGHT = 0.1
RECENCY_WEIGHT = 0.1
RECENCY_HALF_LIFE_DAYS = 30.0
#: A linked memory's relevance, relative to the match it was reached from.
LINK_DECAY = 0.5
#: Type factor of links outside the solution and causal families.
OTHER_LINK_FACTOR = 0.7
#: Direct matches considered (at least), and how many of them are expanded.
MATCH_POOL = 50
SEED_MATCHES = 10
#: Relationships followed per expanded match.
LINKS_PER_MATCH = 25

_STRONG_LINKS = frozenset(RELATIONSHIP_FAMILIES["solution"] + RELATIONSHIP_FAMILIES["causal"])


def is_valid(relationship: Relationship, now: datetime) -> bool:
    """False for a relationship that was invalidated or is outside its validity window."""
    if relationship.invalidated_by:
        return False
    if relationship.valid_until is not None and relationship.valid_until <= now:
        return False
    return relationship.valid_from is None or relationship.valid_from <= now


def blend(memory: Memory, relevance: float, now: datetime) -> float:
    """The recall score of `memory` at `relevance` (see the module docstring)."""
    age_days = max((now - memory.changed_at).total_seconds(), 0.0) / 86400.0
    recency = math.pow(0.5, age_days / RECENCY_HALF_LIFE_DAYS)
    return round(
        RELEVANCE_WEIGHT * relevance
        + IMPORTANCE_WEIGHT * memory.importance
        + CONFIDENCE_WEIGHT * memory.confidence
        + RECENCY_WEIGHT * recency,
        6,
    )


def _quoted(memory: Memory) -> str:
    title = memory.title if len(memory.title) <= 60 else memory.title[:59] + "…"
    return f"{memory.id} ({title!r})"


def link_reason(neighbour: Neighbour, match: Memory) -> str:
    r = neighbour.relationship
    if r.from_id == neighbour.memory.id:
        return f"{r.type.value} {_quoted(match)}, which matched the query"
    return f"{_quoted(match)}, which matched the query, {r.type.value} it"


def rank(
    hits: Sequence[SearchHit],
    links: Sequence[Sequence[Neighbour]],
    filters: SearchFilters,
    now: datetime,
) -> list[RecallHit]:
    """Direct `hits` (best first) and `links[i]` (the neighbours of `hits[i]`), ranked."""
    if not hits:
        return []
    best = max(h.score for h in hits) or 1.0
    results: dict[str, RecallHit] = {}

    def offer(hit: RecallHit) -> None:
        held = results.get(hit.memory.id)
        if held is None or hit.score > held.score:
            results[hit.memory.id] = hit

    for hit in hits:
        relevance = hit.score / best
        offer(
            RecallHit(
                hit.memory,
                blend(hit.memory, relevance, now),
                "matched " + ", ".join(hit.matched) if hit.matched else "similar in meaning",
                hit.matched,
                relevance=hit.relevance,
            )
        )
    for hit, neighbours in zip(hits, links, strict=False):
        for n in neighbours:
            r = n.relationship
            if n.memory.id == hit.memory.id or not is_valid(r, now):
                continue
            if not filters.accepts(n.memory):
                continue
            factor = 1.0 if r.type in _STRONG_LINKS else OTHER_LINK_FACTOR
            decay = LINK_DECAY * (0.5 + 0.5 * r.strength) * factor
            offer(
                RecallHit(
                    n.memory,
                    blend(n.memory, hit.score / best * decay, now),
                    link_reason(n, hit.memory),
                    hit.matched,
                    via=r,
                    relevance=round(hit.relevance * decay, 4),
                )
            )
    return sorted(results.values(), key=lambda h: (-h.score, h.memory.id))
