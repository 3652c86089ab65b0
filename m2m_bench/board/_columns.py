"""Board columns: one per ``(task, metric, metric_version)``, with a label, a group and a direction.

A column never holds two metric versions: when entries of one table were scored with
different versions of a metric, each version gets its own column (labelled ``vN``), so a sort
or a plot only ever compares numbers of one definition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Table groups in display order: task -> heading.
GROUPS: dict[str, str] = {
    "action": "Action",
    "skills": "Skills",
    "format": "Format",
    "judge": "LLM judge",
    "gsm8k": "GSM8K",
    "motion": "Physical (motion)",
}

#: Short labels of well-known metrics (others show their name without the task prefix).
LABELS: dict[str, str] = {
    "action.ss": "SS",
    "action.kmr": "KMR",
    "action.ic": "IC",
    "action.cps": "CPS",
    "skills.jaccard": "Jaccard",
    "skills.precision": "P",
    "skills.recall": "R",
    "skills.jaccard_soft": "Jaccard (soft)",
    "skills.precision_soft": "P (soft)",
    "skills.recall_soft": "R (soft)",
    "skills.r_skill": "R_skill",
    "format.valid": "XML valid",
    "format.tree_sim": "Tree sim",
    "format.r_format": "R_format",
    "motion.survival_rate": "Survival",
    "motion.fall_rate": "Falls",
    "motion.survival_time_s": "Survival time (s)",
    "motion.command_tracking_error_mps": "Tracking err. (m/s)",
    "motion.pose_error_m": "Pose err. (m)",
    "motion.foot_sliding_mps": "Foot sliding (m/s)",
    "motion.ground_penetration_m": "Penetration (m)",
    "motion.jerk_mps3": "Jerk (m/s³)",
}

#: Metrics where a smaller number is better (matched on the name without the task prefix).
_LOWER = re.compile(
    r"(failures|fall_rate|error|sliding|penetration|jerk|distance|(^|_)ted($|_)|latency)",
    re.IGNORECASE,
)
#: Preferred default sort columns, first present wins.
PRIMARY = ("action.cps", "action.ss", "skills.jaccard", "motion.survival_rate")


@dataclass(frozen=True)
class Column:
    task: str
    metric: str
    version: str
    #: Several versions of this metric in one table (the label then names the version).
    versioned: bool = False

    @property
    def key(self) -> str:
        return f"{self.task}|{self.metric}|{self.version}"

    @property
    def label(self) -> str:
        base = self.metric.split("[", 1)[0]
        ident = self.metric[len(base) :]
        short = LABELS.get(base) or base.split(".", 1)[-1]
        if ident:
            short += " " + ident
        return f"{short} v{self.version}" if self.versioned else short

    @property
    def higher_is_better(self) -> bool:
        return not _LOWER.search(self.metric.split(".", 1)[-1])

    @property
    def group(self) -> str:
        return GROUPS.get(self.task, self.task)


def group_order(task: str) -> int:
    order = list(GROUPS)
    return order.index(task) if task in order else len(order)


def _registry() -> dict:
    try:
        from .. import metrics  # noqa: F401  (registers the metrics)
        from ..metrics._registry import all_metrics
    except Exception:  # pragma: no cover - the harness is part of the package
        return {}
    return all_metrics()


def _motion_keys() -> list[str]:
    try:
        from sim.metrics import METRIC_KEYS
    except ImportError:  # the board still builds without the simulator package
        return []
    return [f"motion.{k}" for k in METRIC_KEYS]


def metric_order(metric: str) -> int:
    """Position of ``metric`` in the harness's registry (SS, KMR, IC, CPS, ...), or for a physical
    metric in ``sim.metrics.METRIC_KEYS`` (survival first); unknown last."""
    names = _motion_keys() if metric.startswith("motion.") else list(_registry())
    base = metric.split("[", 1)[0]
    return names.index(base) if base in names else len(names)


def metric_doc(metric: str) -> str:
    """First line of the harness's docstring for ``metric`` (its formula), or ""."""
    m = _registry().get(metric.split("[", 1)[0])
    return m.doc.splitlines()[0] if m and m.doc else ""
