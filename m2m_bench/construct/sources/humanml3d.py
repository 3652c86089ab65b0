"""``humanml3d:PATH``: a HumanML3D ``texts/`` folder (or the dataset folder holding it).

Each ``texts/<id>.txt`` has one description per line, ``caption#tokens#start#end``; every
caption is one record (id ``humanml3d-<id>-<line>``, lines counted from 0). Files whose id
starts with ``M`` are mirrored copies and are skipped. Splits come from ``train.txt``,
``val.txt`` and ``test.txt`` next to ``texts/`` when present. License: the HumanML3D texts
are MIT; the motions they describe fall under AMASS's license.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ._base import (
    InputError,
    SourceRecord,
    check_size,
    clean_conversation,
    register_source,
    split_files,
)

CORPUS = "humanml3d"
LICENSE = "MIT (HumanML3D texts; motions under the AMASS license)"
SPLIT_FILES = {"train.txt": "train", "val.txt": "validation", "test.txt": "test"}


def _texts(path: Path) -> Path:
    return path / "texts" if (path / "texts").is_dir() else path


def _files(path: Path) -> list[Path]:
    t = _texts(path)
    return sorted(t.glob("*.txt")) + sorted(p for p in t.parent.glob("*.txt") if p.name in SPLIT_FILES)


@register_source("humanml3d", "HumanML3D texts/ folder (one record per caption line)", files=_files)
def read_humanml3d(path: Path) -> Iterator[SourceRecord]:
    texts = _texts(path)
    if not texts.is_dir():
        raise InputError(f"{path}: humanml3d input must be a texts/ folder")
    files = sorted(texts.glob("*.txt"))
    if not files:
        raise InputError(f"{texts}: no .txt files there")
    splits = split_files(texts.parent, SPLIT_FILES)
    for f in files:
        if f.stem.startswith("M"):
            continue
        check_size(f)
        try:
            lines = f.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as e:
            raise InputError(f"{f}: not UTF-8 text ({e})") from None
        for i, line in enumerate(ln for ln in lines if ln.strip()):
            caption = line.split("#", 1)[0]
            yield SourceRecord(
                id=f"humanml3d-{f.stem}-{i}",
                conversation=clean_conversation(caption, f"{f}: line {i + 1}: field 'caption'"),
                source={"corpus": CORPUS, "source_id": f"{f.stem}#{i}", "license": LICENSE},
                split=splits.get(f.stem),
            )
