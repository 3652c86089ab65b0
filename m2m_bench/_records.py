"""Loading the records a run scores, with the version's manifest.

:func:`m2m_bench.load_dataset` verifies checksums and keeps one ``datasets`` cache folder per
manifest; here the loaded record counts are also checked against the manifest, so a run never
scores a different set of records than the version it names.
"""

from __future__ import annotations

from typing import Any

from .errors import DatasetNotFound, M2MError


def load_version(name: str, version: str | None, split: str | None = None) -> tuple[Any, dict[str, Any]]:
    """``(datasets object, manifest)`` for a shipped version (newest when ``version`` is None)."""
    from . import data

    manifest = data.dataset_info(name, version)
    if split is not None and split not in manifest["splits"]:
        raise DatasetNotFound(
            f"dataset {name} {manifest['version']} has no split {split!r}; splits: {', '.join(manifest['splits'])}"
        )
    ds = data.load_dataset(name, manifest["version"], split=split)
    splits = {split: ds} if split is not None else dict(ds)
    for s, part in splits.items():
        want = manifest["splits"].get(s)
        if want is not None and len(part) != want:
            raise M2MError(
                f"dataset {name} {manifest['version']} split {s!r}: loaded {len(part)} records, "
                f"the manifest lists {want}"
            )
    return ds, manifest


def load_records(name: str, version: str | None, split: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``(records as dicts, manifest)`` of one split."""
    ds, manifest = load_version(name, version, split)
    return ds.to_list(), manifest
