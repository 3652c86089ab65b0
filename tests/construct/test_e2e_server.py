"""End to end against a real local OpenAI-compatible server (``transformers serve`` with
SmolLM2-135M-Instruct), and a run killed with SIGKILL mid-stage that resumes to the same
records without repeating a finished call.

SmolLM2-135M is weak: stages may record failures. These tests check the wiring and that
valid records come out, with tiny answers (one sample, one attempt, 32 tokens) so a run is a
few dozen seconds of CPU.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from m2m_bench.construct.cli import main
from m2m_bench.data import read_manifest, verify_folder
from m2m_bench.errors import M2MError
from m2m_bench.schema import validate_records

from .conftest import DIALOGUES, write_jsonl

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
LLAVA = REPO.parent / "shared" / "data" / "llava_samples" / "coco2014_val_gpt4_qa_30x3.jsonl"


@pytest.fixture(scope="module")
def server():
    from m2m_bench.models.smollm2 import smollm2_dir
    from m2m_bench.serving import local_server

    try:
        model_dir = smollm2_dir()
    except M2MError as e:
        pytest.skip(f"SmolLM2 is not available here: {e}")
    with local_server(model_dir) as url:
        yield url


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e-inputs")
    # d1 (raw dialogue: the model must summarize) and d3 (keeps its own action and skills)
    src = write_jsonl(tmp / "dialogues.jsonl", [DIALOGUES[0], DIALOGUES[2]])
    specs = [f"jsonl:{src}"]
    if LLAVA.is_file():
        specs.append(f"llava:{LLAVA}")  # one LLaVA record through the real adapter (--limit 3)
    return specs


def argv(server, inputs, cache: Path, out: Path) -> list[str]:
    args = [a for spec in inputs for a in ("--input", spec)]
    return [
        *args, "--limit", "3", "--backend", "openai", "--model", server.model, "--base-url", str(server),
        "--concurrency", "1", "--samples", "1", "--temperature", "0", "--max-attempts", "1", "--max-tokens", "32",
        "--cache", str(cache), "--out", str(out), "--version", "0.1.0", "--no-progress",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def uninterrupted(server, inputs, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    t0 = time.monotonic()
    rc = main(argv(server, inputs, tmp / "calls.sqlite", tmp / "datasets"))
    return {"rc": rc, "folder": tmp / "datasets/m2m/versions/0.1.0", "cache": tmp / "calls.sqlite", "seconds": time.monotonic() - t0}


def done_keys(cache: Path) -> list[tuple[str, str]]:
    """``[(key, run)]`` of every finished backend call, in order (none before the cache exists)."""
    if not cache.is_file():
        return []
    try:
        with sqlite3.connect(f"file:{cache}?mode=ro", uri=True, timeout=30) as db:
            return list(db.execute("SELECT key, run FROM call_log WHERE event='done' ORDER BY id"))
    except sqlite3.OperationalError:  # the run has not created its tables yet
        return []


def test_end_to_end_real_server_writes_a_valid_version(uninterrupted):
    assert uninterrupted["rc"] == 0
    folder = uninterrupted["folder"]
    manifest = verify_folder(folder, check_content=True)
    import m2m_bench

    ds = m2m_bench.load_dataset(str(folder))
    rows = [r for split in ds.values() for r in split]
    assert len(rows) == manifest["num_records"] >= 1
    assert not validate_records(rows)
    assert any(r["id"] == "d3" for r in rows)  # it keeps its action even if every stage failed
    doc = yaml.safe_load((folder / "pipeline.yaml").read_text())
    assert doc["backend"]["kind"] == "openai" and doc["calls"]["calls"] >= 3
    assert doc["calls"]["prompt_tokens"] > 0 and doc["calls"]["completion_tokens"] > 0
    expected = {"d1", "d3"} | ({"llava-000000525439-conv"} if LLAVA.is_file() else set())
    assert doc["counts"]["input"] == len(expected)
    drops = [json.loads(x) for x in (folder / "construct/drops.jsonl").read_text().splitlines()]
    dropped = {d["id"] for d in drops if d["outcome"] == "dropped"}
    assert dropped | {r["id"] for r in rows} == expected and not dropped & {r["id"] for r in rows}
    for d in drops:
        assert d["stage"] and d["kind"]  # every record left out says where and why


def test_kill_9_mid_stage_then_resume_same_output_no_repeated_call(server, inputs, uninterrupted, tmp_path):
    cache, out = tmp_path / "calls.sqlite", tmp_path / "datasets"
    cmd = [sys.executable, "-m", "m2m_bench.construct", *argv(server, inputs, cache, out)]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if len(done_keys(cache)) >= 1:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
    first = done_keys(cache)
    with sqlite3.connect(cache) as db:
        finished_stages = db.execute("SELECT COUNT(*) FROM stage_outputs").fetchone()[0]
    assert 1 <= len(first) < 3 and finished_stages == 0  # killed inside the first stage (3 records)
    assert not (out / "m2m/versions/0.1.0").exists()

    assert main([*argv(server, inputs, cache, out), "--resume"]) == 0
    log = done_keys(cache)
    runs = Counter(run for _, run in log)
    assert len(runs) == 2
    assert max(Counter(k for k, _ in log).values()) == 1  # no finished call was made twice
    assert {k for k, _ in first}.isdisjoint({k for k, r in log if r != first[0][1]})
    # same records as the run that was never interrupted, with the same number of calls
    assert read_manifest(out / "m2m/versions/0.1.0")["content_hash"] == read_manifest(uninterrupted["folder"])["content_hash"]
    assert len(log) == len(done_keys(uninterrupted["cache"]))


def test_hf_backend_local_model(inputs, tmp_path):
    """The local transformers backend on one record, entities only."""
    rc = main([
        "--input", inputs[0], "--limit", "1", "--stages", "entities", "--backend", "hf", "--model", "smollm2",
        "--samples", "1", "--temperature", "0", "--max-attempts", "1", "--max-tokens", "32",
        "--cache", str(tmp_path / "c.sqlite"), "--review-export", str(tmp_path / "r.jsonl"), "--no-progress",
    ])  # fmt: skip
    assert rc == 0  # d1 has no action: it is dropped, so the review file may be empty
    with sqlite3.connect(tmp_path / "c.sqlite") as db:
        (backend, model, pt, ct), = db.execute("SELECT backend, model, prompt_tokens, completion_tokens FROM calls")
    assert backend == "hf" and model.startswith("SmolLM2-135M-Instruct@") and pt > 50 and ct > 0
