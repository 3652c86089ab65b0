"""A smoke run of the CPU recipe, evaluated by the harness and packaged as a valid submission."""

from __future__ import annotations

import json

import pytest

from train.grpo import main as grpo_main
from train.submission import main as submission_main


@pytest.mark.slow
def test_smoke_run_packages_into_a_valid_submission(tmp_path, monkeypatch):
    monkeypatch.setenv("M2M_BENCH_CACHE", str(tmp_path / "cache"))  # generation cache off the user's
    run = tmp_path / "run"
    assert grpo_main(["--recipe", "cpu-smollm2", "--smoke", "--divergence", "js", "--output-dir", str(run)]) == 0
    out = tmp_path / "submission"
    assert submission_main([str(run), "--out", str(out)]) == 0

    meta = json.loads((out / "metadata.json").read_text())
    assert meta["method"] == "SFT+GRPO" and meta["divergence"] == "js" and meta["trained_on_m2m_train"] is True
    assert meta["dataset"]["split"] == "test" and len(meta["dataset"]["content_hash"]) == 64
    preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    results = json.loads((out / "results.json").read_text())
    assert [p["id"] for p in preds] == [s["id"] for s in results["samples"]]
    assert {"recipe.yaml", "run.json", "log.jsonl", "sft-log.jsonl", "sft-results.json"} <= {
        p.name for p in (out / "train").iterdir()
    }
    # small files only: no weights travel with a submission
    assert not list(out.rglob("*.safetensors")) and not list(out.rglob("*.bin"))
    assert submission_main([str(tmp_path / "nothing"), "--out", str(out)]) == 2
