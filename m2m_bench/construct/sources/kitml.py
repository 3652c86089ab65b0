"""``kitml:PATH``: KIT Motion-Language texts (``annotations.json``, or the folder holding it).

``annotations.json`` maps a motion id to ``{path, duration, annotations: [{seg_id, text,
start, end}]}``. Each annotation text is one record (id ``kitml-<seg_id>``); ids starting
with ``M`` are mirrored copies of other motions and are skipped. Splits come from
``splits/{train,val,test}.txt`` next to the file when present. License: the KIT-ML terms
(Plappert et al. 2016), repacked by TMR under MIT.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ._base import (
    InputError,
    SourceRecord,
    clean_conversation,
    read_json,
    register_source,
    split_files,
)

CORPUS = "kit-ml"
LICENSE = "KIT-ML terms (Plappert et al. 2016); TMR repack MIT"
SPLIT_FILES = {"train.txt": "train", "val.txt": "validation", "test.txt": "test"}


def _file(path: Path) -> Path:
    return path / "annotations.json" if path.is_dir() else path


def _files(path: Path) -> list[Path]:
    f = _file(path)
    return [f] + sorted(p for p in (f.parent / "splits").glob("*.txt") if p.name in SPLIT_FILES)


@register_source("kitml", "KIT-ML annotations.json (one record per annotation text)", files=_files)
def read_kitml(path: Path) -> Iterator[SourceRecord]:
    f = _file(path)
    if not f.is_file():
        raise InputError(f"{f}: no annotations.json there")
    data = read_json(f)
    if not isinstance(data, dict):
        raise InputError(f"{f}: expected an object of motion id -> annotations")
    splits = split_files(f.parent / "splits", SPLIT_FILES)
    for mid in sorted(data):
        if mid.startswith("M"):
            continue
        entry = data[mid]
        anns = entry.get("annotations") if isinstance(entry, dict) else None
        if not isinstance(anns, list):
            raise InputError(f"{f}: record {mid}: field 'annotations' must be a list")
        for i, ann in enumerate(anns):
            where = f"{f}: record {mid}: field 'annotations[{i}]'"
            if not isinstance(ann, dict):
                raise InputError(f"{where}: must be an object")
            seg = ann.get("seg_id") or f"{mid}_{i}"
            yield SourceRecord(
                id=f"kitml-{seg}",
                conversation=clean_conversation(ann.get("text"), f"{where}.text"),
                source={"corpus": CORPUS, "source_id": str(seg), "license": LICENSE},
                split=splits.get(mid),
            )
