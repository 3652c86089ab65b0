"""``jsonl:PATH``: generic JSON Lines with a ``conversation`` field.

Per line: ``conversation`` (a string, or a list of turns ``{from|role|speaker,
value|content|text}``), and optionally ``id`` (default ``<file stem>-<line>``), ``split``,
``action`` + ``skills`` (kept instead of summarizing), and ``source`` ``{corpus, source_id,
license}`` or a top-level ``license``. A license is required: records without one are an
error naming the line.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ._base import (
    InputError,
    SourceRecord,
    clean_conversation,
    jsonl_objects,
    register_source,
    render_turns,
)


def preset_fields(obj: Mapping[str, Any], where: str) -> tuple[str | None, tuple[str, ...] | None]:
    """``(action, skills)`` when a record brings both, ``(None, None)`` when it brings neither."""
    action, skills = obj.get("action"), obj.get("skills")
    if action is None and skills is None:
        return None, None
    if not isinstance(action, str) or not action.strip():
        raise InputError(f"{where}: field 'action' must be a non-empty string when 'skills' is given")
    if not isinstance(skills, list) or not skills or not all(isinstance(s, str) for s in skills):
        raise InputError(f"{where}: field 'skills' must be a non-empty list of strings when 'action' is given")
    return action.strip(), tuple(skills)


@register_source("jsonl", "generic JSON Lines with a 'conversation' field")
def read_jsonl(path: Path) -> Iterator[SourceRecord]:
    if path.is_dir():
        raise InputError(f"{path}: jsonl input must be a file")
    for n, obj in jsonl_objects(path):
        rid = obj.get("id", f"{path.stem}-{n}")
        if not isinstance(rid, (str, int)) or str(rid).strip() == "":
            raise InputError(f"{path}: line {n}: field 'id' must be a non-empty string")
        where = f"{path}: line {n}: record {rid}"
        conv = obj.get("conversation")
        text = (
            render_turns(conv, f"{where}: field 'conversation'")
            if isinstance(conv, list)
            else clean_conversation(conv, f"{where}: field 'conversation'")
        )
        src = obj.get("source") if isinstance(obj.get("source"), dict) else {}
        license_ = src.get("license") or obj.get("license")
        if not isinstance(license_, str) or not license_.strip():
            raise InputError(f"{where}: field 'source.license' is missing (give 'source': {{'license': ...}} or 'license')")
        action, skills = preset_fields(obj, where)
        split = obj.get("split")
        if split is not None and not isinstance(split, str):
            raise InputError(f"{where}: field 'split' must be a string")
        yield SourceRecord(
            id=str(rid),
            conversation=text,
            source={
                "corpus": str(src.get("corpus") or path.stem),
                "source_id": str(src.get("source_id") or rid),
                "license": license_.strip(),
            },
            split=split,
            action=action,
            skills=skills,
        )
