"""``m2m-bench construct`` end to end with the batch-file backend, and its errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from m2m_bench.cli import main as m2m_main
from m2m_bench.construct.cli import EXIT_PENDING, main
from m2m_bench.construct.config import ConstructConfig
from m2m_bench.errors import M2MError

from .conftest import ANSWERS, DIALOGUES, answer_requests, write_jsonl


def run_rounds(argv, tmp_path, capsys, max_rounds=12):
    """Call the CLI until it stops asking; answer each round's requests by hand."""
    outputs = []
    for n in range(max_rounds):
        ans = tmp_path / f"answers-{n - 1}.jsonl"
        rc = main([*argv, *(["--batch-import", str(ans)] if n else []), "--batch-export", str(tmp_path / f"req-{n}.jsonl")])
        outputs.append(capsys.readouterr())
        if rc != EXIT_PENDING:
            return rc, n, outputs
        answer_requests(tmp_path / f"req-{n}.jsonl", ANSWERS, tmp_path / f"answers-{n}.jsonl")
    raise AssertionError("still pending")


@pytest.fixture
def argv(tmp_path):
    src = write_jsonl(tmp_path / "dialogues.jsonl", DIALOGUES)
    return [
        "--input", f"jsonl:{src}", "--backend", "batch", "--model", "annotator", "--cache", str(tmp_path / "c.sqlite"),
        "--samples", "3", "--max-attempts", "2", "--threshold", "0.6", "--set", "discriminate.samples=2",
        "--resume", "--no-progress",
    ]  # fmt: skip


def test_cli_batch_rounds_write_the_same_version_as_the_api(argv, tmp_path, capsys, built):
    out = tmp_path / "datasets"
    rc, rounds, outputs = run_rounds([*argv, "--out", str(out), "--version", "1.0.0"], tmp_path, capsys)
    assert rc == 0 and rounds == built["rounds"]
    assert "wait for answers" in outputs[0].out and "--batch-import" in outputs[0].out
    assert "cache hits" in outputs[-1].err and "tokens in" in outputs[-1].err  # the summary table
    last = outputs[-1].out
    assert f"content hash {built['written'].content_hash}" in last  # same records as the API build
    assert (out / "m2m" / "versions" / "1.0.0" / "pipeline.yaml").is_file()

    # rebuild from the version folder alone
    rc = main(["--rebuild", str(out / "m2m/versions/1.0.0"), "--out", str(tmp_path / "rb"), "--version", "1.0.0", "--no-progress"])
    assert rc == 0 and "matches" in capsys.readouterr().out


def test_cli_review_export_then_import(argv, tmp_path, capsys):
    review = tmp_path / "review.jsonl"
    rc, _, _ = run_rounds([*argv, "--review-export", str(review)], tmp_path, capsys)
    assert rc == 0 and review.is_file()
    rows = [json.loads(x) for x in review.read_text().splitlines()]
    rows[0]["note"], rows[0]["action"] = "clearer", rows[0]["action"].replace("a person", "a person quickly")
    review.write_text("".join(json.dumps(r) + "\n" for r in rows))
    rc = main([*argv, "--out", str(tmp_path / "ds"), "--version", "0.1.0", "--review-import", str(review)])
    assert rc == 0
    diff = (tmp_path / "ds/m2m/versions/0.1.0/construct/review_diff.jsonl").read_text().splitlines()
    assert [json.loads(d)["field"] for d in diff] == ["action"]


def test_cli_errors_are_one_clear_line(tmp_path, capsys):
    src = write_jsonl(tmp_path / "d.jsonl", DIALOGUES[:1])
    base = ["construct", "--input", f"jsonl:{src}", "--out", str(tmp_path / "ds"), "--version", "0.1.0", "--cache", str(tmp_path / "c.sqlite"), "--no-progress"]
    cases = [
        ([], "--backend is required"),
        (["--backend", "batch"], "--backend batch needs --model"),
        (["--backend", "batch", "--model", "m", "--set", "entities.nope=1"], "--set entities.nope: unknown option"),
        (["--backend", "batch", "--model", "m", "--stages", "implicit"], "stage 'implicit' needs explicit before it"),
        (["--backend", "batch", "--model", "m", "--set", "summarize.samples=3"], "takes exactly 1 sample"),
        (["--backend", "batch", "--model", "m", "--threshold", "2"], "--threshold must lie in [0, 1]"),
        (["--backend", "openai", "--model", "m", "--base-url", "http://127.0.0.1:9/v1"], "cannot reach the OpenAI-compatible endpoint"),
    ]
    for extra, message in cases:
        assert m2m_main([*base, *extra]) == 2
        err = capsys.readouterr().err
        assert message in err, (extra, err)


def test_config_round_trips_through_its_dict():
    c = ConstructConfig(inputs=["jsonl:x"], samples=5, overrides={"implicit": {"max_candidates": 2}}, stages=["summarize", "entities"])
    assert c.stages == ["entities", "summarize"]  # pipeline order
    assert ConstructConfig.from_dict(c.as_dict()) == c
    assert c.params("implicit").options["max_candidates"] == 2 and c.params("implicit").samples == 5
    assert c.params("discriminate").samples == 1  # --samples is for the voting stages
    with pytest.raises(M2MError, match="unknown field"):
        ConstructConfig.from_dict({**c.as_dict(), "surprise": 1})


def test_module_entry_point_runs():
    r = subprocess.run([sys.executable, "-m", "m2m_bench.construct", "--help"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "--input KIND:PATH" in r.stdout and "humanml3d" in r.stdout
