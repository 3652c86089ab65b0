"""The manifest of a dataset version: sha256 per file, record counts and one content hash.

``manifest.json`` lists every file of the version folder except itself. The **content hash**
identifies the records independently of parquet encoding:

    content_hash = sha256( for split in sorted(splits):
                               "split:" + split + "\\n"
                               + for record in sorted(records, key=canonical_json):
                                     canonical_json(record) + "\\n" )

where ``canonical_json`` is ``json.dumps(record, sort_keys=True, ensure_ascii=False,
separators=(",", ":"))`` of the record as read back from parquet, with top-level null fields
dropped (an absent optional field and a null one are the same record). Only the default config's files (``data/``) enter it; the
``era_cot`` config is a subset of the same records.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from ..errors import ChecksumError, DatasetNotFound

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def canonical_json(record: Mapping[str, Any]) -> str:
    """Canonical JSON of a record; top-level ``None`` fields are dropped (absent == null)."""
    rec = {k: v for k, v in record.items() if v is not None}
    return json.dumps(rec, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def content_hash(splits: Mapping[str, list[Mapping[str, Any]]]) -> str:
    """The content hash of records grouped by split (formula in the module docstring)."""
    h = hashlib.sha256()
    for split in sorted(splits):
        h.update(f"split:{split}\n".encode())
        for line in sorted(canonical_json(r) for r in splits[split]):
            h.update(line.encode("utf-8"))
            h.update(b"\n")
    return h.hexdigest()


def split_of(relpath: str) -> str:
    """``data/train-00000-of-00001.parquet`` -> ``train``."""
    return Path(relpath).name.split("-", 1)[0]


def read_split_records(folder: Path, config_dir: str = "data") -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for p in sorted((folder / config_dir).glob("*.parquet")):
        out.setdefault(split_of(p.name), []).extend(pq.read_table(p).to_pylist())
    return out


def build_manifest(folder: Path, name: str, version: str, schema_version: str) -> dict[str, Any]:
    files: dict[str, Any] = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != MANIFEST:
            rel = p.relative_to(folder).as_posix()
            entry: dict[str, Any] = {"sha256": sha256_file(p), "bytes": p.stat().st_size}
            if p.suffix == ".parquet":
                entry["records"] = pq.ParquetFile(p).metadata.num_rows
            files[rel] = entry
    splits = read_split_records(folder)
    counts = {s: len(r) for s, r in sorted(splits.items())}
    era = read_split_records(folder, "era_cot") if (folder / "era_cot").is_dir() else {}
    return {
        "manifest_version": MANIFEST_VERSION,
        "name": name,
        "version": version,
        "schema_version": schema_version,
        "splits": counts,
        "num_records": sum(counts.values()),
        "era_cot_splits": {s: len(r) for s, r in sorted(era.items())},
        "content_hash": content_hash(splits),
        "files": files,
    }


def write_manifest(folder: Path, manifest: Mapping[str, Any]) -> Path:
    path = folder / MANIFEST
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.is_file():
        raise DatasetNotFound(f"{path}: manifest is missing; is {folder} a dataset version folder?")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ChecksumError(f"{path}: manifest is not valid JSON ({e})") from None


def verify_folder(folder: Path, check_content: bool = False, ignore: tuple[str, ...] = ()) -> dict[str, Any]:
    """Check every file against the manifest; raise :class:`ChecksumError` naming the file.

    Extra files not listed in the manifest are errors too (data must not change silently).
    With ``check_content`` the content hash is recomputed from the parquet files as well.
    ``ignore`` names top-level folders to skip (``versions`` in a dataset's mirror folder).
    """
    manifest = read_manifest(folder)
    listed = manifest.get("files", {})
    for rel, entry in sorted(listed.items()):
        p = folder / rel
        if not p.is_file():
            raise ChecksumError(f"{p}: file listed in {folder / MANIFEST} is missing")
        if p.stat().st_size != entry["bytes"] or sha256_file(p) != entry["sha256"]:
            raise ChecksumError(
                f"{p}: checksum mismatch (sha256 differs from {folder / MANIFEST}); "
                "the file was modified or corrupted"
            )
    for p in folder.rglob("*"):
        rel = p.relative_to(folder).as_posix()
        if rel.split("/", 1)[0] in ignore or "__pycache__" in rel:
            continue
        if p.is_file() and p.name != MANIFEST and rel not in listed:
            raise ChecksumError(f"{p}: file is not listed in {folder / MANIFEST}")
    if check_content:
        got = content_hash(read_split_records(folder))
        if got != manifest["content_hash"]:
            raise ChecksumError(f"{folder}: content hash {got} differs from manifest {manifest['content_hash']}")
    return manifest
