"""Shared test fixtures: valid M2M records and a throw-away datasets root."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]

_BASE = {
    "conversation": (
        "Ana: The kettle's boiling over and the tea towel next to it is starting to smoke. "
        "Ben: My hands are full of groceries, can you deal with it before the alarm goes off?"
    ),
    "action": "a person lunges to the stove, switches off the burner and swats the smouldering towel into the sink.",
    "skills": ["lunge forward", "turn a knob", "swat an object"],
    "source": {"corpus": "test-fixture", "source_id": "fixture/1", "license": "CC-BY-4.0"},
}


def make_record(rid: str, **overrides) -> dict:
    rec = copy.deepcopy(_BASE)
    rec["id"] = rid
    rec["conversation"] = f"[{rid}] " + rec["conversation"]
    rec.update(overrides)
    return rec


@pytest.fixture
def record_factory():
    return make_record


@pytest.fixture
def era_cot():
    return {
        "entities": [{"text": "kettle", "type": "object", "votes": 3}, {"text": "Ana", "type": "person", "votes": 2}],
        "explicit": [{"head": "tea towel", "relation": "next to", "tail": "kettle", "votes": 2}],
        "implicit": [{"head": "Ana", "relation": "must reach", "tail": "stove", "score": 0.8}],
        "threshold": 0.6,
    }


@pytest.fixture
def splits(record_factory, era_cot):
    """A small valid version: 4 train, 2 validation, 2 test records (one annotated)."""
    return {
        "train": [record_factory(f"t{i}") for i in range(4)],
        "validation": [record_factory(f"v{i}") for i in range(2)],
        "test": [record_factory("x0", era_cot=era_cot), record_factory("x1")],
    }


@pytest.fixture
def data_root(tmp_path, monkeypatch):
    """An empty datasets/ root that m2m_bench resolves before the shipped ones."""
    root = tmp_path / "datasets"
    root.mkdir()
    monkeypatch.setenv("M2M_BENCH_DATASETS", str(root))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    return root


@pytest.fixture(scope="session")
def smollm2_folder():
    """The transformers folder of the embedded SmolLM2 (converted from the GGUF once, cached)."""
    from m2m_bench.models.smollm2 import smollm2_dir

    return smollm2_dir()


@pytest.fixture(scope="session")
def smollm2_server(smollm2_folder):
    """One real ``transformers serve`` on the SmolLM2 folder, shared by every slow test."""
    from m2m_bench.serving import local_server

    with local_server(smollm2_folder) as url:
        yield url
