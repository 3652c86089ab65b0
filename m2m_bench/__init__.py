"""m2m-bench: the Motion2Motion (M2M) dataset, its scoring harness and reference baselines.

Thin public API; the work happens in the submodules named below.
"""

from __future__ import annotations

from .data import dataset_info, list_versions, load_dataset, write_version
from .errors import ChecksumError, DatasetNotFound, M2MError
from .schema import M2M_SCHEMA, Violation, normalize_skill, validate_records

__version__ = "0.1.0"

__all__ = [
    "M2M_SCHEMA",
    "ChecksumError",
    "DatasetNotFound",
    "M2MError",
    "Violation",
    "__version__",
    "dataset_info",
    "list_versions",
    "load_dataset",
    "normalize_skill",
    "validate_records",
    "write_version",
]
