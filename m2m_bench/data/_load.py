"""Loading a shipped dataset version (checksums verified first) or a Hub dataset."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ..errors import DatasetNotFound
from ._manifest import MANIFEST, sha256_file, verify_folder
from ._paths import version_dir

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def resolve(name: str, version: str | None = None) -> Path:
    """The folder of a shipped version, or a path to a version folder given directly."""
    p = Path(name)
    if (p / "manifest.json").is_file():
        return p
    if os.sep in name or name.startswith("."):
        raise DatasetNotFound(f"{name}: no such dataset version folder (no manifest.json there)")
    return version_dir(name, version)


def cache_root() -> Path:
    env = os.environ.get("M2M_BENCH_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "m2m-bench"


def _cache_dir(folder: Path) -> Path:
    digest = sha256_file(folder / MANIFEST)[:20]
    return cache_root() / "hf-datasets" / f"{folder.name}-{digest}"


def load_dataset(
    name: str = "m2m",
    version: str | None = None,
    split: str | None = None,
    *,
    config: str | None = None,
    verify: bool = True,
    **kwargs: Any,
):
    """Load an M2M-bench dataset; returns what :func:`datasets.load_dataset` returns.

    ``name`` is a shipped dataset (``"m2m"``, ``"gsm8k"``), a version folder path, or a Hub id
    ``org/name`` (then ``version`` selects the tag ``vX.Y.Z``). ``version=None`` is the newest
    shipped version. Checksums are verified before loading: a modified file raises
    :class:`m2m_bench.errors.ChecksumError` naming it.
    """
    import datasets

    if _HUB_ID.match(name) and not Path(name).exists():
        revision = f"v{version}" if version else None
        return datasets.load_dataset(name, config, split=split, revision=revision, **kwargs)
    folder = resolve(name, version)
    manifest = verify_folder(folder) if verify else None
    # `datasets` caches local folders under a key that does not always change with the
    # folder's path or content; a cache directory per manifest makes stale hits impossible.
    kwargs.setdefault("cache_dir", str(_cache_dir(folder)))
    if split is not None and manifest is not None and split not in manifest["splits"]:
        raise DatasetNotFound(
            f"{folder}: no split {split!r}; splits: {', '.join(manifest['splits'])}"
        )
    # Shipped versions are small local parquet files: no "Generating split" progress bars.
    quiet = not datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        return datasets.load_dataset(str(folder), config or "default", split=split, **kwargs)
    finally:
        if not quiet:
            datasets.enable_progress_bars()
