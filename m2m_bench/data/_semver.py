"""Version strings of datasets: ``MAJOR.MINOR.PATCH`` with an optional pre-release (``1.0.0-rc``)."""

from __future__ import annotations

import re

_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?$")


def is_version(text: str) -> bool:
    return bool(_SEMVER.match(text))


def version_key(text: str) -> tuple:
    """Sort key with semver precedence: ``1.0.0-rc < 1.0.0 < 1.0.1``."""
    m = _SEMVER.match(text)
    if not m:
        raise ValueError(f"not a version (expected MAJOR.MINOR.PATCH[-pre]): {text!r}")
    major, minor, patch, pre = m.groups()
    if pre is None:
        pre_key: tuple = (1,)
    else:
        pre_key = (0, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split(".")))
    return (int(major), int(minor), int(patch), pre_key)
