"""Stage 2: explicit relations with self-consistency (Motion-R1 §3.1.3, "Explicit Relationship
Extraction").

The model lists the relations the dialogue states between the kept entities as triplets
``(e_i, e_j, r)`` (written ``{head, relation, tail}``); a triplet is kept when more than half
of the ``samples`` answers contain it (:func:`~m2m_bench.construct.voting.majority_vote`,
keyed by :func:`~m2m_bench.construct.voting.relation_key`). Heads and tails must be kept
entities (matched by :func:`~m2m_bench.construct.voting.text_key` and written in the
entity's kept form) and differ from each other; anything else is a malformed answer. A
record with fewer than two entities skips the stage; an empty result is valid.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..parsing import ParseError, extract_json, require_list, require_text
from ..voting import index_by_key, majority_vote, relation_key, text_key
from ._base import DIALOGUE, Item, Stage, StageParams, as_json, entity_list

#: Most relations accepted in one answer.
MAX_RELATIONS = 40


def parse_triplet(rel: Any, where: str, entities: dict[str, Any]) -> dict[str, str]:
    """``{head, relation, tail}`` with head and tail mapped onto kept entities (shared with
    the implicit stage)."""
    head = require_text(rel, "head", where, 80)
    relation = require_text(rel, "relation", where, 60)
    tail = require_text(rel, "tail", where, 80)
    ends = []
    for role, value in (("head", head), ("tail", tail)):
        ent = entities.get(text_key(value))
        if ent is None:
            raise ParseError(f'{where}: {role} "{value}" is not one of the listed entities', "hallucinated_entity")
        ends.append(ent["text"])
    if text_key(ends[0]) == text_key(ends[1]):
        raise ParseError(f"{where}: head and tail must be two different entities", "self_relation")
    if not text_key(relation):
        raise ParseError(f"{where}: the relation has no words", "missing_field")
    return {"head": ends[0], "relation": relation, "tail": ends[1]}


class ExplicitStage(Stage):
    name = "explicit"
    version = "1"
    template = DIALOGUE + """Entities: $entities
List the relations between these entities that the dialogue states directly. Use only entities from the list as head and tail.$suggestions
Reply with JSON only, in this format: {"relations": [{"head": "...", "relation": "...", "tail": "..."}]}"""
    defaults = {"samples": 3, "temperature": 0.7, "max_tokens": 400}

    def fields(self, item: Item, ctx: Any) -> dict[str, str] | None:
        ents = entity_list(item)
        if len(ents) < 2:
            return None
        rel_types = [n for n, _ in ctx.taxonomy.relation_types]
        sugg = f"\nUseful relation words: {', '.join(rel_types)}." if rel_types else ""
        return {"conversation": item.record.conversation, "entities": as_json(ents), "suggestions": sugg}

    def parse(self, text: str, item: Item, ctx: Any) -> list[dict[str, str]]:
        obj = extract_json(text)
        entities = index_by_key(item.value("entities", []))
        out, seen = [], set()
        for i, rel in enumerate(require_list(obj, "relations", MAX_RELATIONS)):
            t = parse_triplet(rel, f"relations[{i}]", entities)
            k = relation_key(t["head"], t["relation"], t["tail"])
            if k not in seen:
                seen.add(k)
                out.append(t)
        return out

    def reduce(self, item: Item, samples: Sequence[Any | None], params: StageParams, ctx: Any) -> list[dict[str, Any]]:
        kept = majority_vote(samples, key=lambda r: relation_key(r["head"], r["relation"], r["tail"]), n=params.samples)
        return [{**r, "votes": v} for r, v in kept]
