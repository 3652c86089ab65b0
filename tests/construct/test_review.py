"""The review round trip: export, edit as a person would, import; the diff is recorded."""

from __future__ import annotations

import csv
import json

import pytest
import yaml

from m2m_bench.construct.output import assemble, finalize, rebuild
from m2m_bench.construct.review import export_review
from m2m_bench.errors import M2MError

from .test_pipeline import records


def jsonl_rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_jsonl_round_trip_records_the_diff_and_rebuilds(built, tmp_path):
    b = built["build"]
    splits, _ = assemble(b)
    path = tmp_path / "review.jsonl"
    assert export_review(splits, path) == 2
    rows = {r["id"]: r for r in jsonl_rows(path)}
    assert rows["d1"]["entities"][0] == {"text": "Ana", "type": "person", "votes": 2}
    assert rows["d3"]["entities"] is None and rows["d1"]["threshold"] == 0.6
    # the reviewer fixes d1's action and skills, drops a relation, and leaves d3 alone
    rows["d1"]["action"] = "a person snatches the smoking towel off the stove."
    rows["d1"]["skills"] = ["Snatch a towel", "step back"]
    rows["d1"]["implicit"] = []
    rows["d1"]["note"] = "the towel is the hazard"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows.values()))

    w = finalize(b, root=tmp_path / "datasets", version="0.2.0", review_file=path)
    d1 = records(w.folder)["d1"][1]
    assert d1["action"] == "a person snatches the smoking towel off the stove."
    assert d1["skills"] == ["snatch a towel", "step back"]  # normalized on import
    assert d1["era_cot"]["implicit"] == [] and d1["era_cot"]["threshold"] == 0.6
    diff = jsonl_rows(w.folder / "construct/review_diff.jsonl")
    assert [(d["id"], d["field"]) for d in diff] == [("d1", "action"), ("d1", "skills"), ("d1", "era_cot")]
    assert diff[1]["before"] == ["grab the towel", "step back"] and diff[1]["after"] == ["snatch a towel", "step back"]
    assert all(d["note"] == "the towel is the hazard" for d in diff)
    doc = yaml.safe_load((w.folder / "pipeline.yaml").read_text())
    assert doc["review"] == {"rows": 2, "changed_records": 1, "changed_fields": {"action": 1, "era_cot": 1, "skills": 1}, "dropped": 0, "file": "review.jsonl"}
    # the reviewed version rebuilds from its own folder (the review travels with it)
    assert rebuild(w.folder, root=tmp_path / "rebuilt", version="0.2.0").matches


def test_csv_round_trip_with_a_drop(built, tmp_path):
    splits, _ = assemble(built["build"])
    path = tmp_path / "review.csv"
    export_review(splits, path)
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert {r["id"]: r["skills"] for r in rows} == {"d1": "grab the towel | step back", "d3": "kneel | sweep with a broom"}
    for r in rows:
        if r["id"] == "d3":
            r["drop"] = "true"
            r["note"] = "duplicate scene"
        if r["id"] == "d1":
            r["skills"] = "grab the towel | step back | turn off the stove"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    written = finalize(built["build"], root=tmp_path / "datasets", version="0.2.0", review_file=path)
    recs = records(written.folder)
    assert sorted(recs) == ["d1"]
    assert recs["d1"][1]["skills"] == ["grab the towel", "step back", "turn off the stove"]
    diff = jsonl_rows(written.folder / "construct/review_diff.jsonl")
    assert sorted((d["id"], d["field"], json.dumps(d["after"])) for d in diff) == [
        ("d1", "skills", '["grab the towel", "step back", "turn off the stove"]'),  # only the edit, not the CSV round trip
        ("d3", "record", '"dropped"'),
    ]
    drops = jsonl_rows(written.folder / "construct/drops.jsonl")
    assert {"id": "d3", "outcome": "dropped", "stage": "review", "kind": "reviewer", "message": "duplicate scene"} in drops


def test_bad_review_rows_are_errors_naming_file_line_field(built, tmp_path):
    splits, _ = assemble(built["build"])
    path = tmp_path / "review.jsonl"
    export_review(splits, path)
    good = jsonl_rows(path)

    def attempt(rows, match):
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        with pytest.raises(M2MError, match=match):
            finalize(built["build"], root=tmp_path / "datasets", version="0.3.0", review_file=path)

    attempt([dict(good[0], id="nope")], r"review.jsonl: line 1: field 'id': 'nope' is not a record of this build")
    attempt([dict(good[0], base="0" * 16)], r"review.jsonl: line 1: field 'base': record .* changed since")
    two = "a person grabs it. Then the person runs."
    attempt([good[0], dict(good[1], action=two)], r"review.jsonl: line 2: record .*: field 'action': must be one sentence")
    attempt([good[0], good[0]], r"line 2: field 'id': record .* is reviewed twice")
    assert not (tmp_path / "datasets" / "m2m" / "versions" / "0.3.0").exists()
