"""LLM backends of the construction pipeline, by ``--backend`` name.

==========  ==================================================================
``openai``  an OpenAI-compatible endpoint (:mod:`.openai_compat`)
``hf``      a local transformers model (:mod:`.hf`)
``batch``   batch files: export prompts, import answers (:mod:`.batch`)
``offline`` the cache only; used by rebuilds (:mod:`.batch`)
==========  ==================================================================
"""

from __future__ import annotations

from typing import Any

from ...errors import M2MError
from ._base import PENDING, Backend, BackendUnavailable, Call, CallRejected, Sink
from .batch import (
    BatchBackend,
    ImportReport,
    OfflineBackend,
    export_requests,
    import_responses,
    meta_path,
)

BACKENDS = ("openai", "hf", "batch", "offline")


def get_backend(kind: str, model: str = "", **options: Any) -> Backend:
    """The backend ``kind`` for ``model``; options a backend does not use are ignored."""
    if kind == "openai":
        from .openai_compat import OpenAIBackend

        return OpenAIBackend(model, **options)
    if kind == "hf":
        from .hf import HFBackend

        return HFBackend(model, **options)
    if kind == "batch":
        return BatchBackend(model, **options)
    if kind == "offline":
        return OfflineBackend(options.pop("key_kind"), model, **options)
    raise M2MError(f"unknown --backend {kind!r}; known: {', '.join(BACKENDS)}")


__all__ = [
    "BACKENDS",
    "PENDING",
    "Backend",
    "BackendUnavailable",
    "BatchBackend",
    "Call",
    "CallRejected",
    "ImportReport",
    "OfflineBackend",
    "Sink",
    "export_requests",
    "get_backend",
    "import_responses",
    "meta_path",
]
