"""Dataset versions: paths, manifests, loading, writing and publishing.

Public API: :func:`load_dataset`, :func:`write_version`, :func:`dataset_info`,
:func:`list_versions`, :func:`verify`, :func:`push_version`.
"""

from __future__ import annotations

from typing import Any

from ._load import load_dataset, resolve
from ._manifest import content_hash, read_manifest, verify_folder
from ._paths import dataset_roots, list_versions, version_dir
from ._push import push_version
from ._specs import SPECS, get_spec
from ._write import write_version


def dataset_info(name: str = "m2m", version: str | None = None) -> dict[str, Any]:
    """The manifest of a shipped version (splits, counts, content hash, files)."""
    return read_manifest(resolve(name, version))


def verify(name: str = "m2m", version: str | None = None, check_content: bool = True) -> dict[str, Any]:
    """Verify a shipped version's checksums (and content hash); raise on any mismatch."""
    return verify_folder(resolve(name, version), check_content=check_content)


__all__ = [
    "SPECS",
    "content_hash",
    "dataset_info",
    "dataset_roots",
    "get_spec",
    "list_versions",
    "load_dataset",
    "push_version",
    "resolve",
    "verify",
    "verify_folder",
    "version_dir",
    "write_version",
]
