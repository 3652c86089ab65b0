"""The M2M metrics: score model outputs against reference records, task by task.

::

    from m2m_bench.metrics import score_task, aggregate, metric_versions
    rows = score_task("action", outputs, records)          # one dict per output
    table = aggregate("action", rows)                       # {"action.ss": 0.41, ...}
    versions = metric_versions("action")                    # {"action.ss": "1", ...}

Tasks (:data:`TASKS`) and their metrics, each defined once in its module with its formula:
``action`` (:mod:`.action`: SS, KMR, IC, CPS), ``skills`` (:mod:`.skills`: exact and soft
Jaccard/precision/recall, R_skill), ``format`` (:mod:`.format`: validity, tree similarity,
R_format) and ``judge`` (:mod:`.judge`: rationality, relevance, pairwise wins, failures).
Definitions and the reasons for them: ``docs/metrics.md``.

Outputs are raw model texts, read through :func:`m2m_bench.response.parse_response` (never
raises). Metrics that use embeddings share one encoder call per :func:`score_task` call.
Column names are the metric names, plus ``[encoder]`` for embedding metrics under a
non-default encoder and ``[judge model|rubric]`` for judge metrics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import M2MError
from . import action, format, judge, skills  # noqa: F401  (register the metrics)
from ._batch import Batch, Embeddings, Item, encoder_name, make_item
from ._registry import TASKS, Metric, all_metrics, base_name, metrics_for, register_metric
from .judge import JudgeConfig

#: Record fields each task reads.
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "action": ("action",),
    "skills": ("skills",),
    "format": ("skills",),
    "judge": ("conversation", "action", "skills"),
}

__all__ = [
    "TASKS",
    "Batch",
    "Embeddings",
    "Item",
    "JudgeConfig",
    "Metric",
    "aggregate",
    "all_metrics",
    "metric_versions",
    "metrics_for",
    "register_metric",
    "score_task",
    "score_tasks",
]


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise M2MError(f"unknown task {task!r}; tasks: {', '.join(TASKS)}")


def _check_records(task: str, records: Sequence[Mapping[str, Any]], file: str) -> None:
    for i, rec in enumerate(records):
        if not isinstance(rec, Mapping):
            raise M2MError(f"{file}: record #{i}: must be an object, got {type(rec).__name__}")
        rid = rec.get("id", f"#{i}")
        for f in REQUIRED_FIELDS[task]:
            v = rec.get(f)
            if f == "skills":
                ok = isinstance(v, (list, tuple)) and all(isinstance(s, str) for s in v) and v
            else:
                ok = isinstance(v, str) and v.strip()
            if not ok:
                raise M2MError(
                    f"{file}: record {rid!r}: field {f!r}: task {task!r} needs "
                    f"{'a non-empty list of strings' if f == 'skills' else 'a non-empty string'}, got {v!r:.60}"
                )


def _make_batch(
    tasks: Sequence[str], outputs: Sequence[Any], records: Sequence[Mapping[str, Any]], encoder: Any, opts: dict
) -> Batch:
    for task in tasks:
        _check_task(task)
    if "judge" in tasks:
        judge._config(opts)
    file = str(opts.get("records_file", "<records>"))
    if len(outputs) != len(records):
        raise M2MError(f"{file}: {len(outputs)} outputs for {len(records)} records; they must pair one to one")
    for task in tasks:
        _check_records(task, records, file)
    items = [make_item(i, out, rec) for i, (out, rec) in enumerate(zip(outputs, records, strict=True))]
    metrics = [m for task in tasks for m in metrics_for(task, opts)]
    return Batch(items, metrics, encoder, opts)


def score_tasks(
    tasks: Sequence[str],
    outputs: Sequence[str | None],
    records: Sequence[Mapping[str, Any]],
    *,
    encoder: Any = None,
    **opts: Any,
) -> dict[str, list[dict[str, float | None]]]:
    """:func:`score_task` for several tasks at once: ``{task: rows}``.

    Outputs are parsed once and the texts of all tasks are encoded in a single encoder call.
    """
    tasks = list(dict.fromkeys(tasks))
    batch = _make_batch(tasks, outputs, records, encoder, opts)
    batch.prepare()
    out: dict[str, list[dict[str, float | None]]] = {}
    for task in tasks:
        columns = [(batch.column(m), m) for m in batch.metrics if m.task == task]
        out[task] = [{col: m.fn(it, batch) for col, m in columns} for it in batch.items]
    return out


def score_task(
    task: str,
    outputs: Sequence[str | None],
    records: Sequence[Mapping[str, Any]],
    *,
    encoder: Any = None,
    **opts: Any,
) -> list[dict[str, float | None]]:
    """Per-output metric values of ``task``: one dict ``{column: value}`` per output.

    ``outputs[i]`` is the raw model text for ``records[i]`` (an M2M record). ``encoder`` is
    ``None`` (the default all-MiniLM-L6-v2), a sentence-transformers name or path, or an object
    with ``.name`` and ``.encode(texts)``; it is loaded only when a metric needs it. Options:
    ``judge`` (a :class:`JudgeConfig`, required for the judge task), ``opponent_outputs``
    (pairwise judge), ``progress`` (judge progress bar: ``None`` auto, ``False`` off),
    ``judge_details`` (a list that receives one ``{id, error, attempts, rationale}`` per
    judged output) and ``records_file`` (named in error messages). A value is ``None`` where the metric is
    undefined for that output (e.g. a failed judge call).
    """
    return score_tasks([task], outputs, records, encoder=encoder, **opts)[task]


def aggregate(task: str, rows: Sequence[Mapping[str, float | None]]) -> dict[str, float | None]:
    """One value per column: the mean of the non-``None`` values (``None`` if there are none),
    or the sum for counters (``judge.failures``)."""
    _check_task(task)
    registry = all_metrics()
    columns: dict[str, None] = {}
    for r in rows:
        columns.update(dict.fromkeys(r))
    out: dict[str, float | None] = {}
    for col in columns:
        m = registry.get(base_name(col))
        values = [float(r[col]) for r in rows if r.get(col) is not None]
        if m is not None and m.aggregation == "sum":
            out[col] = float(sum(values))
        else:
            out[col] = sum(values) / len(values) if values else None
    return out


def metric_versions(task: str, *, encoder: Any = None, **opts: Any) -> dict[str, str]:
    """``{column: version}`` for the metrics :func:`score_task` computes under the same
    arguments (the judge task needs ``judge=JudgeConfig(...)``)."""
    _check_task(task)
    if task == "judge":
        judge._config(opts)
    batch = Batch([], metrics_for(task, opts), encoder_name(encoder), opts)
    return {batch.column(m): m.version for m in batch.metrics}
