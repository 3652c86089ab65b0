"""Input adapters on the real shared samples and on files in each documented format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from m2m_bench.construct.sources import InputError, InputSpec, get_adapter
from m2m_bench.errors import M2MError

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"  # ../shared/data from the project root
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is not present")


def read(spec: str):
    return list(InputSpec.parse(spec).read())


@needs_shared
def test_llava_eval_samples():
    recs = read(f"llava:{SHARED}/llava_samples/coco2014_val_gpt4_qa_30x3.jsonl")
    assert len(recs) == 90
    assert len({r.id for r in recs}) == 90
    first = recs[0]
    assert first.id == "llava-000000525439-conv"
    assert first.conversation.startswith("User: What is the position of the skateboard")
    assert "\nAssistant: " in first.conversation
    assert first.source == {"corpus": "llava-instruct", "source_id": "000000525439-conv", "license": "CC-BY-4.0"}
    assert first.split is None and not first.preset


def test_llava_hub_json_format(tmp_path):
    data = [
        {"id": "42", "image": "x.jpg", "conversations": [{"from": "human", "value": "<image>\nWhat is he holding?"}, {"from": "gpt", "value": "A kite."}]},
        {"id": "42", "image": "x.jpg", "conversations": [{"from": "human", "value": "Why?"}, {"from": "gpt", "value": "It is windy."}]},
    ]
    (tmp_path / "llava_instruct_150k.json").write_text(json.dumps(data))
    recs = read(f"llava:{tmp_path / 'llava_instruct_150k.json'}")
    assert [r.id for r in recs] == ["llava-42", "llava-42-2"]
    assert recs[0].conversation == "User: What is he holding?\nAssistant: A kite."


@needs_shared
def test_kitml_skips_mirrors_and_reads_splits():
    recs = read(f"kitml:{SHARED}/kitml")
    assert len(recs) == 6082  # original texts, mirrored ids (M...) skipped
    assert recs[0].id == "kitml-00001_0" and recs[0].conversation == "A person is walking forwards."
    assert recs[0].split == "train"
    assert {r.split for r in recs} <= {"train", "validation", "test", None}
    assert any(r.split == "validation" for r in recs)
    assert not any(r.id.startswith("kitml-M") for r in recs)


def test_humanml3d_texts_folder(tmp_path):
    texts = tmp_path / "HumanML3D" / "texts"
    texts.mkdir(parents=True)
    (texts / "000001.txt").write_text("a man kicks something with his left leg.#a/DET man/NOUN#0.0#0.0\nsomeone kicks.#someone/PRON#0.0#0.0\n")
    (texts / "M000001.txt").write_text("a mirrored kick.#x#0.0#0.0\n")
    (tmp_path / "HumanML3D" / "test.txt").write_text("000001\n")
    recs = read(f"humanml3d:{texts}")
    assert [(r.id, r.conversation, r.split) for r in recs] == [
        ("humanml3d-000001-0", "a man kicks something with his left leg.", "test"),
        ("humanml3d-000001-1", "someone kicks.", "test"),
    ]
    assert read(f"humanml3d:{tmp_path / 'HumanML3D'}") == recs  # the dataset folder works too


def test_jsonl_turns_presets_and_errors(tmp_path):
    p = tmp_path / "dialogues.jsonl"
    p.write_text(
        json.dumps({"conversation": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}], "license": "CC0-1.0"})
        + "\n"
        + json.dumps({"id": "x", "conversation": "A: run!", "action": "a person runs.", "skills": ["run"], "split": "test", "source": {"license": "MIT", "corpus": "c"}})
        + "\n"
    )
    a, b = read(f"jsonl:{p}")
    assert a.id == "dialogues-1" and a.conversation == "User: Hi\nAssistant: Hello" and not a.preset
    assert b.preset and b.skills == ("run",) and b.split == "test" and b.source == {"corpus": "c", "source_id": "x", "license": "MIT"}

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "r1", "conversation": "A: hi"}) + "\n")
    with pytest.raises(InputError, match=r"bad.jsonl: line 1: record r1: field 'source.license' is missing"):
        read(f"jsonl:{bad}")
    bad.write_text(json.dumps({"id": "r1", "conversation": "", "license": "MIT"}) + "\n")
    with pytest.raises(InputError, match=r"line 1: record r1: field 'conversation'"):
        read(f"jsonl:{bad}")
    bad.write_text('{"id": "r1", "conversation": \n')
    with pytest.raises(InputError, match=r"bad.jsonl: line 1: not valid UTF-8 JSON"):
        read(f"jsonl:{bad}")
    bad.write_text(json.dumps({"id": "r1", "conversation": "A", "license": "MIT", "action": "a person runs."}) + "\n")
    with pytest.raises(InputError, match=r"field 'skills'"):
        read(f"jsonl:{bad}")


def test_authored_folder_recursive_keeps_action_skills_split_and_meta(tmp_path):
    base = {"conversation": "Ana: the kettle!", "action": "a person grabs the kettle.", "skills": ["grab a kettle"],
            "source": {"corpus": "m2m-authored", "source_id": "x", "license": "CC-BY-4.0"}}  # fmt: skip
    (tmp_path / "team").mkdir()
    (tmp_path / "seed.jsonl").write_text(json.dumps({**base, "id": "s1", "split": "test", "domain": "household", "family": "household/kitchen"}) + "\n")
    (tmp_path / "team" / "t.jsonl").write_text(json.dumps({**base, "id": "t1", "domain": "work", "family": "work/kitchen"}) + "\n")
    (tmp_path / "team" / "selection.json").write_text("{}")  # not a records file
    s1, t1 = read(f"authored:{tmp_path}")
    assert (s1.id, s1.split, s1.meta) == ("s1", "test", {"domain": "household", "family": "household/kitchen"})
    assert (t1.id, t1.split, t1.preset, t1.skills) == ("t1", None, True, ("grab a kettle",))
    # the dict form scripts/build_m2m.py reads
    rows = list(get_adapter("authored")(tmp_path))
    assert rows[1] == {"id": "t1", "conversation": "Ana: the kettle!", "source": base["source"], "action": base["action"],
                       "skills": ["grab a kettle"], "domain": "work", "family": "work/kitchen"}  # fmt: skip
    assert rows[0]["split"] == "test"


def test_authored_sources_of_this_checkout_read_cleanly():
    folder = REPO / "datasets" / "sources" / "authored"
    if not folder.is_dir():
        pytest.skip("no authored sources in this checkout")
    # Each writer's folder is one input; a corrected re-release (team-b-r2) reuses the ids
    # of the folder it supersedes, so ids are unique per input, as builds use them.
    inputs = [p for p in sorted(folder.iterdir()) if (p.is_dir() and any(p.rglob("*.jsonl"))) or p.suffix == ".jsonl"]
    total = 0
    for p in inputs:
        recs = read(f"authored:{p}")
        total += len(recs)
        assert len({r.id for r in recs}) == len(recs), p
        assert all(r.preset and r.meta.get("family") for r in recs), p
        assert {r.split for r in recs} <= {"train", "validation", "test", None}, p
    assert total >= 72


def test_authored_missing_field_names_it(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_text(json.dumps({"id": "s1", "split": "train", "conversation": "x", "action": "a person sits.", "skills": ["sit"]}) + "\n")
    with pytest.raises(InputError, match=r"a.jsonl: line 1: record s1: field 'source' is missing"):
        read(f"authored:{p}")


def test_input_spec_errors(tmp_path):
    with pytest.raises(M2MError, match="unknown kind 'csv'"):
        InputSpec.parse("csv:x.csv")
    with pytest.raises(M2MError, match="expected KIND:PATH"):
        InputSpec.parse("llava")
    with pytest.raises(InputError, match="no such file"):
        read(f"jsonl:{tmp_path / 'missing.jsonl'}")


def test_input_hash_follows_content(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text(json.dumps({"conversation": "A: hi", "license": "MIT"}) + "\n")
    spec = InputSpec.parse(f"jsonl:{p}")
    h1 = spec.sha256()
    p.write_text(json.dumps({"conversation": "A: hello", "license": "MIT"}) + "\n")
    assert spec.sha256() != h1
