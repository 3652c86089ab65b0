"""Writing, verifying and loading immutable dataset versions (in a throw-away root)."""

from __future__ import annotations

import json

import pytest

import datasets
import m2m_bench
from m2m_bench.data import content_hash, dataset_info, list_versions, verify, write_version
from m2m_bench.data._card import read_card_meta
from m2m_bench.data._semver import version_key
from m2m_bench.errors import ChecksumError, DatasetNotFound, M2MError, VersionExists
from m2m_bench.schema import ValidationError


def release(root, splits, version="0.1.0", name="m2m"):
    return write_version(name, version, splits, root=root, changelog=f"Release {version}.", card_body="# Card\n")


def test_write_and_load_round_trip(data_root, splits):
    folder = release(data_root, splits)
    assert sorted(p.name for p in folder.iterdir()) == ["CHANGELOG.md", "README.md", "data", "era_cot", "manifest.json"]
    dd = m2m_bench.load_dataset("m2m")
    assert isinstance(dd, datasets.DatasetDict)
    assert {k: len(v) for k, v in dd.items()} == {"train": 4, "validation": 2, "test": 2}
    test = m2m_bench.load_dataset("m2m", version="0.1.0", split="test")
    assert isinstance(test, datasets.Dataset)
    assert test[0]["id"] == "x0" and test[0]["era_cot"]["threshold"] == 0.6 and test[1]["era_cot"] is None
    era = m2m_bench.load_dataset("m2m", split="test", config="era_cot")
    assert era["id"] == ["x0"]


def test_manifest_counts_and_content_hash(data_root, splits):
    folder = release(data_root, splits)
    m = dataset_info("m2m", "0.1.0")
    assert m["splits"] == {"test": 2, "train": 4, "validation": 2} and m["num_records"] == 8
    assert m["era_cot_splits"] == {"test": 1}
    assert m["content_hash"] == content_hash(splits)
    assert set(m["files"]) == {
        "CHANGELOG.md", "README.md", "data/train-00000-of-00001.parquet",
        "data/validation-00000-of-00001.parquet", "data/test-00000-of-00001.parquet",
        "era_cot/test-00000-of-00001.parquet",
    }
    assert m["files"]["data/train-00000-of-00001.parquet"]["records"] == 4
    releases = json.loads((data_root / "releases.json").read_text())
    assert releases["m2m"]["0.1.0"]["content_hash"] == m["content_hash"]
    assert folder.name == "0.1.0"


def test_content_hash_ignores_record_order_but_not_content(splits):
    shuffled = {k: list(reversed(v)) for k, v in splits.items()}
    assert content_hash(shuffled) == content_hash(splits)
    changed = {k: [dict(r) for r in v] for k, v in splits.items()}
    changed["test"][1]["action"] = "a person walks away."
    assert content_hash(changed) != content_hash(splits)
    moved = {"train": splits["train"] + splits["test"], "validation": splits["validation"]}
    assert content_hash(moved) != content_hash(splits)


def test_card_yaml_has_hub_fields_and_configs(data_root, splits):
    folder = release(data_root, splits)
    meta = read_card_meta((folder / "README.md").read_text())
    for key in ("pretty_name", "license", "language", "task_categories", "size_categories", "configs"):
        assert key in meta
    configs = {c["config_name"]: c for c in meta["configs"]}
    assert [f["split"] for f in configs["default"]["data_files"]] == ["train", "validation", "test"]
    assert configs["era_cot"]["data_files"] == [{"split": "test", "path": "era_cot/test-*.parquet"}]
    assert meta["size_categories"] == ["n<1K"]


def test_plain_datasets_load_dataset_reads_the_hub_layout_offline(data_root, splits):
    release(data_root, splits)
    dd = datasets.load_dataset(str(data_root / "m2m"))
    assert {k: len(v) for k, v in dd.items()} == {"train": 4, "validation": 2, "test": 2}


def test_versions_are_immutable(data_root, splits):
    release(data_root, splits)
    before = (data_root / "m2m/versions/0.1.0/data/test-00000-of-00001.parquet").read_bytes()
    with pytest.raises(VersionExists, match="immutable"):
        release(data_root, {"train": splits["train"][:1]})
    assert (data_root / "m2m/versions/0.1.0/data/test-00000-of-00001.parquet").read_bytes() == before


def test_newer_version_becomes_default_and_older_stays_loadable(data_root, splits, record_factory):
    release(data_root, splits)
    old_hash = dataset_info("m2m", "0.1.0")["content_hash"]
    bigger = {k: list(v) for k, v in splits.items()}
    bigger["train"] = bigger["train"] + [record_factory("t9")]
    release(data_root, bigger, version="0.2.0")
    assert list_versions("m2m") == ["0.1.0", "0.2.0"]
    assert len(m2m_bench.load_dataset("m2m", split="train")) == 5
    assert len(m2m_bench.load_dataset("m2m", version="0.1.0", split="train")) == 4
    assert dataset_info("m2m", "0.1.0")["content_hash"] == old_hash
    # the top of datasets/m2m mirrors the newest version, and the changelog accumulates
    top = json.loads((data_root / "m2m/manifest.json").read_text())
    assert top["version"] == "0.2.0"
    log = (data_root / "m2m/CHANGELOG.md").read_text()
    assert log.index("## [0.2.0]") < log.index("## [0.1.0]")


def test_invalid_records_write_nothing(data_root, splits):
    splits["test"][1]["skills"] = []
    splits["train"][0]["id"] = "x0"  # duplicate across splits
    with pytest.raises(ValidationError) as e:
        release(data_root, splits)
    msgs = [str(v) for v in e.value.violations]
    assert any("field 'skills': must not be empty" in m for m in msgs)
    assert any("duplicate id" in m and "train" in m for m in msgs)
    assert not (data_root / "m2m").exists()
    assert not (data_root / "releases.json").exists()


def test_tampered_file_is_named(data_root, splits):
    folder = release(data_root, splits)
    target = folder / "data/test-00000-of-00001.parquet"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match="test-00000-of-00001.parquet"):
        m2m_bench.load_dataset("m2m")


def test_extra_and_missing_files_are_detected(data_root, splits):
    folder = release(data_root, splits)
    (folder / "data" / "sneaky-00000.parquet").write_bytes(b"x")
    with pytest.raises(ChecksumError, match="not listed"):
        verify("m2m")
    (folder / "data" / "sneaky-00000.parquet").unlink()
    (folder / "CHANGELOG.md").unlink()
    with pytest.raises(ChecksumError, match="CHANGELOG.md.*missing"):
        verify("m2m")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "m2m", "version": "9.9.9"}, "unknown version '9.9.9'.*0.1.0"),
        ({"name": "nope"}, "unknown dataset 'nope'"),
        ({"name": "m2m", "split": "dev"}, "no split 'dev'"),
        ({"name": "./no/such/folder"}, "no such dataset version folder"),
    ],
)
def test_clear_errors(data_root, splits, kwargs, match):
    release(data_root, splits)
    with pytest.raises(DatasetNotFound, match=match):
        m2m_bench.load_dataset(**kwargs)


def test_bad_version_strings_are_refused(data_root, splits):
    with pytest.raises(M2MError, match="invalid version"):
        release(data_root, splits, version="v1")


def test_semver_ordering():
    order = ["0.1.0", "0.10.0", "1.0.0-rc", "1.0.0-rc.2", "1.0.0", "1.0.1"]
    assert sorted(reversed(order), key=version_key) == order


def test_same_version_name_in_two_roots_never_shares_a_cache(tmp_path, monkeypatch, splits, record_factory):
    a, b = tmp_path / "a", tmp_path / "b"
    release(a, splits)
    release(b, {"train": [record_factory("only")]})
    monkeypatch.setenv("M2M_BENCH_DATASETS", str(a))
    assert len(m2m_bench.load_dataset("m2m", split="train")) == 4
    monkeypatch.setenv("M2M_BENCH_DATASETS", str(b))
    assert m2m_bench.load_dataset("m2m", split="train")["id"] == ["only"]
