"""Self-consistency voting, likelihood pooling, thresholding and the text keys they compare.

Every rule the ERA-CoT stages use to combine several LLM samples lives here, as small pure
functions with known answers (``tests/construct/test_voting.py``):

* :func:`text_key` / :func:`relation_key`: when two mentions are "the same".
* :func:`mentioned`: whether an entity occurs in the dialogue (hallucination check).
* :func:`majority_vote`: keep what more than half of the ``n`` samples said (Motion-R1
  §3.1.3, self-consistency; votes recorded).
* :func:`pooled_likelihood`: eq. (1)'s candidate likelihood averaged over samples.
* :func:`mean_score` and :func:`keep_at_threshold`: eq. (2), ``V(i,j,k) >= v_th``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_ARTICLES = frozenset({"a", "an", "the"})
#: Decimal places kept in every score written to a record (applied before thresholding).
SCORE_DECIMALS = 4


def words(text: str) -> list[str]:
    """Lower-case word tokens: letters/digits, keeping inner apostrophes and hyphens.

    ``words("Ms. Farrow's  tea-towel!") == ["ms", "farrow's", "tea-towel"]``.
    """
    return _WORD.findall(text.lower().replace("’", "'"))


def text_key(text: str) -> str:
    """The comparison key of an entity or relation phrase: its :func:`words` joined by one
    space, minus one leading article (``a``, ``an``, ``the``) when other words remain.

    ``text_key("The  Kettle.") == "kettle"``; ``text_key("located_in") == "located in"``.
    """
    w = words(text)
    if len(w) > 1 and w[0] in _ARTICLES:
        w = w[1:]
    return " ".join(w)


def relation_key(head: str, relation: str, tail: str) -> tuple[str, str, str]:
    """Key of a triplet ``(e_i, e_j, r)``: the :func:`text_key` of each part."""
    return (text_key(head), text_key(relation), text_key(tail))


def _stem(word: str) -> str:
    for suffix in ("'s", "’s"):  # possessive or contraction: "Neema's" -> "neema"
        if word.endswith(suffix) and len(word) > len(suffix):
            return word[: -len(suffix)]
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def mentioned(entity: str, text: str) -> bool:
    """Whether ``entity`` occurs in ``text`` as a run of whole words.

    Both sides are split with :func:`words` (the entity also loses a leading article), and a
    final ``s`` is ignored on words longer than three letters, so ``"suitcase"`` is found in
    "two suitcases"; a final ``'s`` (possessive or contraction) is ignored too, so ``"Neema"``
    is found in "Neema's bag" (entities v2). An entity with no words is never mentioned.
    """
    ent = [_stem(w) for w in text_key(entity).split()]
    if not ent:
        return False
    hay = " " + " ".join(_stem(w) for w in words(text)) + " "
    return " " + " ".join(ent) + " " in hay


def _canonical(item: Any) -> str:
    return json.dumps(item, sort_keys=True, ensure_ascii=False)


def majority_vote(
    samples: Sequence[Sequence[T] | None], key: Callable[[T], Hashable], n: int | None = None
) -> list[tuple[T, int]]:
    """Self-consistency majority vote over ``n`` samples; returns ``[(item, votes)]``.

    ``votes(x)`` is the number of samples that contain an item with ``key(x)`` (repeats
    inside one sample count once). A sample that failed is ``None``: it is an abstention that
    still counts in ``n`` (default ``len(samples)``). An item is kept iff ``2 * votes > n``.
    The kept item is its most frequent exact form among the votes (ties: the first seen), so
    e.g. an entity's ``type`` is voted too. Order: first appearance (sample, then position).
    """
    n = len(samples) if n is None else n
    if n < 1:
        raise ValueError("majority_vote needs n >= 1")
    order: list[Hashable] = []
    votes: dict[Hashable, int] = {}
    forms: dict[Hashable, dict[str, list[Any]]] = {}
    for sample in samples:
        if sample is None:
            continue
        seen: set[Hashable] = set()
        for item in sample:
            k = key(item)
            if k in seen:
                continue
            seen.add(k)
            if k not in votes:
                order.append(k)
                votes[k] = 0
                forms[k] = {}
            votes[k] += 1
            form = forms[k].setdefault(_canonical(item), [0, item])
            form[0] += 1
    out: list[tuple[T, int]] = []
    for k in order:
        if 2 * votes[k] > n:
            best = max(forms[k].values(), key=lambda f: f[0])  # max keeps the first of ties
            out.append((best[1], votes[k]))
    return out


def pooled_likelihood(
    samples: Sequence[Sequence[tuple[T, float]] | None], key: Callable[[T], Hashable], n: int | None = None
) -> list[tuple[T, float]]:
    """Eq. (1) over samples: ``L(x) = (1/n) * sum_s p_s(x)``, returns ``[(item, L)]``.

    ``p_s(x)`` is the likelihood sample ``s`` gave a candidate with ``key(x)`` (its largest,
    if it repeats it), 0 when the sample did not propose it or failed (``None``); ``n``
    defaults to ``len(samples)``. Items keep their first-seen form; the list is sorted by
    ``L`` descending, ties in first-appearance order. Values are rounded to
    :data:`SCORE_DECIMALS` places.
    """
    n = len(samples) if n is None else n
    if n < 1:
        raise ValueError("pooled_likelihood needs n >= 1")
    total: dict[Hashable, float] = {}
    first: dict[Hashable, T] = {}
    for sample in samples:
        if sample is None:
            continue
        best: dict[Hashable, float] = {}
        for item, p in sample:
            k = key(item)
            first.setdefault(k, item)
            best[k] = max(best.get(k, 0.0), float(p))
        for k, p in best.items():
            total[k] = total.get(k, 0.0) + p
    ranked = sorted(first, key=lambda k: -total.get(k, 0.0))  # stable: ties keep first-seen order
    return [(first[k], round(total.get(k, 0.0) / n, SCORE_DECIMALS)) for k in ranked]


def mean_score(scores: Iterable[float | None]) -> float | None:
    """``V = (1/m) * sum of the m valid scores`` (``None`` entries are failed samples and are
    left out); ``None`` when no sample is valid. Rounded to :data:`SCORE_DECIMALS` places."""
    valid = [float(s) for s in scores if s is not None]
    if not valid:
        return None
    return round(sum(valid) / len(valid), SCORE_DECIMALS)


def keep_at_threshold(
    scored: Iterable[tuple[T, float]], threshold: float
) -> tuple[list[tuple[T, float]], list[tuple[T, float]]]:
    """Eq. (2): split ``[(item, V)]`` into ``(kept, dropped)`` with kept iff ``V >= threshold``."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"the threshold v_th must lie in [0, 1], got {threshold}")
    kept: list[tuple[T, float]] = []
    dropped: list[tuple[T, float]] = []
    for item, v in scored:
        (kept if v >= threshold else dropped).append((item, v))
    return kept, dropped


def index_by_key(items: Iterable[Mapping[str, Any]], field: str = "text") -> dict[str, Mapping[str, Any]]:
    """``{text_key(item[field]): item}`` (the first item wins)."""
    out: dict[str, Mapping[str, Any]] = {}
    for it in items:
        out.setdefault(text_key(str(it[field])), it)
    return out
