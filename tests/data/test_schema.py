"""The M2M record v1 validator: every kind of bad record, all violations reported."""

from __future__ import annotations

import pyarrow as pa
import pytest

from m2m_bench.schema import (
    M2M_SCHEMA,
    check_table_schema,
    normalize_skill,
    normalize_skills,
    to_table,
    validate_record,
    validate_records,
)


def fields(violations):
    return sorted(v.field for v in violations)


def test_valid_record_has_no_violations(record_factory, era_cot):
    assert validate_record(record_factory("a")) == []
    assert validate_record(record_factory("b", era_cot=era_cot)) == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Kick  the Door. ", "kick the door"),
        ("SCAN\tthe   waves", "scan the waves"),
        ("crouch", "crouch"),
        ("Über den Zaun springen!", "über den zaun springen"),
        ("   ", ""),
    ],
)
def test_normalize_skill(raw, expected):
    assert normalize_skill(raw) == expected


def test_normalize_skills_drops_empty_and_duplicates_keeping_order():
    assert normalize_skills(["Run", "jump ", "run", "", "Jump"]) == ["run", "jump"]


@pytest.mark.parametrize("missing", ["id", "conversation", "action", "skills", "source"])
def test_missing_field(record_factory, missing):
    rec = record_factory("a")
    del rec[missing]
    v = validate_record(rec, file="f.jsonl")
    assert fields(v) == [missing]
    assert "missing" in v[0].message and v[0].file == "f.jsonl"


@pytest.mark.parametrize(
    ("field", "value", "bad_field"),
    [
        ("conversation", "", "conversation"),
        ("conversation", 42, "conversation"),
        ("action", ["a person runs."], "action"),
        ("action", "a person runs. Then they stop.", "action"),
        ("action", "a person runs\nand stops.", "action"),
        ("skills", "run", "skills"),
        ("skills", [], "skills"),
        ("skills", ["Run"], "skills[0]"),
        ("skills", ["run", "run"], "skills[1]"),
        ("skills", ["run", 3], "skills[1]"),
        ("skills", ["one two three four five six seven eight nine"], "skills[0]"),
        ("source", "kitml", "source"),
        ("id", 7, "id"),
    ],
)
def test_wrong_values(record_factory, field, value, bad_field):
    rec = record_factory("a")
    rec[field] = value
    assert bad_field in fields(validate_record(rec))


def test_source_subfields(record_factory):
    rec = record_factory("a", source={"corpus": "kitml", "source_id": ""})
    assert fields(validate_record(rec)) == ["source.license", "source.source_id"]


def test_unknown_field(record_factory):
    rec = record_factory("a", split="train")
    v = validate_record(rec)
    assert fields(v) == ["split"] and "not a field" in v[0].message


def test_every_violation_is_reported_not_just_the_first(record_factory):
    rec = record_factory("a", conversation="", action="", skills=["Run", "Run"], source={})
    got = fields(validate_record(rec))
    assert {"conversation", "action", "skills[0]", "skills[1]", "source.corpus", "source.license"} <= set(got)


def test_era_cot_violations(record_factory, era_cot):
    era_cot["implicit"].append({"head": "Ben", "relation": "holds", "tail": "groceries", "score": 0.3})
    era_cot["entities"][0]["votes"] = -1
    era_cot["explicit"][0]["relation"] = ""
    rec = record_factory("a", era_cot=era_cot)
    got = fields(validate_record(rec))
    assert got == ["era_cot.entities[0].votes", "era_cot.explicit[0].relation", "era_cot.implicit[1].score"]
    era_cot2 = {"entities": [], "explicit": [], "implicit": [], "threshold": 1.5}
    assert fields(validate_record(record_factory("b", era_cot=era_cot2))) == ["era_cot.threshold"]
    assert fields(validate_record(record_factory("c", era_cot={"entities": []}))) == [
        "era_cot.explicit",
        "era_cot.implicit",
        "era_cot.threshold",
    ]


def test_duplicate_ids_within_and_across_files(record_factory):
    seen: dict[str, str] = {}
    v1 = validate_records([record_factory("a"), record_factory("a")], file="train.parquet", seen_ids=seen)
    assert [(v.record_id, v.field) for v in v1] == [("a", "id")] and "this file" in v1[0].message
    v2 = validate_records([record_factory("a")], file="test.parquet", seen_ids=seen)
    assert v2[0].file == "test.parquet" and "train.parquet" in v2[0].message


def test_violation_names_file_record_and_field(record_factory):
    rec = record_factory("rec-9", skills=[])
    (v,) = validate_records([rec], file="data/test.parquet")
    assert str(v) == "data/test.parquet: record 'rec-9': field 'skills': must not be empty"


def test_record_without_id_is_labelled_by_position(record_factory):
    rec = record_factory("x")
    del rec["id"]
    (v,) = validate_records([record_factory("y"), rec], file="f")
    assert v.record_id == "#1"


def test_arrow_round_trip_and_table_schema_check(record_factory, era_cot):
    records = [record_factory("a"), record_factory("b", era_cot=era_cot)]
    table = to_table(records)
    assert table.schema.equals(M2M_SCHEMA, check_metadata=False)
    assert table.to_pylist()[1]["era_cot"]["implicit"][0]["score"] == 0.8
    assert table.to_pylist()[0]["era_cot"] is None
    assert check_table_schema(table, "t") == []
    bad = table.drop_columns(["skills"]).append_column("extra", pa.array([1, 2]))
    assert sorted(v.field for v in check_table_schema(bad, "t")) == ["extra", "skills"]
