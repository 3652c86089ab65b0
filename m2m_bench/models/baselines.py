"""``baseline:<name>``: built-in reference baselines that need no language model.

``baseline:retrieval`` (nearest neighbour): embed every train conversation and every
evaluated conversation with the default sentence encoder (unit-norm rows, so a dot product is
the cosine), and answer each evaluated conversation with the canonical response
(:func:`m2m_bench.response.render_response`) holding the action and skills of its most similar
train conversation::

    j*(q) = argmax_j  cos(e(conv_q), e(conv_j)),   j over train records with id != id_q

Ties go to the earliest train record. Excluding the record's own id makes evaluating on the
train split a leave-one-out score instead of a lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import M2MError
from ._base import Messages, Model, UnknownModelSpec, register


class RetrievalBaseline(Model):
    """Nearest-neighbour retrieval over a train split (formula in the module docstring)."""

    kind = "baseline"
    cacheable = False
    can_generate = False

    def __init__(
        self,
        *,
        dataset: str = "m2m",
        version: str | None = None,
        train_split: str = "train",
        encoder: str | None = None,
        **_: Any,
    ) -> None:
        from .. import data as m2m_data
        from .._records import load_version
        from ..encoders import get_encoder

        manifest = m2m_data.dataset_info(dataset, version)
        if train_split not in manifest["splits"]:
            raise M2MError(
                f"baseline:retrieval needs a {train_split!r} split in {dataset} {manifest['version']}; "
                f"it has: {', '.join(manifest['splits'])}"
            )
        train, _ = load_version(dataset, manifest["version"], train_split)
        self.train_ids = list(train["id"])
        self.train_actions = list(train["action"])
        self.train_skills = [list(s) for s in train["skills"]]
        self.encoder = get_encoder(encoder) if encoder else get_encoder()
        self.train_emb = self.encoder.encode(list(train["conversation"]))
        self.spec = "baseline:retrieval"
        self.name = "retrieval (nearest train)"
        self.revision = (
            f"{dataset}@{manifest['version']}/{train_split}:{manifest['content_hash'][:12]}+{self.encoder.name}"
        )
        self.last_neighbours: list[str] = []

    def neighbours(self, records: Sequence[dict]) -> list[int]:
        """Index of the nearest train record for each record (own id excluded)."""
        if not records:
            return []
        q = self.encoder.encode([r["conversation"] for r in records])
        sims = q @ self.train_emb.T
        pos = {rid: j for j, rid in enumerate(self.train_ids)}
        for i, r in enumerate(records):
            j = pos.get(r["id"])
            if j is not None:
                sims[i, j] = -np.inf
        if sims.shape[1] == 0 or not np.isfinite(sims).any(axis=1).all():
            raise M2MError("baseline:retrieval: the train split has no other record to retrieve")
        return [int(j) for j in np.argmax(sims, axis=1)]

    def predict(self, records: Sequence[dict], batch: Sequence[Messages], **gen: Any) -> list[str]:
        from ..response import render_response

        idx = self.neighbours(records)
        self.last_neighbours = [self.train_ids[j] for j in idx]
        return [render_response(self.train_actions[j], self.train_skills[j]) for j in idx]

    def generate(self, batch: Sequence[Messages], **gen: Any) -> list[str]:
        raise M2MError(f"{self.spec}: a retrieval baseline cannot answer new prompts (e.g. GSM8K)")

    def info(self) -> dict[str, Any]:
        return {"train_records": len(self.train_ids), "encoder": self.encoder.name}


#: name -> constructor(**options) for ``baseline:<name>``.
BASELINES: dict[str, Callable[..., Model]] = {"retrieval": RetrievalBaseline}


@register("baseline", "baseline:<name>: built-in baselines (retrieval)")
def load_baseline(rest: str, **options: Any) -> Model:
    """baseline:<name>: built-in baselines (retrieval)."""
    if rest not in BASELINES:
        raise UnknownModelSpec(f"unknown baseline {rest!r}; known: {', '.join('baseline:' + b for b in BASELINES)}")
    return BASELINES[rest](**options)
