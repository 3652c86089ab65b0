"""Stage 1: entity extraction with self-consistency (Motion-R1 §3.1.3, "Entities Extraction").

The model lists the entities of the dialogue with a type from the taxonomy; ``samples``
answers are drawn and an entity is kept when more than half of them name it
(:func:`~m2m_bench.construct.voting.majority_vote`, keyed by
:func:`~m2m_bench.construct.voting.text_key`; its type is voted the same way). An answer is
unusable (and retried) when it is not JSON, lacks fields, uses a type outside the taxonomy or
names an entity that does not occur in the dialogue (:func:`~m2m_bench.construct.voting.mentioned`).
A record where no entity reaches a majority fails the stage (``no_majority``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..parsing import ParseError, extract_json, require_list, require_text
from ..voting import majority_vote, mentioned, text_key
from ._base import DIALOGUE, Item, Stage, StageFailure, StageParams
from .taxonomy import type_name

#: Most entities accepted in one answer.
MAX_ENTITIES = 30


class EntitiesStage(Stage):
    name = "entities"
    version = "2"  # v2: an entity may occur only in possessive form ("Neema's")
    template = DIALOGUE + """List the entities in this dialogue: the people, objects, places and other things that matter for what someone would physically do. Copy each entity's words exactly from the dialogue.
Allowed types: $types.
Reply with JSON only, in this format: {"entities": [{"text": "...", "type": "..."}]}"""
    defaults = {"samples": 3, "temperature": 0.7, "max_tokens": 400}

    def fields(self, item: Item, ctx: Any) -> dict[str, str]:
        return {"conversation": item.record.conversation, "types": ", ".join(ctx.taxonomy.entity_names)}

    def parse(self, text: str, item: Item, ctx: Any) -> list[dict[str, str]]:
        obj = extract_json(text)
        allowed = set(ctx.taxonomy.entity_names)
        out: list[dict[str, str]] = []
        seen: set[str] = set()
        for i, ent in enumerate(require_list(obj, "entities", MAX_ENTITIES)):
            where = f"entities[{i}]"
            surface = require_text(ent, "text", where, 80)
            etype = type_name(require_text(ent, "type", where, 40))
            if etype not in allowed:
                raise ParseError(
                    f'{where}: type "{ent["type"]}" is not one of the allowed types ({", ".join(sorted(allowed))})',
                    "bad_type",
                )
            if not mentioned(surface, item.record.conversation):
                raise ParseError(f'{where}: "{surface}" does not occur in the dialogue', "hallucinated_entity")
            k = text_key(surface)
            if k and k not in seen:
                seen.add(k)
                out.append({"text": surface, "type": etype})
        return out

    def reduce(self, item: Item, samples: Sequence[Any | None], params: StageParams, ctx: Any) -> list[dict[str, Any]]:
        kept = majority_vote(samples, key=lambda e: text_key(e["text"]), n=params.samples)
        if not kept:
            raise StageFailure("no_majority", f"no entity was named by more than half of {params.samples} samples")
        return [{"text": e["text"], "type": e["type"], "votes": v} for e, v in kept]
