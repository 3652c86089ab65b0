"""ERA-CoT construction: from raw dialogues to a validated M2M dataset version.

Motion-R1 (§3.1.2-3.1.3) builds M2M by extracting entities, stated and inferred relations,
filtering inferred ones with a scoring agent, and summarizing the result into an action and
skills. This package does that with any LLM:

``sources/``     input adapters (``--input KIND:PATH``)
``stages/``      one module per stage, each with its prompt template and version
``backends/``    OpenAI-compatible endpoints, local transformers, batch files, offline
``llm.py``       cache-first calls; ``cache.py`` the one SQLite call cache
``pipeline.py``  stage order, retries, votes, signatures, resume
``output.py``    records, ``pipeline.yaml``, version writing, rebuilds
``review.py``    the human review round trip
``cli.py``       ``m2m-bench construct``

Guide: ``docs/construct.md``.
"""

from __future__ import annotations

from .cache import CallCache
from .config import ConstructConfig
from .llm import LLM
from .pipeline import Build, build

__all__ = ["LLM", "Build", "CallCache", "ConstructConfig", "build"]
