"""``--backend hf``: a local transformers model, loaded through the harness's model loader.

``--model`` is a model folder, a Hub id already in the local cache, or ``smollm2`` (the
embedded default). Generation is :meth:`m2m_bench.models.hf.HFModel.generate` (chat template,
left-padded batches); calls with the same decoding parameters (so the same sample seed) are
generated together. Token counts are measured with the model's own tokenizer; local calls
cost nothing. The cache key names the model by folder name and content revision, so a cache
built on one machine serves another.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..cache import Reply
from ._base import Backend, Call, CallRejected, Sink


class HFBackend(Backend):
    kind = "hf"

    def __init__(self, model: str, *, device: str = "auto", batch_size: int = 4, **_: Any):
        from ...models import load_model

        spec = "smollm2" if model in ("", "smollm2") else f"hf:{model}"
        self.hf = load_model(spec, device=device, batch_size=batch_size)
        self.model = f"{self.hf.name}@{self.hf.revision}"
        self.batch_size = max(1, int(batch_size))

    def _tokens(self, text: str) -> int:
        tok = getattr(self.hf, "tokenizer", None)
        return len(tok(text, add_special_tokens=False)["input_ids"]) if tok is not None else 0

    def run(self, calls: Sequence[Call], sink: Sink) -> None:
        groups: dict[str, list[Call]] = {}
        for c in calls:
            groups.setdefault(json.dumps(c.params, sort_keys=True), []).append(c)
        for group in groups.values():
            p = group[0].params
            gen = {
                "max_new_tokens": int(p.get("max_tokens", 256)),
                "temperature": float(p.get("temperature", 0.0)),
                "top_p": float(p.get("top_p", 1.0)),
                "seed": int(p.get("seed", 0)),
            }
            for start in range(0, len(group), self.batch_size):
                chunk = group[start : start + self.batch_size]
                for c in chunk:
                    sink.started(c)
                try:
                    texts = self.hf.generate([c.messages for c in chunk], **gen)
                except (RuntimeError, ValueError) as e:  # e.g. a prompt longer than the context
                    for c in chunk:
                        sink.finished(c, CallRejected(f"generation failed: {e}"))
                    continue
                for c, text in zip(chunk, texts, strict=True):
                    prompt = self.hf.render(c.messages) if hasattr(self.hf, "render") else ""
                    sink.finished(c, Reply(text, self._tokens(prompt), self._tokens(text), 0.0, self.model))

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "model": self.model, **self.hf.info()}

    def close(self) -> None:
        self.hf.close()
