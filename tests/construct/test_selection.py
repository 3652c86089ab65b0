"""Pinned splits, the ERA-CoT subset (--annotate), blind summaries of authored records and
the skill agreement the card reports."""

from __future__ import annotations

import json

import pytest

from m2m_bench.construct.cli import main
from m2m_bench.construct.output import finalize, rebuild
from m2m_bench.construct.selection import read_ids, read_pins
from m2m_bench.data.agreement import compare, read_annotations, skill_agreement
from m2m_bench.errors import M2MError

from .conftest import build_with_annotator, make_config, write_jsonl

KIT = "a person kneels and sweeps the ball out from under the car with a broom."
RECORDS = [
    {"id": "r1", "conversation": "Mia: The ball rolled under the car.\nLeo: Can you reach it with the broom?", "license": "CC0-1.0",
     "action": KIT, "skills": ["kneel", "sweep with a broom"]},
    {"id": "r2", "conversation": "Sam: Hold the ladder while I climb to the roof.", "license": "CC0-1.0",
     "action": "a person grips the ladder with both hands and braces it with one foot.", "skills": ["grip a ladder", "brace with a foot"]},
    {"id": "r3", "conversation": "Kim: The window is stuck and it's getting hot in here.", "license": "CC0-1.0",
     "action": "a person pushes the stuck window up with the heels of both hands.", "skills": ["push a window", "lift overhead"]},
]  # fmt: skip

ANSWERS = {
    ("r1", "entities"): '{"entities": [{"text": "Mia", "type": "person"}, {"text": "Leo", "type": "person"}, {"text": "ball", "type": "object"}, {"text": "car", "type": "vehicle"}, {"text": "broom", "type": "object"}]}',
    ("r1", "explicit"): '{"relations": [{"head": "ball", "relation": "under", "tail": "car"}]}',
    ("r1", "implicit"): '{"relations": [{"head": "Leo", "relation": "reaches with", "tail": "broom", "likelihood": 0.9}]}',
    ("r1", "discriminate"): '{"scores": [{"id": 1, "score": 0.8}]}',
    ("r1", "summarize"): '{"action": "a person lies flat and hooks the ball out with the broom handle.", "skills": ["Lie Flat", "kneel", "hook with a broom"]}',
    ("r2", "entities"): '{"entities": [{"text": "Sam", "type": "person"}, {"text": "ladder", "type": "object"}, {"text": "roof", "type": "place"}]}',
    ("r2", "explicit"): '{"relations": [{"head": "Sam", "relation": "climbs to", "tail": "roof"}]}',
    ("r2", "implicit"): '{"relations": []}',
    ("r2", "discriminate"): '{"scores": []}',
    ("r2", "summarize"): "no idea",  # never usable: r2 keeps its authored pair and has no summary
}  # fmt: skip


@pytest.fixture
def src(tmp_path):
    return write_jsonl(tmp_path / "records.jsonl", RECORDS)


def test_annotate_subset_and_blind_summaries(tmp_path, cache, src):
    ids = tmp_path / "ids.txt"
    ids.write_text("# the test records\nr1\nr2  # second\n\n")
    config = make_config(src, samples=1, overrides={"summarize": {"authored": "compare"}}, annotate=str(ids))
    b, rounds = build_with_annotator(config, cache, ANSWERS, tmp_path)
    assert rounds >= 5
    asked = {k[0] for k in ANSWERS}
    assert {it.id for it in b.items if it.results} <= asked  # r3 was never asked anything
    w = finalize(b, root=tmp_path / "ds", version="1.0.0")
    recs = {r["id"]: r for s in ("train", "validation", "test") for r in _records(w.folder, s)}
    # every record keeps its authored action and skills
    assert recs["r1"]["action"] == KIT and recs["r1"]["skills"] == ["kneel", "sweep with a broom"]
    annotated = {r["id"]: r for s in ("train", "validation", "test") for r in _records(w.folder, s, "era_cot")}
    assert set(annotated) == {"r1", "r2"}  # the era_cot config holds the annotated records only
    assert [e["text"] for e in annotated["r1"]["era_cot"]["entities"]] == ["Mia", "Leo", "ball", "car", "broom"]
    summaries = [json.loads(x) for x in (w.folder / "construct" / "summaries.jsonl").read_text().splitlines()]
    assert [(d["id"], d["skills"]) for d in summaries] == [("r1", ["lie flat", "kneel", "hook with a broom"])]
    report = json.loads((w.folder / "quality" / "report.json").read_text())
    (name, res), = report["agreement"].items()
    assert "ERA-CoT" in name and res["records"] == 1
    # {kneel, sweep with a broom} vs {lie flat, kneel, hook with a broom}: 1 shared of 4
    assert res["jaccard_exact"]["mean"] == pytest.approx(0.25)
    assert res["jaccard_soft"]["mean"] >= 0.25
    assert "Skill annotation agreement" in (w.folder / "README.md").read_text()


def _records(folder, split, config="data"):
    import pyarrow.parquet as pq

    files = sorted((folder / config).glob(f"{split}-*.parquet"))
    return [r for f in files for r in pq.read_table(f).to_pylist()]


def test_annotate_file_with_unknown_id_is_an_error(tmp_path, cache, src):
    ids = tmp_path / "ids.txt"
    ids.write_text("r1\nnope\n")
    with pytest.raises(M2MError, match="nope"):
        build_with_annotator(make_config(src, annotate=str(ids)), cache, ANSWERS, tmp_path)
    ids.write_text("r1\nr1\n")
    with pytest.raises(M2MError, match="line 2.*listed twice"):
        read_ids(ids)


def test_pins_fix_splits_and_splits_out_freezes_them(tmp_path, src):
    pins = tmp_path / "splits.json"
    pins.write_text(json.dumps({"r2": "test"}))
    out = tmp_path / "frozen.json"
    args = ["--input", f"jsonl:{src}", "--pin-splits", str(pins), "--splits-out", str(out), "--stages", "none"]
    assert main(args) == 0
    frozen = json.loads(out.read_text())
    assert set(frozen) == {"r1", "r2", "r3"} and frozen["r2"] == "test"
    # freezing again with its own output changes nothing
    assert main(["--input", f"jsonl:{src}", "--pin-splits", str(out), "--splits-out", str(out), "--stages", "none"]) == 0
    assert json.loads(out.read_text()) == frozen
    pins.write_text(json.dumps({"r2": "dev"}))
    with pytest.raises(M2MError, match="r2.*split must be one of"):
        read_pins(pins)
    pins.write_text("[1, 2]")
    with pytest.raises(M2MError, match="expected a JSON object"):
        read_pins(pins)


def test_pins_from_a_version_folder_and_rebuild_checks_the_files(tmp_path, cache, src):
    pins = tmp_path / "splits.json"
    pins.write_text(json.dumps({"r1": "validation", "r2": "test", "r3": "train"}))
    config = make_config(src, stages=[], pin_splits=str(pins))
    b, _ = build_with_annotator(config, cache, {}, tmp_path)
    w = finalize(b, root=tmp_path / "ds", version="1.0.0")
    assert read_pins(w.folder) == {"r1": "validation", "r2": "test", "r3": "train"}
    r = rebuild(w.folder, root=tmp_path / "re", version="1.0.0")
    assert r.matches
    pins.write_text(json.dumps({"r1": "train", "r2": "test", "r3": "train"}))
    with pytest.raises(M2MError, match="pin-splits .* differs"):
        rebuild(w.folder, root=tmp_path / "re2", version="1.0.0")


def test_skill_agreement_formulas():
    res = skill_agreement([(["kneel", "sweep"], ["kneel", "lie flat"]), (["run"], ["run"])])
    # exact Jaccard 1/3 and 1 -> mean 2/3; identical sets: 1 of 2
    assert res["jaccard_exact"]["mean"] == pytest.approx((1 / 3 + 1) / 2, abs=1e-4)
    assert res["identical_sets_share"] == 0.5
    assert res["jaccard_soft"]["mean"] >= res["jaccard_exact"]["mean"]
    # soft matches are one-to-one: a near-synonym counts once
    soft = skill_agreement([(["sprint forward"], ["sprint forward", "run forward fast"])])
    assert soft["jaccard_soft"]["mean"] == pytest.approx(0.5)
    assert compare({"a": ["x"], "b": ["y"]}, {"b": ["y"], "c": ["z"]})["records"] == 1


def test_second_annotation_file_errors_name_the_line_and_field(tmp_path):
    f = tmp_path / "second.jsonl"
    f.write_text('{"id": "r1", "skills": ["Kneel "], "annotator": "b"}\n{"id": "r2", "skills": []}\n')
    with pytest.raises(M2MError, match=r"second.jsonl:2: record 'r2': field 'skills'"):
        read_annotations(f)
    f.write_text('{"id": "r1", "skills": ["Kneel "]}\n')
    assert read_annotations(f)["r1"]["skills"] == ["kneel"]


def test_quality_cli_reports_agreement_and_the_released_floor(tmp_path, cache, src, data_root, capsys):
    from m2m_bench.data.cli import main as data_main

    ids = tmp_path / "ids.txt"
    ids.write_text("r1\nr2\n")
    second = write_jsonl(tmp_path / "second.jsonl", [{"id": "r1", "skills": ["kneel", "reach under a car"], "annotator": "b"}])
    config = make_config(src, samples=1, overrides={"summarize": {"authored": "compare"}}, annotate=str(ids))
    b, _ = build_with_annotator(config, cache, ANSWERS, tmp_path)
    w = finalize(b, root=data_root, version="1.0.0", annotation_files=[second], min_distinct_skills=5)
    assert (w.folder / "annotations" / "second.jsonl").is_file()
    report = json.loads((w.folder / "quality" / "report.json").read_text())
    assert report["checks"]["distinct_skills"]["rule"] == ">= 5"
    # authored {kneel, sweep with a broom} vs second {kneel, reach under a car}: 1 of 3
    assert report["agreement"]["authored vs second annotation (second.jsonl)"]["jaccard_exact"]["mean"] == pytest.approx(1 / 3, abs=1e-4)
    capsys.readouterr()
    data_main(["quality", "m2m", "--version", "1.0.0"])
    out = capsys.readouterr().out
    assert "PASS  distinct_skills = 6 (must be >= 5)" in out  # the floor it was released with
    assert "agreement authored vs second annotation (second.jsonl): 1 records, Jaccard exact mean 0.3333" in out
    assert data_main(["quality", "m2m", "--version", "1.0.0", "--min-distinct-skills", "7"]) == 1
    assert "FAIL  distinct_skills = 6 (must be >= 7)" in capsys.readouterr().out
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"id": "zz", "skills": ["run"]}])
    with pytest.raises(M2MError, match="bad.jsonl: 1 annotated id"):
        finalize(b, root=data_root, version="1.0.1", annotation_files=[bad])


def test_annotators_caches_merge_through_exported_calls(tmp_path, src):
    """Annotators answer batches in their own caches; --export-calls / --import-calls carry
    their request+answer pairs into the build's cache, which then asks nothing."""
    from m2m_bench.construct.cache import CallCache

    ids = tmp_path / "ids.txt"
    ids.write_text("r1\n")
    config = make_config(src, samples=1, overrides={"summarize": {"authored": "compare"}}, annotate=str(ids))
    with CallCache(tmp_path / "annotator.sqlite") as own:
        build_with_annotator(config, own, ANSWERS, tmp_path)
    calls = tmp_path / "shared" / "r1.calls.jsonl.gz"
    assert main(["--cache", str(tmp_path / "annotator.sqlite"), "--export-calls", str(calls)]) == 0
    argv = ["--input", f"jsonl:{src}", "--annotate", str(ids), "--samples", "1", "--set", "summarize.authored=compare",
            "--max-attempts", "2", "--threshold", "0.6", "--backend", "batch",
            "--model", "annotator", "--cache", str(tmp_path / "build.sqlite"), "--out", str(tmp_path / "ds"),
            "--version", "1.0.0", "--no-progress"]  # fmt: skip
    assert main([*argv, "--batch-export", str(tmp_path / "req.jsonl")]) == 3  # nothing known yet
    assert main([*argv, "--import-calls", str(calls)]) == 0
    summ = (tmp_path / "ds" / "m2m" / "versions" / "1.0.0" / "construct" / "summaries.jsonl").read_text()
    assert '"id":"r1"' in summ.replace(" ", "")
    bad = tmp_path / "bad.jsonl.gz"
    import gzip

    bad.write_bytes(gzip.compress(b'{"key": "0000", "request": {"x": 1}, "response": "hi", "prompt_tokens": 0, "completion_tokens": 0, "cost": 0}\n'))
    with pytest.raises(M2MError, match="bad.jsonl.gz: line 1: not a cached call"):
        main([*argv, "--import-calls", str(bad)])
