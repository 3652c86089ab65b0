"""The versions shipped in datasets/ are intact, locked, documented and loadable.

`datasets/releases.json` is the release lock: any change to a released file without a new
version (and its changelog entry) fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import m2m_bench
from m2m_bench.data import list_versions, verify_folder
from m2m_bench.data._manifest import sha256_file
from m2m_bench.data.cli import validate_folder

DATASETS = Path(__file__).resolve().parents[2] / "datasets"
RELEASES = json.loads((DATASETS / "releases.json").read_text())
RELEASED = [(name, v) for name, versions in RELEASES.items() for v in versions]


@pytest.fixture(autouse=True)
def _shipped_root(monkeypatch):
    monkeypatch.delenv("M2M_BENCH_DATASETS", raising=False)


@pytest.mark.parametrize(("name", "version"), RELEASED)
def test_released_version_matches_its_lock(name, version):
    folder = DATASETS / name / "versions" / version
    assert folder.is_dir(), f"released {name} {version} was removed: old versions must stay loadable"
    lock = RELEASES[name][version]
    manifest = verify_folder(folder, check_content=True)
    assert sha256_file(folder / "manifest.json") == lock["manifest_sha256"], (
        f"{name} {version} changed after release: make a new version with a changelog entry"
    )
    assert manifest["content_hash"] == lock["content_hash"]
    assert f"## [{version}]" in (folder / "CHANGELOG.md").read_text()
    assert f"## [{version}]" in (DATASETS / name / "CHANGELOG.md").read_text()


@pytest.mark.parametrize("name", sorted(RELEASES))
def test_every_version_folder_is_released_and_mirror_is_newest(name):
    assert set(list_versions(name)) == set(RELEASES[name])
    newest = DATASETS / name / "versions" / list_versions(name)[-1]
    top = DATASETS / name
    assert (top / "manifest.json").read_bytes() == (newest / "manifest.json").read_bytes()
    verify_folder(top, ignore=("versions",))  # the mirror's files match the newest manifest


def test_shipped_m2m_is_valid_and_has_the_seed():
    assert "0.1.0" in RELEASES["m2m"]
    for version in RELEASES["m2m"]:
        assert validate_folder(DATASETS / "m2m" / "versions" / version) == []
    seed = m2m_bench.load_dataset("m2m", version="0.1.0")
    assert set(seed) == {"train", "validation", "test"}
    assert sum(len(s) for s in seed.values()) >= 60
    ids = [i for s in seed.values() for i in s["id"]]
    assert len(ids) == len(set(ids))


def test_shipped_gsm8k_loads_with_its_license():
    test = m2m_bench.load_dataset("gsm8k", split="test")
    assert len(test) == 1319 and test[0]["answer"].rstrip().split("####")[-1].strip() == "18"
    folder = DATASETS / "gsm8k" / "versions" / "1.0.0"
    assert "MIT License" in (folder / "LICENSE").read_text()
