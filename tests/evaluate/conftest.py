"""Fixtures of the harness tests: the shipped seed version, a generation-cache path per test,
the SmolLM2 folder (converted once) and one real ``transformers serve`` for the session."""

from __future__ import annotations

import json

import pytest

#: The released seed version the end-to-end tests run on (immutable, so results are stable).
SEED_VERSION = "0.1.0"


@pytest.fixture(scope="session")
def seed_records():
    from m2m_bench._records import load_records

    records, manifest = load_records("m2m", SEED_VERSION, "test")
    return records, manifest


@pytest.fixture
def run_args(tmp_path):
    """Common CLI arguments: pinned dataset, a private cache and output folder, no progress."""

    def make(*extra: str) -> list[str]:
        return [
            "--dataset", "m2m", "--version", SEED_VERSION, "--split", "test",
            "--cache", str(tmp_path / "gen.sqlite"), "--output-dir", str(tmp_path / "out"),
            "--no-progress", *extra,
        ]  # fmt: skip

    return make


@pytest.fixture
def read_results(capsys):
    """``read_results()``: the results file named by the last ``results:`` line main() printed."""

    def read() -> dict:
        out = capsys.readouterr().out.strip().splitlines()
        line = [ln for ln in out if ln.startswith("results: ")][-1]
        with open(line.split()[1], encoding="utf-8") as f:
            return json.load(f)

    return read


