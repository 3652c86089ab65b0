"""Where the shipped dataset versions live.

Search order: ``$M2M_BENCH_DATASETS`` (a folder laid out like ``datasets/``), the copy inside
an installed wheel (``m2m_bench/_datasets``), then the ``datasets/`` folder of a source
checkout. Inside a root, version ``X.Y.Z`` of dataset ``NAME`` is ``NAME/versions/X.Y.Z/``.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import DatasetNotFound
from ._semver import is_version, version_key

_PKG = Path(__file__).resolve().parents[1]
RELEASES_FILE = "releases.json"


def checkout_root() -> Path | None:
    """The ``datasets/`` folder of the source checkout this package runs from, if any."""
    cand = _PKG.parent / "datasets"
    return cand if (cand / RELEASES_FILE).is_file() else None


def dataset_roots() -> list[Path]:
    roots: list[Path] = []
    env = os.environ.get("M2M_BENCH_DATASETS")
    if env:
        roots.append(Path(env))
    wheel = _PKG / "_datasets"
    if wheel.is_dir():
        roots.append(wheel)
    co = checkout_root()
    if co is not None:
        roots.append(co)
    return roots


def write_root() -> Path | None:
    """Where new versions are written: ``$M2M_BENCH_DATASETS`` if set, else the checkout's."""
    env = os.environ.get("M2M_BENCH_DATASETS")
    return Path(env) if env else checkout_root()


def find_dataset(name: str) -> Path:
    """The folder ``ROOT/NAME`` of the first root that ships ``NAME``."""
    for root in dataset_roots():
        if (root / name / "versions").is_dir():
            return root / name
    searched = ", ".join(str(r) for r in dataset_roots()) or "(no dataset roots found)"
    raise DatasetNotFound(f"unknown dataset {name!r}: not found under {searched}")


def list_versions(name: str) -> list[str]:
    """Shipped versions of ``name``, oldest first."""
    vdir = find_dataset(name) / "versions"
    return sorted((p.name for p in vdir.iterdir() if p.is_dir() and is_version(p.name)), key=version_key)


def version_dir(name: str, version: str | None = None) -> Path:
    """Folder of ``name`` at ``version`` (the newest when ``None``)."""
    versions = list_versions(name)
    if not versions:
        raise DatasetNotFound(f"dataset {name!r} has no shipped versions")
    if version is None:
        version = versions[-1]
    if version not in versions:
        raise DatasetNotFound(
            f"unknown version {version!r} of dataset {name!r}; shipped versions: {', '.join(versions)}"
        )
    return find_dataset(name) / "versions" / version
