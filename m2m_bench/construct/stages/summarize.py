"""Stage 5: skill summarization (Motion-R1 §3.1.3, "Skill Summarization").

From the dialogue, the kept entities, the stated relations and the implicit relations that
passed discrimination, the model writes the action (one sentence, "a person ...") and the
motion skills it needs. Skills are normalized with :func:`m2m_bench.schema.normalize_skills`
and the pair is checked with the record validator, so a summary that would make an invalid
record is a malformed answer (retried). One sample is drawn (free text is not voted on).
Records whose source already has an action and skills (the team's authored records) keep
them and skip the stage, unless ``summarize.authored=compare``: then they are summarized too,
blind to their own action and skills, and the summary is shipped next to the record
(``construct/summaries.jsonl``) to measure agreement; it never replaces the authored pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...schema import normalize_skills, validate_record
from ..parsing import ParseError, extract_json, require_list, require_text
from ._base import (
    DIALOGUE,
    Item,
    Stage,
    StageFailure,
    StageParams,
    as_json,
    entity_list,
    relation_lines,
)

MAX_SKILLS = 8


def check_summary(action: str, skills: list[str]) -> None:
    """Raise :class:`ParseError` listing what the record validator says about action/skills."""
    probe = {
        "id": "probe",
        "conversation": "probe",
        "action": action,
        "skills": skills,
        "source": {"corpus": "probe", "source_id": "probe", "license": "probe"},
    }
    problems = [
        f"{v.field} {v.message}"
        for v in validate_record(probe)
        if v.field.startswith(("action", "skills"))
    ]
    if problems:
        raise ParseError("; ".join(problems), "invalid_summary")


class SummarizeStage(Stage):
    name = "summarize"
    version = "1"
    template = (
        DIALOGUE
        + """Entities: $entities
Relations:
$relations
What physical action would a person in this situation take next? Write it as one sentence starting with "a person", and list the 2 to 6 motion skills it needs as short verb phrases.
Reply with JSON only, in this format: {"action": "a person ...", "skills": ["...", "..."]}"""
    )
    defaults = {
        "samples": 1,
        "temperature": 0.0,
        "max_tokens": 200,
        "options": {"authored": "keep"},
    }
    fixed_samples = 1

    def fields(self, item: Item, ctx: Any) -> dict[str, str] | None:
        if item.record.preset and not getattr(ctx, "compare_authored", False):
            return None
        implicit = (item.value("discriminate") or {}).get("kept", [])
        return {
            "conversation": item.record.conversation,
            "entities": as_json(entity_list(item)),
            "relations": relation_lines(list(item.value("explicit", [])) + list(implicit)),
        }

    def empty(self, item: Item, ctx: Any) -> dict[str, Any]:
        return {
            "action": item.record.action,
            "skills": list(item.record.skills or ()),
            "preset": True,
        }

    def parse(self, text: str, item: Item, ctx: Any) -> dict[str, Any]:
        obj = extract_json(text)
        action = " ".join(require_text(obj, "action", "the answer", 300).split())
        raw = require_list(obj, "skills", MAX_SKILLS)
        if not all(isinstance(s, str) for s in raw):
            raise ParseError('"skills" must be a list of strings', "missing_field")
        skills = normalize_skills(raw)
        if not skills:
            raise ParseError('"skills" must name at least one skill', "missing_field")
        check_summary(action, skills)
        return {"action": action, "skills": skills}

    def reduce(
        self, item: Item, samples: Sequence[Any | None], params: StageParams, ctx: Any
    ) -> dict[str, Any]:
        for s in samples:
            if s is not None:
                return s
        raise StageFailure("failed", "no usable summary")
