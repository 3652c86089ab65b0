"""Stage 4: relation discrimination (Motion-R1 §3.1.3, eq. 2).

A scoring agent rates each implicit candidate between 0 (unsupported) and 1 (certainly
true). With ``samples`` answers, a candidate's confidence is
``V(i,j,k) = `` :func:`~m2m_bench.construct.voting.mean_score` over the usable answers, and
:func:`~m2m_bench.construct.voting.keep_at_threshold` keeps those with ``V >= v_th``
(``threshold`` option, recorded in every record's ``era_cot.threshold`` and in
``pipeline.yaml``). An answer must score every candidate exactly once. Records without
candidates skip the stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..parsing import ParseError, extract_json, require_list, require_unit
from ..voting import keep_at_threshold, mean_score
from ._base import DIALOGUE, Item, Stage, StageFailure, StageParams, relation_lines


class DiscriminateStage(Stage):
    name = "discriminate"
    version = "1"
    template = DIALOGUE + """Stated relations:
$explicit
Candidate inferred relations:
$candidates
Score how reliable each candidate is given the dialogue: 1 means certainly true, 0 means unsupported. Score every candidate by its number.
Reply with JSON only, in this format: {"scores": [{"id": 1, "score": 0.8}]}"""
    defaults = {"samples": 1, "temperature": 0.0, "max_tokens": 300, "options": {"threshold": 0.5}}

    def candidates(self, item: Item) -> list[dict[str, Any]]:
        return item.value("implicit", [])

    def fields(self, item: Item, ctx: Any) -> dict[str, str] | None:
        cands = self.candidates(item)
        if not cands:
            return None
        lines = "\n".join(f"{i + 1}. {c['head']} | {c['relation']} | {c['tail']}" for i, c in enumerate(cands))
        return {
            "conversation": item.record.conversation,
            "explicit": relation_lines(item.value("explicit", [])),
            "candidates": lines,
        }

    def empty(self, item: Item, ctx: Any) -> dict[str, list]:
        return {"kept": [], "dropped": []}

    def parse(self, text: str, item: Item, ctx: Any) -> list[float]:
        k = len(self.candidates(item))
        obj = extract_json(text)
        scores: dict[int, float] = {}
        for i, s in enumerate(require_list(obj, "scores", 2 * k + 2)):
            where = f"scores[{i}]"
            if not isinstance(s, dict):
                raise ParseError(f"{where} must be an object", "missing_field")
            cid = s.get("id")
            if isinstance(cid, bool) or not isinstance(cid, int) or not 1 <= cid <= k:
                raise ParseError(f'{where}: "id" must be a candidate number from 1 to {k}', "missing_field")
            if cid in scores:
                raise ParseError(f"{where}: candidate {cid} is scored twice", "missing_field")
            scores[cid] = require_unit(s, "score", where)
        missing = [i for i in range(1, k + 1) if i not in scores]
        if missing:
            raise ParseError(f"candidates {missing} have no score", "missing_field")
        return [scores[i] for i in range(1, k + 1)]

    def reduce(self, item: Item, samples: Sequence[Any | None], params: StageParams, ctx: Any) -> dict[str, list]:
        cands = self.candidates(item)
        if all(s is None for s in samples):
            raise StageFailure("failed", "no usable score")
        scored = [
            ({"head": c["head"], "relation": c["relation"], "tail": c["tail"]}, mean_score(s[i] if s else None for s in samples))
            for i, c in enumerate(cands)
        ]
        kept, dropped = keep_at_threshold(scored, float(params.options["threshold"]))
        return {"kept": [{**r, "score": v} for r, v in kept], "dropped": [{**r, "score": v} for r, v in dropped]}
