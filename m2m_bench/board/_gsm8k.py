"""Optional GSM8K predictions: stored answers, re-scored by the harness's lm-eval GSM8K run.

The file (named by ``metadata.json``'s ``gsm8k`` field) is JSONL, one line per question of the
GSM8K test split shipped with m2m-bench (newest version, ``m2m-bench data info gsm8k``)::

    {"doc_id": 0, "output": "Janet sells 16 - 3 - 4 = 9 duck eggs a day. ... #### 18"}

``doc_id`` is the question's 0-based position in the test split (lm-eval's ``doc_id``); every
question appears exactly once. Scoring does not re-implement anything: the stored answers
stand in for a model behind :func:`m2m_bench.gsm8k.evaluate_gsm8k`, which runs lm-eval's own
GSM8K task (its filters and ``exact_match``); when lm-eval asks for the answer to question
``i`` (its last user turn, ``Question: ...\\nAnswer:``), the stored output of ``doc_id`` ``i``
is returned. Accuracy is therefore exactly what the harness reports for a live model that
gave those answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._errors import SubmissionError
from ._json import loads_strict
from ._store import ScoreRow

TASK = "gsm8k"
MAX_OUTPUT_CHARS = 20_000


def _questions(version: str | None = None) -> tuple[list[str], dict[str, Any]]:
    from .. import data

    manifest = data.dataset_info("gsm8k", version)
    split = data.load_dataset("gsm8k", manifest["version"], split="test")
    return list(split["question"]), manifest


def validate_gsm8k(data: bytes, where: str) -> dict[str, Any]:
    """Check GSM8K predictions (format in the module docstring); returns ``{"outputs", "dataset"}``."""
    questions, manifest = _questions()
    outputs: dict[int, str] = {}
    for lineno, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        here = f"{where}: line {lineno}"
        obj = loads_strict(raw, here)
        if not isinstance(obj, dict) or set(obj) != {"doc_id", "output"}:
            raise SubmissionError(f"{here}: expected an object with exactly 'doc_id' and 'output'")
        doc, out = obj["doc_id"], obj["output"]
        if type(doc) is not int or not 0 <= doc < len(questions):
            raise SubmissionError(
                f"{here}: field 'doc_id' must be an integer in 0..{len(questions) - 1}, got {doc!r:.40}"
            )
        if not isinstance(out, str) or len(out) > MAX_OUTPUT_CHARS:
            raise SubmissionError(
                f"{here}: doc {doc}: field 'output' must be a string of at most {MAX_OUTPUT_CHARS} characters"
            )
        if doc in outputs:
            raise SubmissionError(f"{here}: field 'doc_id': duplicate doc_id {doc}")
        outputs[doc] = out
    missing = [i for i in range(len(questions)) if i not in outputs]
    if missing:
        shown = ", ".join(map(str, missing[:5])) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise SubmissionError(
            f"{where}: field 'doc_id': {len(missing)} of the {len(questions)} GSM8K test questions "
            f"(gsm8k {manifest['version']}) have no answer: {shown}"
        )
    return {"outputs": outputs, "dataset": {"name": "gsm8k", "version": manifest["version"],
                                             "content_hash": manifest["content_hash"]}}  # fmt: skip


def _stored_model(outputs: dict[int, str], questions: list[str]):
    from ..models import Model

    by_prompt = {f"Question: {q}\nAnswer:": i for i, q in enumerate(questions)}

    class StoredGSM8K(Model):
        """Answers lm-eval's GSM8K prompts from a submission's stored outputs."""

        spec = "predictions:gsm8k"
        name = "stored GSM8K answers"
        kind = "predictions"
        cacheable = False
        can_generate = True

        def generate(self, batch: Sequence[list[dict[str, str]]], **gen: Any) -> list[str]:
            answers = []
            for messages in batch:
                prompt = next(
                    (m["content"] for m in reversed(messages) if m.get("role") == "user"), ""
                )
                doc = by_prompt.get(prompt.strip())
                if doc is None:
                    doc = next((i for p, i in by_prompt.items() if p in prompt), None)
                if doc is None:
                    raise SubmissionError(
                        f"GSM8K: lm-eval asked a question that is not in the test split: {prompt[:80]!r}"
                    )
                answers.append(outputs[doc])
            return answers

    return StoredGSM8K()


def score_gsm8k(gsm8k: dict[str, Any]) -> tuple[list[ScoreRow], dict[str, Any]]:
    """Accuracy of stored answers through :func:`m2m_bench.gsm8k.evaluate_gsm8k`: (rows, result)."""
    from .. import gsm8k as harness_gsm8k

    questions, _ = _questions(gsm8k["dataset"]["version"])
    model = _stored_model(gsm8k["outputs"], questions)
    res = harness_gsm8k.evaluate_gsm8k(
        model, cache=None, dataset_version=gsm8k["dataset"]["version"]
    )
    # The column's version names lm-eval's task version, the harness runner and the GSM8K
    # data version, so answers scored on different GSM8K copies never share a column.
    version = f"{res.get('task_version') or '?'}+runner{res.get('runner_version', '?')}+data{gsm8k['dataset']['version']}"
    rows = [ScoreRow(TASK, f"{TASK}.{f}", version, float(v)) for f, v in res["metrics"].items()]
    return rows, res
