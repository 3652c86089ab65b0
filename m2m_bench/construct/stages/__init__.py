"""The ERA-CoT stages, in pipeline order (Motion-R1 §3.1.2-3.1.3).

================  ==============================================================
``taxonomy``      (optional, corpus level) propose entity and relation types
``entities``      entity extraction, self-consistency vote
``explicit``      stated relations ``(e_i, e_j, r)``, self-consistency vote
``implicit``      inferred relation candidates with likelihoods (eq. 1)
``discriminate``  scoring agent; keep ``V >= v_th`` (eq. 2)
``summarize``     action sentence and normalized skills
================  ==============================================================
"""

from __future__ import annotations

from ._base import Item, Stage, StageFailure, StageParams
from .discriminate import DiscriminateStage
from .entities import EntitiesStage
from .explicit import ExplicitStage
from .implicit import ImplicitStage
from .summarize import SummarizeStage
from .taxonomy import (
    DEFAULT_TAXONOMY,
    Taxonomy,
    TaxonomyStage,
    corpus_sample,
    load_taxonomy,
    taxonomy_from_dict,
)

#: Per-record stages in order.
RECORD_STAGES: dict[str, Stage] = {
    s.name: s for s in (EntitiesStage(), ExplicitStage(), ImplicitStage(), DiscriminateStage(), SummarizeStage())
}
#: Every stage name, in order (``taxonomy`` runs first when selected).
STAGE_ORDER = ("taxonomy", *RECORD_STAGES)
#: The stages a run has by default.
DEFAULT_STAGES = tuple(RECORD_STAGES)
#: What each stage needs before it (``summarize`` needs only entities).
REQUIRES = {"explicit": ("entities",), "implicit": ("explicit",), "discriminate": ("implicit",), "summarize": ("entities",)}
#: The stages whose results make up ``era_cot``.
ERA_COT_STAGES = ("entities", "explicit", "implicit", "discriminate")

__all__ = [
    "DEFAULT_STAGES",
    "DEFAULT_TAXONOMY",
    "ERA_COT_STAGES",
    "RECORD_STAGES",
    "REQUIRES",
    "STAGE_ORDER",
    "Item",
    "Stage",
    "StageFailure",
    "StageParams",
    "Taxonomy",
    "TaxonomyStage",
    "corpus_sample",
    "load_taxonomy",
    "taxonomy_from_dict",
]
