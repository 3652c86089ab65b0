import json

import pytest

from m2m_bench._report import build_tables, markdown_tables, task_columns
from m2m_bench._results import (
    SCHEMA,
    SCHEMA_VERSION,
    config_hash,
    environment,
    load_results,
    write_results,
)
from m2m_bench.errors import M2MError


def test_config_hash_is_order_free_and_content_sensitive():
    a = {"x": 1, "y": [1, 2], "z": {"b": 2, "a": 1}}
    b = {"z": {"a": 1, "b": 2}, "y": [1, 2], "x": 1}
    assert config_hash(a) == config_hash(b)
    assert config_hash(a) != config_hash({**a, "x": 2})
    assert config_hash(a) != config_hash({**a, "y": [2, 1]})


def test_environment_lists_versions():
    env = environment()
    assert env["packages"]["m2m-bench"] and env["packages"]["torch"]
    assert set(env["git"]) == {"commit", "dirty"}


def test_write_and_load_roundtrip_and_schema_checks(tmp_path):
    obj = {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, "summary": {}, "v": 0.5}
    p = write_results(tmp_path / "sub" / "r.json", obj)
    assert load_results(p) == obj
    p.write_text(json.dumps({**obj, "schema_version": "99"}))
    with pytest.raises(M2MError, match="schema_version"):
        load_results(p)
    p.write_text(json.dumps({"schema": "other"}))
    with pytest.raises(M2MError, match="not an m2m-bench results file"):
        load_results(p)
    p.write_text("{")
    with pytest.raises(M2MError, match="not a JSON results file"):
        load_results(p)


def fake_results(name, summary):
    return {"config": {"model": {"name": name}, "dataset": {"name": "m2m", "version": "0.1.0", "split": "test", "n": 2}},
            "summary": summary}


def test_tables_order_columns_like_the_paper_and_keep_judges_apart():
    cols = task_columns("action", [{"action.cps": 1, "action.ss": 2, "action.ic": 3, "action.kmr": 4}])
    assert [h for _, h, _ in cols] == ["SS", "KMR", "IC", "CPS"]
    judge = {"judge.rationality[a|rubric-v1]": 3.0, "judge.failures[a|rubric-v1]": 1.0}
    tables = build_tables([fake_results("m1", {"judge": judge})])
    assert len(tables) == 1 and "a|rubric-v1" in str(tables[0].title)
    md = markdown_tables([fake_results("m1", {"skills": {"skills.jaccard": 0.25, "skills.recall": None}})])
    assert "| m1 | 0.2500 | - |" in md and "Jaccard | Recall" in md
