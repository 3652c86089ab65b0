"""``authored:PATH``: the team's hand-written records (``datasets/sources/authored/**/*.jsonl``).

Each line has ``id, domain, family, conversation, action, skills, source{corpus, source_id,
license}`` and, for records an earlier release fixed, ``split``. The authored ``action``,
``skills`` and ``split`` are kept as written (the pipeline only adds ERA-CoT annotations).
``domain`` and ``family`` are not M2M record fields: they travel as the record's ``meta``,
and records without a split are assigned one family by family
(:func:`m2m_bench.data.splitting.assign_splits`). PATH is one file or a folder searched
recursively for ``*.jsonl`` files, read in path order.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ._base import InputError, SourceRecord, clean_conversation, jsonl_objects, register_source
from .jsonl import preset_fields

REQUIRED = ("id", "conversation", "action", "skills", "source")
META = ("domain", "family")


def _files(path: Path) -> list[Path]:
    return sorted(path.rglob("*.jsonl")) if path.is_dir() else [path]


@register_source("authored", "the team's authored JSONL records (keeps action, skills, split)", files=_files)
def read_authored(path: Path) -> Iterator[SourceRecord]:
    files = _files(path)
    if not files:
        raise InputError(f"{path}: no *.jsonl files there")
    for f in files:
        for n, obj in jsonl_objects(f):
            where = f"{f}: line {n}: record {obj.get('id')}"
            for k in REQUIRED:
                if obj.get(k) is None:
                    raise InputError(f"{where}: field '{k}' is missing")
            src = obj["source"]
            if not isinstance(src, dict) or not all(isinstance(src.get(k), str) and src[k] for k in ("corpus", "source_id", "license")):
                raise InputError(f"{where}: field 'source' needs corpus, source_id and license")
            action, skills = preset_fields(obj, where)
            split = obj.get("split")
            if split is not None and not isinstance(split, str):
                raise InputError(f"{where}: field 'split' must be a string")
            meta = {k: obj[k] for k in META if k in obj}
            if not all(isinstance(v, str) and v for v in meta.values()):
                raise InputError(f"{where}: fields 'domain' and 'family' must be non-empty strings")
            yield SourceRecord(
                id=str(obj["id"]),
                conversation=clean_conversation(obj["conversation"], f"{where}: field 'conversation'"),
                source={k: src[k] for k in ("corpus", "source_id", "license")},
                split=split,
                action=action,
                skills=skills,
                meta=meta,
            )
