"""End to end with a real language model: ``hf:`` on the SmolLM2 folder and ``openai:``
against a real ``transformers serve`` of the same folder, both with the LLM judge on (the
judge is the same local server). Small: 2 records, a few tokens."""

import json

import pytest

from m2m_bench.evaluate import main
from m2m_bench.response import render_response

pytestmark = pytest.mark.slow

TASKS = "action,skills,format,judge"


def judge_args(server):
    return ["--judge-model", server.model, "--judge-base-url", server, "--judge-max-tokens", "24",
            "--judge-max-retries", "0", "--judge-concurrency", "2"]


def check_judge(res, server, n):
    judge = res["summary"]["judge"]
    ident = f"[{server.model}|rubric-v1]"
    assert set(judge) == {f"judge.{m}{ident}" for m in ("rationality", "relevance", "failures")}
    failures = judge[f"judge.failures{ident}"]
    assert failures == int(failures) and 0 <= failures <= n
    for s in res["samples"]:
        # every item is either scored or counted as a failure, never dropped
        scored = s["scores"][f"judge.rationality{ident}"] is not None
        failed = s["scores"][f"judge.failures{ident}"] == 1.0
        assert scored != failed
    assert res["config"]["judge"]["identity"] == f"{server.model}|rubric-v1"


def test_hf_end_to_end_with_judge_and_resume(smollm2_folder, smollm2_server, run_args, read_results):
    common = [*run_args(), "--model", f"hf:{smollm2_folder}", "--max-new-tokens", "8", "--batch-size", "2",
              "--device", "cpu", "--threads", "1", "--tasks", TASKS, *judge_args(smollm2_server)]
    assert main([*common, "--limit", "1"]) == 0
    first = read_results()
    assert first["timings"]["generated"] == 1 and first["timings"]["cached"] == 0
    assert first["config"]["model"]["revision"].startswith("sha256:")
    assert first["config"]["generation"]["max_new_tokens"] == 8
    check_judge(first, smollm2_server, 1)

    # a larger run re-uses the cached generation and generates only the new record
    assert main([*common, "--limit", "2"]) == 0
    second = read_results()
    assert second["timings"]["generated"] == 1 and second["timings"]["cached"] == 1
    assert [s["cached"] for s in second["samples"]] == [True, False]
    assert second["samples"][0]["prediction"] == first["samples"][0]["prediction"]
    check_judge(second, smollm2_server, 2)
    assert second["config_hash"] != first["config_hash"]

    # re-scoring with other tasks needs no generation at all
    rescore = [a if a != TASKS else "format" for a in common]
    assert main([*rescore, "--limit", "2"]) == 0
    third = read_results()
    assert third["timings"]["generated"] == 0 and third["timings"]["cached"] == 2
    assert [s["prediction"] for s in third["samples"]] == [s["prediction"] for s in second["samples"]]
    assert set(third["summary"]) == {"format"}


def test_openai_end_to_end_with_judge(smollm2_folder, smollm2_server, run_args, read_results):
    argv = [*run_args(), "--model", f"openai:{smollm2_server.model}", "--base-url", smollm2_server,
            "--max-new-tokens", "8", "--limit", "2", "--concurrency", "2", "--tasks", TASKS,
            *judge_args(smollm2_server)]
    assert main(argv) == 0
    res = read_results()
    assert res["config"]["model"]["kind"] == "openai"
    assert res["config"]["model"]["revision"] == f"endpoint:{smollm2_server}"
    assert res["timings"]["generated"] == 2
    assert all(isinstance(s["prediction"], str) and s["prediction"] for s in res["samples"])
    check_judge(res, smollm2_server, 2)
    # the same weights, greedy, through the server: the same text as in-process generation
    assert main([*run_args(), "--model", f"hf:{smollm2_folder}", "--max-new-tokens", "8", "--limit", "2",
                 "--device", "cpu", "--threads", "1", "--tasks", "format"]) == 0
    hf = read_results()
    assert [s["prediction"] for s in hf["samples"]] == [s["prediction"] for s in res["samples"]]


def test_smollm2_default_prefix_end_to_end(run_args, read_results):
    """The main command's model with its default response prefix: outputs start with the prefix,
    the parser finds an action in every one, and runs with other prefixes never share outputs."""
    from m2m_bench.prompts import PROMPT_VERSION, RESPONSE_PREFIXES

    p = RESPONSE_PREFIXES["answer"]
    common = [*run_args(), "--model", "smollm2", "--limit", "2", "--max-new-tokens", "24", "--batch-size", "2",
              "--device", "cpu", "--threads", "1"]
    assert main([*common, "--tasks", "action,skills,format"]) == 0
    res = read_results()
    assert res["config"]["generation"]["response_prefix"] == p.identity()
    assert res["config"]["prompt_version"] == f"{PROMPT_VERSION}+prefix-answer-{p.version}"
    assert res["timings"]["generated"] == 2 and len(res["samples"]) == 2
    for s in res["samples"]:
        assert s["prediction"].startswith(p.text)
        assert s["parsed"]["action"].strip(), s["prediction"]
        if p.stop in s["prediction"]:
            assert s["prediction"].endswith(p.stop)  # generation ended there, the tag kept
    assert res["summary"]["format"]["format.tree_sim"] > 0

    # no prefix: other cache keys, so both are generated again, and the results say so
    assert main([*common, "--tasks", "format", "--response-prefix", "none"]) == 0
    plain = read_results()
    assert plain["timings"]["generated"] == 2 and plain["timings"]["cached"] == 0
    assert plain["config"]["generation"]["response_prefix"] is None
    assert plain["config"]["prompt_version"] == PROMPT_VERSION
    assert plain["config_hash"] != res["config_hash"]

    # the prefix again: both from the cache, the same texts
    assert main([*common, "--tasks", "format", "--response-prefix", "answer"]) == 0
    again = read_results()
    assert again["timings"]["cached"] == 2 and again["timings"]["generated"] == 0
    assert [s["prediction"] for s in again["samples"]] == [s["prediction"] for s in res["samples"]]


def test_predictions_with_judge_calls_the_judge(smollm2_server, run_args, read_results, tmp_path, seed_records):
    records, _ = seed_records
    p = tmp_path / "p.jsonl"
    p.write_text("".join(json.dumps({"id": r["id"], "output": render_response(r["action"], r["skills"])}) + "\n"
                         for r in records), encoding="utf-8")
    assert main([*run_args(), "--model", f"predictions:{p}", "--limit", "1", "--tasks", "judge",
                 *judge_args(smollm2_server)]) == 0
    res = read_results()
    check_judge(res, smollm2_server, 1)
