"""One scoring batch: parsed outputs with their reference records, and their embeddings.

:class:`Batch` collects the texts every selected metric needs (``Metric.texts``), drops
blanks and repeats, and encodes them in **one** encoder call; metrics then look vectors up by
text. Results that several metrics share (the judge's verdicts) are computed once per batch
through :meth:`Batch.shared`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from ..encoders import DEFAULT_ENCODER, get_encoder
from ..response import ParsedResponse, parse_response
from ..schema import normalize_skills
from ._registry import Metric

#: Parsing is pure, so equal outputs (common across tasks and in baselines) are parsed once.
parse_cached = lru_cache(maxsize=8192)(parse_response)


@dataclass
class Item:
    """One model output with its reference record.

    ``ref_action`` and ``ref_skills`` (normalized) come from the record; ``memo`` holds values
    derived from the item that several metrics use (lemma sets, units, trees).
    """

    index: int
    record: Mapping[str, Any]
    parsed: ParsedResponse
    output: str
    ref_action: str
    ref_skills: tuple[str, ...]
    memo: dict[str, Any] = field(default_factory=dict)

    @property
    def record_id(self) -> str:
        rid = self.record.get("id")
        return str(rid) if rid is not None else f"#{self.index}"

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per item for ``key``."""
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]


def make_item(index: int, output: Any, record: Mapping[str, Any]) -> Item:
    text = output if isinstance(output, str) else ""
    parsed = parse_cached(text) if isinstance(output, str) else parse_response(output)
    skills = record.get("skills") or []
    return Item(
        index=index,
        record=record,
        parsed=parsed,
        output=text,
        ref_action=str(record.get("action") or ""),
        ref_skills=tuple(normalize_skills(skills)),
    )


class Embeddings:
    """Unit-norm vectors of a fixed set of texts; cosine similarities by text."""

    def __init__(self, texts: Sequence[str], matrix: np.ndarray):
        self.index = {t: i for i, t in enumerate(texts)}
        self.matrix = matrix

    def __len__(self) -> int:
        return len(self.index)

    def _rows(self, texts: Sequence[str]) -> np.ndarray:
        try:
            return self.matrix[[self.index[t] for t in texts]]
        except KeyError as e:
            raise KeyError(
                f"text {e.args[0]!r:.60} was not collected for embedding: a metric must name it "
                "in its `texts` hook"
            ) from None

    def sims(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        """Cosine similarity matrix ``(len(a), len(b))``, clipped to [-1, 1]; equal texts give 1."""
        if not a or not b:
            return np.zeros((len(a), len(b)), dtype=np.float64)
        m = np.clip(self._rows(a).astype(np.float64) @ self._rows(b).astype(np.float64).T, -1.0, 1.0)
        for i, t in enumerate(a):
            for j, u in enumerate(b):
                if t == u:
                    m[i, j] = 1.0
        return m

    def sim(self, a: str, b: str) -> float:
        """Cosine similarity of two texts (1 when they are equal)."""
        return float(self.sims([a], [b])[0, 0])


def encoder_name(encoder: Any) -> str:
    """The name that identifies an encoder in column names (``DEFAULT_ENCODER`` for ``None``)."""
    if encoder is None:
        return DEFAULT_ENCODER
    if isinstance(encoder, str):
        return encoder
    return str(getattr(encoder, "name", type(encoder).__name__))


class Batch:
    """The items of one :func:`~m2m_bench.metrics.score_task` call and what they share."""

    def __init__(self, items: list[Item], metrics: list[Metric], encoder: Any = None, opts: dict | None = None):
        self.items = items
        self.metrics = metrics
        self.opts = dict(opts or {})
        self._encoder = encoder
        self.encoder_name = encoder_name(encoder)
        self.embeddings = Embeddings([], np.zeros((0, 0), dtype=np.float32))
        self._shared: dict[str, Any] = {}
        self.encoder_calls = 0

    def texts_to_embed(self) -> list[str]:
        """Every non-blank text the metrics need, each once, in first-seen order."""
        seen: dict[str, None] = {}
        for m in self.metrics:
            if m.texts is None:
                continue
            for it in self.items:
                for t in m.texts(it):
                    if t and t.strip():
                        seen[t] = None
        return list(seen)

    def encoder(self):
        if self._encoder is None:
            # get_encoder() and get_encoder(None) are different lru_cache keys: use the common one.
            self._encoder = get_encoder()
        elif isinstance(self._encoder, str):
            self._encoder = get_encoder(self._encoder)
        return self._encoder

    def prepare(self) -> None:
        """Encode every needed text in one encoder call (none when no metric needs embeddings)."""
        texts = self.texts_to_embed()
        if not texts:
            return
        matrix = np.asarray(self.encoder().encode(texts), dtype=np.float32)
        self.encoder_calls += 1
        if matrix.shape[0] != len(texts):
            raise ValueError(f"encoder {self.encoder_name} returned {matrix.shape[0]} rows for {len(texts)} texts")
        self.embeddings = Embeddings(texts, matrix)

    def shared(self, key: str, compute: Callable[[Batch], Any]) -> Any:
        """``compute(batch)`` once per batch for ``key`` (e.g. all judge verdicts)."""
        if key not in self._shared:
            self._shared[key] = compute(self)
        return self._shared[key]

    def column(self, metric: Metric) -> str:
        """The result column of ``metric``: its name, plus what else identifies its values."""
        if metric.identity == "encoder" and self.encoder_name != DEFAULT_ENCODER:
            return f"{metric.name}[{self.encoder_name}]"
        if metric.identity == "judge":
            cfg = self.opts.get("judge")
            return f"{metric.name}[{cfg.identity}]"
        return metric.name
