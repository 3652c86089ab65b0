"""Stage 3: implicit relation candidates with likelihoods (Motion-R1 §3.1.3, eq. 1).

From the dialogue, the kept entities and the stated relations, the model proposes relations
between entity pairs that are implied but not stated, each with a likelihood in [0, 1]. Over
``samples`` answers a candidate's likelihood is
:func:`~m2m_bench.construct.voting.pooled_likelihood` (``L = (1/n) * sum_s p_s``, 0 for
samples that did not propose it). Candidates that repeat a stated relation are removed, and
the ``max_candidates`` most likely go on to discrimination. Heads and tails must be kept
entities, as in the explicit stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..parsing import extract_json, require_list, require_unit
from ..voting import index_by_key, pooled_likelihood, relation_key
from ._base import DIALOGUE, Item, Stage, StageParams, as_json, entity_list, relation_lines
from .explicit import MAX_RELATIONS, parse_triplet


class ImplicitStage(Stage):
    name = "implicit"
    version = "1"
    template = DIALOGUE + """Entities: $entities
Stated relations:
$explicit
Infer relations between these entities that the dialogue does not state but implies (for example what someone must do to or with something). Use only entities from the list. Give each a likelihood between 0 and 1.
Reply with JSON only, in this format: {"relations": [{"head": "...", "relation": "...", "tail": "...", "likelihood": 0.7}]}"""
    defaults = {"samples": 3, "temperature": 0.7, "max_tokens": 500, "options": {"max_candidates": 8}}

    def fields(self, item: Item, ctx: Any) -> dict[str, str] | None:
        ents = entity_list(item)
        if len(ents) < 2:
            return None
        return {
            "conversation": item.record.conversation,
            "entities": as_json(ents),
            "explicit": relation_lines(item.value("explicit", [])),
        }

    def parse(self, text: str, item: Item, ctx: Any) -> list[tuple[dict[str, str], float]]:
        obj = extract_json(text)
        entities = index_by_key(item.value("entities", []))
        out = []
        for i, rel in enumerate(require_list(obj, "relations", MAX_RELATIONS)):
            where = f"relations[{i}]"
            t = parse_triplet(rel, where, entities)
            out.append((t, require_unit(rel, "likelihood", where)))
        return out

    def reduce(self, item: Item, samples: Sequence[Any | None], params: StageParams, ctx: Any) -> list[dict[str, Any]]:
        stated = {relation_key(r["head"], r["relation"], r["tail"]) for r in item.value("explicit", [])}
        pooled = pooled_likelihood(samples, key=lambda r: relation_key(r["head"], r["relation"], r["tail"]), n=params.samples)
        fresh = [(r, p) for r, p in pooled if p > 0 and relation_key(r["head"], r["relation"], r["tail"]) not in stated]
        return [{**r, "likelihood": p} for r, p in fresh[: int(params.options.get("max_candidates", 8))]]
