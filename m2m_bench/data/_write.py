"""Writing a new, immutable dataset version folder (every writer goes through here)."""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import DatasetNotFound, M2MError, VersionExists
from ..schema import SCHEMA_VERSION, ValidationError
from ._card import render_card
from ._manifest import build_manifest, sha256_file, write_manifest
from ._paths import RELEASES_FILE, write_root
from ._semver import is_version, version_key
from ._specs import get_spec

SPLIT_ORDER = ("train", "validation", "test")
CHANGELOG = "CHANGELOG.md"


def _parquet(records: list[dict], schema: pa.Schema, path: Path) -> None:
    rows = [{k: r.get(k) for k in schema.names} for r in records]
    table = pa.Table.from_pylist(rows, schema=schema)
    pq.write_table(table, path, compression="zstd", row_group_size=10_000)


def _ordered(splits: Mapping[str, list]) -> list[str]:
    known = [s for s in SPLIT_ORDER if s in splits]
    return known + sorted(s for s in splits if s not in SPLIT_ORDER)


def _changelog_text(old: str, name: str, version: str, entry: str, date: str) -> str:
    head = f"# Changelog of the `{name}` dataset\n\nEvery released version is immutable; changes get a new version.\n"
    body = old[len(head):] if old.startswith(head) else ""
    return f"{head}\n## [{version}] - {date}\n\n{entry.strip()}\n{body}"


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def read_releases(root: Path) -> dict[str, dict[str, Any]]:
    path = root / RELEASES_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def sync_mirror(dataset_dir: Path) -> None:
    """Make the top of ``datasets/NAME/`` a copy of its newest version (what the Hub shows)."""
    versions = sorted((p.name for p in (dataset_dir / "versions").iterdir() if is_version(p.name)), key=version_key)
    newest = dataset_dir / "versions" / versions[-1]
    for p in dataset_dir.iterdir():
        if p.name == "versions":
            continue
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    for p in newest.iterdir():
        (shutil.copytree if p.is_dir() else shutil.copyfile)(p, dataset_dir / p.name)


def write_version(
    name: str,
    version: str,
    splits: Mapping[str, list[dict]],
    *,
    root: str | Path | None = None,
    changelog: str,
    card_body: str,
    card_meta: Mapping[str, Any] | None = None,
    extra_files: Mapping[str, str | bytes | Path] | None = None,
    date: str | None = None,
) -> Path:
    """Validate ``splits`` and write ``ROOT/NAME/versions/VERSION/`` atomically.

    Writes ``data/{split}-00000-of-00001.parquet`` (and ``era_cot/`` for annotated M2M
    records), the card, the changelog, extra files and ``manifest.json``, then records the
    release in ``ROOT/releases.json`` and refreshes the top-level mirror. Nothing is written
    when validation fails or the version already exists.
    """
    spec = get_spec(name)
    if not is_version(version):
        raise M2MError(f"invalid version {version!r}: expected MAJOR.MINOR.PATCH[-pre]")
    if not splits or not any(splits.values()):
        raise M2MError(f"no records given for {name} {version}")
    root = Path(root) if root is not None else write_root()
    if root is None:
        raise DatasetNotFound("no datasets/ folder found: pass root= (the datasets/ folder of a checkout)")
    dataset_dir = root / name
    final = dataset_dir / "versions" / version
    if final.exists():
        raise VersionExists(f"{final} already exists: released versions are immutable, choose a new version")

    order = _ordered(splits)
    files = {s: f"data/{s}-00000-of-00001.parquet" for s in order}
    violations = spec.validate({s: list(splits[s]) for s in order}, files)
    if violations:
        raise ValidationError(violations)

    date = date or _dt.date.today().isoformat()
    (dataset_dir / "versions").mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=dataset_dir / "versions"))
    tmp.chmod(0o755)
    try:
        (tmp / "data").mkdir()
        for s in order:
            _parquet(list(splits[s]), spec.schema, tmp / files[s])
        era_splits: list[str] = []
        if spec.era_cot_config:
            for s in order:
                annotated = [r for r in splits[s] if r.get("era_cot") is not None]
                if annotated:
                    (tmp / "era_cot").mkdir(exist_ok=True)
                    _parquet(annotated, spec.schema, tmp / f"era_cot/{s}-00000-of-00001.parquet")
                    era_splits.append(s)
        meta = {**spec.card, **(card_meta or {})}
        n = sum(len(splits[s]) for s in order)
        (tmp / "README.md").write_text(render_card(meta, n, order, era_splits, card_body), encoding="utf-8")
        old_log = (dataset_dir / CHANGELOG).read_text(encoding="utf-8") if (dataset_dir / CHANGELOG).is_file() else ""
        (tmp / CHANGELOG).write_text(_changelog_text(old_log, name, version, changelog, date), encoding="utf-8")
        for rel, content in (extra_files or {}).items():
            dest = tmp / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Path):
                shutil.copyfile(content, dest)
            elif isinstance(content, bytes):
                dest.write_bytes(content)
            else:
                dest.write_text(content, encoding="utf-8")
        manifest = build_manifest(tmp, name, version, SCHEMA_VERSION if name == "m2m" else "1")
        manifest_path = write_manifest(tmp, manifest)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

    releases = read_releases(root)
    releases.setdefault(name, {})[version] = {
        "content_hash": manifest["content_hash"],
        "manifest_sha256": sha256_file(final / manifest_path.name),
        "num_records": manifest["num_records"],
        "date": date,
    }
    _atomic_write(root / RELEASES_FILE, json.dumps(releases, indent=2, sort_keys=True) + "\n")
    sync_mirror(dataset_dir)
    return final
