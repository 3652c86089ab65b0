"""Skill metrics (task ``skills``, paper §4.2 Table 2 and eq. 8).

``P`` is the set of predicted skills (the parsed ``<skill>`` texts) and ``R`` the reference
skills, both normalized with :func:`m2m_bench.schema.normalize_skill` (so sets, no repeats).

* exact: a predicted skill matches a reference skill when the strings are equal;
* soft: when the cosine of their embeddings reaches :data:`SOFT_THRESHOLD`; matches are
  one-to-one (a maximum bipartite matching), so one predicted skill never counts for two
  reference skills. Equal strings always match, so soft values are never below exact ones.

With ``M`` the number of matched pairs:
``precision = M/|P|``, ``recall = M/|R|``, ``jaccard = M/(|P| + |R| - M)``
(exact: ``M = |P ∩ R|``, the usual set formulas). An empty prediction scores 0 on all.
"""

from __future__ import annotations

import numpy as np

from ._batch import Batch, Item
from ._registry import register_metric

#: Cosine at which two skills count as the same skill in the soft variants.
SOFT_THRESHOLD = 0.8


def _texts(it: Item) -> list[str]:
    return list(it.parsed.skills) + list(it.ref_skills)


def max_matching(adj: np.ndarray) -> int:
    """Size of a maximum matching in the bipartite graph ``adj[i, j]`` (rows vs columns).

    Kuhn's augmenting paths; skill sets are small, so O(V·E) is plenty.
    """
    n_rows, n_cols = adj.shape
    match_col = [-1] * n_cols

    def augment(i: int, seen: list[bool]) -> bool:
        for j in range(n_cols):
            if adj[i, j] and not seen[j]:
                seen[j] = True
                if match_col[j] < 0 or augment(match_col[j], seen):
                    match_col[j] = i
                    return True
        return False

    return sum(augment(i, [False] * n_cols) for i in range(n_rows))


def _exact(it: Item) -> int:
    return len(set(it.parsed.skills) & set(it.ref_skills))


def _soft(it: Item, batch: Batch) -> int:
    def compute() -> int:
        pred, ref = list(it.parsed.skills), list(it.ref_skills)
        if not pred or not ref:
            return 0
        return max_matching(batch.embeddings.sims(pred, ref) >= SOFT_THRESHOLD)

    return it.cached("skills.soft_matches", compute)


def _prf(m: int, n_pred: int, n_ref: int) -> tuple[float, float, float]:
    precision = m / n_pred if n_pred else 0.0
    recall = m / n_ref if n_ref else 0.0
    union = n_pred + n_ref - m
    jaccard = m / union if union else 0.0
    return precision, recall, jaccard


def _sizes(it: Item) -> tuple[int, int]:
    return len(it.parsed.skills), len(it.ref_skills)


@register_metric("skills.jaccard", task="skills", version="1")
def jaccard(it: Item, batch: Batch) -> float:
    """Jaccard = |P ∩ R| / |P ∪ R| over normalized skill sets (0 for an empty prediction)."""
    return _prf(_exact(it), *_sizes(it))[2]


@register_metric("skills.precision", task="skills", version="1")
def precision(it: Item, batch: Batch) -> float:
    """Precision = |P ∩ R| / |P| over normalized skill sets (0 for an empty prediction)."""
    return _prf(_exact(it), *_sizes(it))[0]


@register_metric("skills.recall", task="skills", version="1")
def recall(it: Item, batch: Batch) -> float:
    """Recall = |P ∩ R| / |R| over normalized skill sets."""
    return _prf(_exact(it), *_sizes(it))[1]


@register_metric("skills.jaccard_soft", task="skills", version="1", texts=_texts, identity="encoder")
def jaccard_soft(it: Item, batch: Batch) -> float:
    """Soft Jaccard = M / (|P| + |R| - M), M = maximum one-to-one matching of pairs with
    cos(E(p), E(r)) ≥ 0.8 (0 for an empty prediction)."""
    return _prf(_soft(it, batch), *_sizes(it))[2]


@register_metric("skills.precision_soft", task="skills", version="1", texts=_texts, identity="encoder")
def precision_soft(it: Item, batch: Batch) -> float:
    """Soft precision = M / |P|, M as in soft Jaccard (0 for an empty prediction)."""
    return _prf(_soft(it, batch), *_sizes(it))[0]


@register_metric("skills.recall_soft", task="skills", version="1", texts=_texts, identity="encoder")
def recall_soft(it: Item, batch: Batch) -> float:
    """Soft recall = M / |R|, M as in soft Jaccard."""
    return _prf(_soft(it, batch), *_sizes(it))[1]


@register_metric("skills.r_skill", task="skills", version="1", texts=_texts, identity="encoder")
def r_skill(it: Item, batch: Batch) -> float:
    """R_skill = (1/|R|) Σ_{r ∈ R} max_{p ∈ P} cos(E(r), E(p))  (paper eq. 8), in [-1, 1].

    The max over an empty prediction is taken as 0, so an empty prediction scores 0.
    """
    pred, ref = list(it.parsed.skills), list(it.ref_skills)
    if not pred or not ref:
        return 0.0
    return float(batch.embeddings.sims(ref, pred).max(axis=1).mean())
