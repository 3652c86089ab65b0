"""`m2m-bench data ...` end to end, as a user runs it (subprocesses, real exit codes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from m2m_bench.data import write_version
from m2m_bench.schema import to_table

REPO = Path(__file__).resolve().parents[2]


def run(*args, env_extra=None):
    env = {**os.environ, **(env_extra or {})}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "m2m_bench", *args], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.fixture
def released(data_root, splits):
    write_version("m2m", "0.1.0", splits, root=data_root, changelog="First.", card_body="# Card")
    return data_root


def test_info_lists_versions_splits_and_counts(released):
    r = run("data", "info", "m2m", env_extra={"M2M_BENCH_DATASETS": str(released)})
    assert r.returncode == 0, r.stderr
    assert "0.1.0" in r.stdout and "train 4" in r.stdout and "test 2" in r.stdout


def test_validate_ok_folder_and_file(released):
    folder = released / "m2m" / "versions" / "0.1.0"
    r = run("data", "validate", str(folder), str(folder / "data/train-00000-of-00001.parquet"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stderr.count("OK") == 2


def test_validate_reports_every_violation_and_fails(tmp_path, record_factory):
    bad = [
        record_factory("a", skills=[]),
        record_factory("a"),
        {"id": "b", "conversation": "hi"},
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in bad) + "\n{not json\n")
    r = run("data", "validate", str(path))
    assert r.returncode == 1
    lines = r.stdout.strip().splitlines()
    assert f"{path}: record 'a': field 'skills': must not be empty" in lines
    assert any("record 'a': field 'id': duplicate id" in line for line in lines)
    assert any("record 'b': field 'action': is missing" in line for line in lines)
    assert any("record 'b': field 'skills': is missing" in line for line in lines)
    assert any("'line 4'" in line and "not valid UTF-8 JSON" in line for line in lines)


def test_validate_flags_wrong_parquet_types(tmp_path, record_factory):
    table = to_table([record_factory("a")])
    table = table.set_column(table.schema.get_field_index("skills"), "skills", table.column("id"))
    pq.write_table(table, tmp_path / "t.parquet")
    r = run("data", "validate", str(tmp_path / "t.parquet"))
    assert r.returncode == 1 and "field 'skills': column has type string" in r.stdout


def test_validate_tampered_folder(released):
    folder = released / "m2m" / "versions" / "0.1.0"
    with open(folder / "README.md", "a") as f:
        f.write("edited\n")
    r = run("data", "validate", str(folder))
    assert r.returncode == 1 and "README.md: checksum mismatch" in r.stdout


def test_nonexistent_path_is_one_clear_message(tmp_path):
    r = run("data", "validate", str(tmp_path / "nope.parquet"))
    assert r.returncode == 2
    assert r.stderr.strip() == f"error: {tmp_path / 'nope.parquet'}: no such file or directory"


def test_unknown_version_exits_non_zero(released):
    r = run("data", "verify", "m2m", "--version", "3.0.0", env_extra={"M2M_BENCH_DATASETS": str(released)})
    assert r.returncode == 2 and "unknown version '3.0.0'" in r.stderr and "Traceback" not in r.stderr


def test_push_dry_run_lists_files_and_sends_nothing(released):
    r = run(
        "data", "push", "--repo", "someone/m2m", "--version", "0.1.0", "--dry-run",
        env_extra={"M2M_BENCH_DATASETS": str(released), "HF_TOKEN": "", "HF_HUB_OFFLINE": "1"},
    )
    assert r.returncode == 0, r.stderr
    assert "would upload 7 files" in r.stdout and "tag v0.1.0" in r.stdout
    assert "  data/test-00000-of-00001.parquet" in r.stdout.splitlines()


def test_release_from_jsonl_and_refuse_bad_input(tmp_path, released, record_factory):
    good = [dict(record_factory(f"n{i}"), split=s, domain="household") for i, s in enumerate(["train", "train", "test"])]
    src = tmp_path / "authored.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in good))
    (tmp_path / "log.md").write_text("Second release.")
    (tmp_path / "card.md").write_text("# Card")
    env = {"M2M_BENCH_DATASETS": str(released)}
    args = ["data", "release", "--version", "0.2.0", "--changelog", str(tmp_path / "log.md"), "--card", str(tmp_path / "card.md")]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(dict(good[0], split="dev")))
    r = run(*args, "--records", str(bad), env_extra=env)
    assert r.returncode == 2 and "field 'split'" in r.stderr
    assert not (released / "m2m/versions/0.2.0").exists()
    r = run(*args, "--records", str(src), env_extra=env)
    assert r.returncode == 0, r.stderr
    m = json.loads((released / "m2m/versions/0.2.0/manifest.json").read_text())
    assert m["splits"] == {"test": 1, "train": 2}


def test_cli_help_and_unknown_verb():
    r = run("--help")
    assert r.returncode == 0 and "data" in r.stdout and "evaluate" in r.stdout
    r = run("frobnicate")
    assert r.returncode == 2 and "unknown verb 'frobnicate'" in r.stderr
