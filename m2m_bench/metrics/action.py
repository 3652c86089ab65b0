"""Action metrics (task ``action``, paper §4.1, Table 1): SS, KMR, IC and CPS.

Each compares the predicted action ``a`` (the ``<action>`` of the parsed output) with the
reference action ``a*`` of the record. The paper names KMR, IC and CPS without defining them;
the definitions below are ours, argued in ``docs/metrics.md``. ``E(x)`` is the unit-norm
sentence embedding of ``x`` from the batch's encoder (default all-MiniLM-L6-v2).
"""

from __future__ import annotations

import math

from ._batch import Batch, Item
from ._registry import register_metric
from ._text import content_lemmas, info_units

#: IC counts a reference unit as covered when its best cosine to a predicted unit reaches this.
IC_THRESHOLD = 0.7


def _pred_units(it: Item) -> list[str]:
    return it.cached("action.pred_units", lambda: info_units(it.parsed.action))


def _ref_units(it: Item) -> list[str]:
    return it.cached("action.ref_units", lambda: info_units(it.ref_action))


def _ss_texts(it: Item) -> list[str]:
    return [it.parsed.action, it.ref_action]


def _ic_texts(it: Item) -> list[str]:
    return _pred_units(it) + _ref_units(it)


@register_metric("action.ss", task="action", version="1", texts=_ss_texts, identity="encoder")
def semantic_similarity(it: Item, batch: Batch) -> float:
    """SS = cos(E(a), E(a*)) in [-1, 1]; 0 when the prediction has no action.

    The paper's R_action (eq. 7) on one output. Equal texts give exactly 1.
    """
    if not it.parsed.action.strip():
        return 0.0
    return batch.embeddings.sim(it.parsed.action, it.ref_action)


@register_metric("action.kmr", task="action", version="1")
def keyword_matching_rate(it: Item, batch: Batch) -> float | None:
    """KMR = |L(a) ∩ L(a*)| / |L(a*)|, with L(x) the set of content-word lemmas of x.

    Content words: words (runs of Unicode letters/digits, lower-cased) that are not English
    function words or placeholder subjects ("person", "someone"); lemmas by simplemma ("en").
    ``None`` when the reference has no content word; 0 for an empty prediction.
    """
    ref = it.cached("action.ref_lemmas", lambda: content_lemmas(it.ref_action))
    if not ref:
        return None
    pred = it.cached("action.pred_lemmas", lambda: content_lemmas(it.parsed.action))
    return len(ref & pred) / len(ref)


@register_metric("action.ic", task="action", version="1", texts=_ic_texts, identity="encoder")
def information_completeness(it: Item, batch: Batch) -> float | None:
    """IC = (1/|U(a*)|) Σ_{u ∈ U(a*)} 1[max_{v ∈ U(a)} cos(E(u), E(v)) ≥ 0.7].

    U(x) are the information units of x: x cut at punctuation, conjunctions and
    place/direction/instrument prepositions, each piece trimmed of leading and trailing stop
    words (``_text.info_units``). ``None`` when the reference has no unit; 0 when the
    prediction has none.
    """
    ref = _ref_units(it)
    if not ref:
        return None
    pred = _pred_units(it)
    if not pred:
        return 0.0
    best = batch.embeddings.sims(ref, pred).max(axis=1)
    return float((best >= IC_THRESHOLD).sum()) / len(ref)


@register_metric(
    "action.cps",
    task="action",
    version="1",
    texts=lambda it: _ss_texts(it) + _ic_texts(it),
    identity="encoder",
)
def comprehensive_performance_score(it: Item, batch: Batch) -> float:
    """CPS = (max(0, SS) · KMR · IC)^(1/3): the geometric mean of the three per item.

    Components that are ``None`` (a reference without content words) are left out of the
    mean. One zero component gives 0: a comprehensive answer needs all three.
    """
    parts = [max(0.0, semantic_similarity(it, batch))]
    for v in (keyword_matching_rate(it, batch), information_completeness(it, batch)):
        if v is not None:
            parts.append(v)
    if min(parts) <= 0.0:
        return 0.0
    return math.exp(sum(math.log(p) for p in parts) / len(parts))
