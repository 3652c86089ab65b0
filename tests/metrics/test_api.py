"""The metrics API: registry, column names and versions, batching, aggregation, bad input."""

from __future__ import annotations

import pytest

from m2m_bench.errors import M2MError
from m2m_bench.metrics import (
    TASKS,
    JudgeConfig,
    aggregate,
    all_metrics,
    metric_versions,
    register_metric,
    score_task,
    score_tasks,
)
from m2m_bench.response import render_response


def test_tasks_and_every_metric_has_version_and_formula():
    assert TASKS == ("action", "skills", "format", "judge")
    metrics = all_metrics()
    expected = {
        "action.ss", "action.kmr", "action.ic", "action.cps",
        "skills.jaccard", "skills.precision", "skills.recall",
        "skills.jaccard_soft", "skills.precision_soft", "skills.recall_soft", "skills.r_skill",
        "format.valid", "format.tree_sim", "format.r_format",
        "judge.rationality", "judge.relevance", "judge.rationality_win", "judge.relevance_win",
        "judge.failures",
    }  # fmt: skip
    assert expected <= set(metrics)
    for m in metrics.values():
        assert m.version and m.task in TASKS
        assert "=" in m.doc, f"{m.name}: docstring must state the formula"


def test_register_metric_rejects_bad_definitions():
    with pytest.raises(ValueError, match="unknown task"):
        register_metric("x.y", task="x", version="1")
    with pytest.raises(ValueError, match="must start with its task"):
        register_metric("y", task="action", version="1")
    with pytest.raises(ValueError, match="docstring"):
        register_metric("action.nodoc", task="action", version="1")(lambda it, b: 0.0)
    with pytest.raises(ValueError, match="already registered"):

        @register_metric("action.ss", task="action", version="9")
        def impostor(it, batch):
            """x = 1"""


def test_metric_versions_match_score_task_columns(make_rec):
    recs = [make_rec()]
    outs = [render_response("kicks the door", ["kick the door"])]
    for task in ("action", "skills", "format"):
        rows = score_task(task, outs, recs)
        assert list(rows[0]) == list(metric_versions(task))


def test_non_default_encoder_gets_its_own_columns(make_rec, counting_encoder):
    other = counting_encoder
    other.name = "my-encoder"
    rows = score_task("action", [render_response("walk", ["walk"])], [make_rec("walk")], encoder=other)
    assert set(rows[0]) == {"action.ss[my-encoder]", "action.kmr", "action.ic[my-encoder]", "action.cps[my-encoder]"}
    assert set(metric_versions("action", encoder=other)) == set(rows[0])


def test_judge_columns_carry_model_and_rubric():
    cfg = JudgeConfig(model="gpt-4o", base_url="http://127.0.0.1:9/v1")
    assert metric_versions("judge", judge=cfg) == {
        "judge.rationality[gpt-4o|rubric-v1]": "1",
        "judge.relevance[gpt-4o|rubric-v1]": "1",
        "judge.failures[gpt-4o|rubric-v1]": "1",
    }
    pair = JudgeConfig(model="gpt-4o", pairwise=True)
    assert set(metric_versions("judge", judge=pair)) == {
        "judge.rationality_win[gpt-4o|rubric-v1|pairwise-vs-reference]",
        "judge.relevance_win[gpt-4o|rubric-v1|pairwise-vs-reference]",
        "judge.failures[gpt-4o|rubric-v1|pairwise-vs-reference]",
    }
    with pytest.raises(M2MError, match="JudgeConfig"):
        metric_versions("judge")


def test_one_encoder_call_per_batch_with_unique_texts(make_rec, counting_encoder):
    recs = [make_rec("a person kicks the door", ["kick the door", "run"], rid=f"r{i}") for i in range(6)]
    outs = [render_response("kicks the door", ["kick the door"])] * 3 + [None, "junk", ""]
    result = score_tasks(["action", "skills", "format"], outs, recs, encoder=counting_encoder)
    assert len(counting_encoder.calls) == 1
    texts = counting_encoder.calls[0]
    assert len(texts) == len(set(texts)) and all(t.strip() for t in texts)
    assert set(result) == {"action", "skills", "format"} and all(len(r) == 6 for r in result.values())
    # the same rows as scoring each task on its own
    for task in ("action", "skills"):
        assert score_task(task, outs, recs, encoder=counting_encoder) == result[task]
    assert len(counting_encoder.calls) == 3


def test_format_task_never_touches_the_encoder(make_rec, counting_encoder):
    score_task("format", [render_response("walk", ["walk"])], [make_rec()], encoder=counting_encoder)
    assert counting_encoder.calls == []


def test_untrusted_outputs_never_raise(make_rec):
    outs = [None, "", "<<<>>>", "&" * 1000, "<answer>" * 5000, "\x00\x01", "\uffff<answer>"]
    rows = score_tasks(["action", "skills", "format"], outs, [make_rec()] * len(outs))
    for task_rows in rows.values():
        for row in task_rows:
            for v in row.values():
                assert v is None or isinstance(v, float)


def test_bad_input_is_one_clear_error(make_rec):
    good = [render_response("walk", ["walk"])]
    with pytest.raises(M2MError, match="unknown task 'actions'"):
        score_task("actions", good, [make_rec()])
    with pytest.raises(M2MError, match=r"preds\.jsonl: 1 outputs for 2 records"):
        score_task("action", good, [make_rec(), make_rec()], records_file="preds.jsonl")
    bad = make_rec(rid="x7")
    del bad["action"]
    with pytest.raises(M2MError, match=r"test\.parquet: record 'x7': field 'action'"):
        score_task("action", good, [bad], records_file="test.parquet")
    with pytest.raises(M2MError, match=r"record 'r0': field 'skills'"):
        score_task("skills", good, [make_rec(skills=[])])
    with pytest.raises(M2MError, match=r"record #0: must be an object"):
        score_task("format", good, ["not a record"])
    with pytest.raises(M2MError, match="JudgeConfig"):
        score_task("judge", good, [make_rec()])


def test_aggregate_means_sums_and_missing():
    rows = [
        {"action.kmr": 0.5, "judge.failures[m|rubric-v1]": 1.0, "judge.relevance[m|rubric-v1]": None},
        {"action.kmr": None, "judge.failures[m|rubric-v1]": 1.0, "judge.relevance[m|rubric-v1]": None},
        {"action.kmr": 1.0, "judge.failures[m|rubric-v1]": 0.0, "judge.relevance[m|rubric-v1]": None},
    ]
    assert aggregate("judge", rows) == {
        "action.kmr": 0.75,
        "judge.failures[m|rubric-v1]": 2.0,
        "judge.relevance[m|rubric-v1]": None,
    }
    assert aggregate("action", []) == {}
    with pytest.raises(M2MError):
        aggregate("nope", rows)


def test_seed_dataset_scores_itself_perfectly():
    from m2m_bench import load_dataset

    records = [dict(r) for r in load_dataset("m2m", split="test")]
    outs = [render_response(r["action"], r["skills"], think="reference") for r in records]
    result = score_tasks(["action", "skills", "format"], outs, records)
    for task, rows in result.items():
        table = aggregate(task, rows)
        assert table and all(v == pytest.approx(1.0) for v in table.values()), (task, table)
