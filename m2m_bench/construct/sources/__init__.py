"""Input adapters: each turns one corpus format into :class:`SourceRecord` s (``--input KIND:PATH``).

==============  ==============================================================
``llava``       LLaVA-Instruct JSON / JSONL (:mod:`.llava`)
``kitml``       KIT-ML ``annotations.json`` (:mod:`.kitml`)
``humanml3d``   a HumanML3D ``texts/`` folder (:mod:`.humanml3d`)
``jsonl``       generic JSON Lines with a ``conversation`` field (:mod:`.jsonl`)
``authored``    the team's authored records, keeping action, skills and split (:mod:`.authored`)
==============  ==============================================================

A new kind registers a reader with :func:`register_source`; :func:`get_adapter` reads any kind
as plain dicts (how ``scripts/build_m2m.py`` reads the authored sources).
"""

from __future__ import annotations

from ._base import InputError, InputSpec, SourceRecord, get_adapter, register_source, source_kinds

__all__ = ["InputError", "InputSpec", "SourceRecord", "get_adapter", "register_source", "source_kinds"]
