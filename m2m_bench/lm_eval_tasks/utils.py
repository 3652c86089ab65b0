"""Functions the task YAMLs in this folder reference with ``!function utils.NAME``."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any


def _with_prompts(ds):
    from m2m_bench.prompts import build_messages

    def add(rec: dict[str, Any]) -> dict[str, str]:
        system, user = build_messages(rec["conversation"])
        return {"m2m_system": system["content"], "m2m_user": user["content"]}

    return ds.map(add)


def load_m2m(dataset_version: str | None = None, dataset: str = "m2m", **_: Any):
    """The M2M version's splits (checksums verified), each record with its canonical prompt in
    the columns ``m2m_system`` and ``m2m_user``."""
    from datasets import DatasetDict
    from m2m_bench._records import load_version

    ds, _manifest = load_version(dataset, dataset_version)
    return DatasetDict({name: _with_prompts(split) for name, split in ds.items()})


def load_gsm8k(dataset_version: str | None = None, **_: Any):
    """The GSM8K copy shipped with m2m-bench (``train`` for few-shot examples, ``test``)."""
    from m2m_bench._records import load_version

    ds, _manifest = load_version("gsm8k", dataset_version)
    return ds


def _record(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: doc[k] for k in ("id", "conversation", "action", "skills") if k in doc}


def _score(task: str, doc: dict[str, Any], results: list[str]) -> dict[str, float | None]:
    from m2m_bench.metrics import score_task

    row = score_task(task, [results[0] if results else ""], [_record(doc)])[0]
    return {col.split(".", 1)[1]: val for col, val in row.items()}


def process_action(doc: dict[str, Any], results: list[str]) -> dict[str, float | None]:
    """SS, KMR, IC, CPS of one generation (definitions in m2m_bench.metrics.action)."""
    return _score("action", doc, results)


def process_skills(doc: dict[str, Any], results: list[str]) -> dict[str, float | None]:
    """Skill-set metrics of one generation (definitions in m2m_bench.metrics.skills)."""
    return _score("skills", doc, results)


def process_format(doc: dict[str, Any], results: list[str]) -> dict[str, float | None]:
    """Format metrics of one generation (definitions in m2m_bench.metrics.format)."""
    return _score("format", doc, results)


def mean_defined(values: Iterable[float | None]) -> float:
    """Mean over the defined (non-None, finite) values, as m2m_bench.metrics.aggregate does;
    NaN when none is defined."""
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return sum(vals) / len(vals) if vals else float("nan")
