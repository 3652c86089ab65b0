"""``llava:PATH``: LLaVA-Instruct conversations about COCO images.

Reads the Hub's JSON files (``llava_instruct_150k.json``: a list of ``{id, image,
conversations: [{from: human|gpt, value}]}``), the same objects as JSON Lines, and the
question/answer lines of LLaVA's evaluation samples (``{id, image, instruction, output,
type}``, as in ``coco2014_val_gpt4_qa_30x3.jsonl``). A conversation becomes ``User:`` /
``Assistant:`` lines without the ``<image>`` token. Record ids are ``llava-<id>[-<type>]``,
with ``-2``, ``-3`` ... appended to repeats. License: the data is CC BY 4.0 (LLaVA-Instruct's
Hub card), generated with GPT-4 under OpenAI's terms of use.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ._base import InputError, SourceRecord, jsonl_objects, read_json, register_source, render_turns

CORPUS = "llava-instruct"
LICENSE = "CC-BY-4.0"


def _objects(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    if path.suffix == ".json":
        data = read_json(path)
        if not isinstance(data, list):
            raise InputError(f"{path}: expected a JSON list of LLaVA records, got {type(data).__name__}")
        for i, obj in enumerate(data):
            if not isinstance(obj, dict):
                raise InputError(f"{path}: item {i}: must be a JSON object")
            yield f"{path}: item {i}", obj
    else:
        for n, obj in jsonl_objects(path):
            yield f"{path}: line {n}", obj


@register_source("llava", "LLaVA-Instruct JSON/JSONL (conversations, or instruction/output lines)")
def read_llava(path: Path) -> Iterator[SourceRecord]:
    if path.is_dir():
        raise InputError(f"{path}: llava input must be a .json or .jsonl file, not a folder")
    seen: dict[str, int] = {}
    for where, obj in _objects(path):
        sid = obj.get("id")
        if not isinstance(sid, (str, int)) or str(sid).strip() == "":
            raise InputError(f"{where}: field 'id' is missing")
        if "conversations" in obj:
            text = render_turns(obj["conversations"], f"{where}: record {sid}: field 'conversations'")
        elif "instruction" in obj and "output" in obj:
            turns = [{"from": "human", "value": obj["instruction"]}, {"from": "gpt", "value": obj["output"]}]
            text = render_turns(turns, f"{where}: record {sid}: fields 'instruction'/'output'")
        else:
            raise InputError(f"{where}: record {sid}: needs 'conversations' or 'instruction' + 'output'")
        base = f"{sid}-{obj['type']}" if isinstance(obj.get("type"), str) else str(sid)
        seen[base] = seen.get(base, 0) + 1
        source_id = base if seen[base] == 1 else f"{base}-{seen[base]}"
        yield SourceRecord(
            id=f"llava-{source_id}",
            conversation=text,
            source={"corpus": CORPUS, "source_id": source_id, "license": LICENSE},
        )
