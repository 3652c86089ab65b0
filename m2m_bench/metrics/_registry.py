"""The metric registry: every metric is one decorated function with a name, a task and a version.

A metric function takes one :class:`~m2m_bench.metrics._batch.Item` (a parsed output with its
reference record) and the :class:`~m2m_bench.metrics._batch.Batch` it belongs to, and returns a
float, or ``None`` where the value is undefined for that item. Its docstring states the
formula. A metric that compares embeddings names the texts it needs with ``texts``; the batch
encodes the texts of every selected metric in one encoder call before any metric runs.

A changed definition gets a new ``version``; results record ``metric_versions`` so numbers
from different definitions are never compared by accident.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._batch import Batch, Item

#: The tasks the metrics serve, in table order.
TASKS = ("action", "skills", "format", "judge")

MetricFn = Callable[["Item", "Batch"], "float | None"]


@dataclass(frozen=True)
class Metric:
    """A registered metric.

    ``name``         ``<task>.<metric>``, the column's base name;
    ``version``      changes whenever the metric's values can change;
    ``texts``        ``texts(item) -> iterable of str`` to embed before scoring (or ``None``);
    ``aggregation``  how per-item values combine: ``"mean"`` (over non-``None`` values) or
                     ``"sum"`` (counters such as judge failures);
    ``identity``     what else is part of the column name: ``"encoder"`` (the encoder, when it
                     is not the default), ``"judge"`` (judge model and rubric) or ``""``;
    ``enabled``      ``enabled(opts) -> bool``: whether the metric applies under the scoring
                     options (e.g. pairwise judge metrics only in pairwise mode).
    """

    name: str
    task: str
    version: str
    fn: MetricFn
    texts: Callable[[Item], Iterable[str]] | None = None
    aggregation: str = "mean"
    identity: str = ""
    enabled: Callable[[dict[str, Any]], bool] | None = None

    @property
    def doc(self) -> str:
        return (self.fn.__doc__ or "").strip()


_METRICS: dict[str, Metric] = {}


def register_metric(
    name: str,
    *,
    task: str,
    version: str,
    texts: Callable[[Item], Iterable[str]] | None = None,
    aggregation: str = "mean",
    identity: str = "",
    enabled: Callable[[dict[str, Any]], bool] | None = None,
) -> Callable[[MetricFn], MetricFn]:
    """Register the decorated function as metric ``name`` of ``task`` (see :class:`Metric`)."""
    if task not in TASKS:
        raise ValueError(f"metric {name!r}: unknown task {task!r} (tasks: {', '.join(TASKS)})")
    if not name.startswith(task + "."):
        raise ValueError(f"metric {name!r}: the name must start with its task, {task + '.'!r}")
    if aggregation not in ("mean", "sum"):
        raise ValueError(f"metric {name!r}: aggregation must be 'mean' or 'sum'")
    if identity not in ("", "encoder", "judge"):
        raise ValueError(f"metric {name!r}: identity must be '', 'encoder' or 'judge'")
    if not version:
        raise ValueError(f"metric {name!r}: a version is required")

    def deco(fn: MetricFn) -> MetricFn:
        if not (fn.__doc__ or "").strip():
            raise ValueError(f"metric {name!r}: the function needs a docstring with its formula")
        if name in _METRICS and _METRICS[name].fn.__qualname__ != fn.__qualname__:
            raise ValueError(f"metric {name!r} is already registered by {_METRICS[name].fn.__qualname__}")
        _METRICS[name] = Metric(name, task, version, fn, texts, aggregation, identity, enabled)
        return fn

    return deco


def all_metrics() -> dict[str, Metric]:
    """Every registered metric by name."""
    return dict(_METRICS)


def metrics_for(task: str, opts: dict[str, Any] | None = None) -> list[Metric]:
    """The metrics of ``task`` that apply under ``opts``, in registration order."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; tasks: {', '.join(TASKS)}")
    opts = opts or {}
    return [m for m in _METRICS.values() if m.task == task and (m.enabled is None or m.enabled(opts))]


def base_name(column: str) -> str:
    """The metric name of a column: ``"judge.relevance[gpt-4o|rubric-v1]"`` -> ``"judge.relevance"``."""
    return column.split("[", 1)[0]
