"""Stage 0: a proposed taxonomy is written as an editable file that later stages obey."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from m2m_bench.construct.config import ConstructConfig
from m2m_bench.construct.output import finalize
from m2m_bench.construct.stages import DEFAULT_TAXONOMY, load_taxonomy
from m2m_bench.errors import M2MError

from .conftest import ANSWERS, DIALOGUES, build_with_annotator, write_jsonl

PROPOSED = json.dumps(
    {
        "entity_types": [
            {"name": "Person", "description": "someone in the scene"},
            {"name": "object", "description": "a movable thing"},
            {"name": "vehicle", "description": "a car, bus or bike"},
        ],
        "relation_types": [{"name": "under", "description": "below something"}],
    }
)


def test_taxonomy_is_proposed_written_and_obeyed(tmp_path, cache):
    src = write_jsonl(tmp_path / "d.jsonl", [DIALOGUES[2]])  # d3: keeps its own action
    tax_file = tmp_path / "taxonomy.yaml"
    config = ConstructConfig(inputs=[f"jsonl:{src}"], stages=["taxonomy", "entities"], samples=1, max_attempts=2, taxonomy=str(tax_file))
    answers = {**ANSWERS, ("<corpus>", "taxonomy"): PROPOSED}
    b, _ = build_with_annotator(config, cache, answers, tmp_path)
    assert tax_file.is_file()
    tax = load_taxonomy(tax_file)
    assert tax.entity_names == ["person", "object", "vehicle"] and tax.relation_types[0][0] == "under"
    assert b.taxonomy == tax and b.taxonomy_source == f"file {tax_file}"  # written in an earlier round, read since
    prompt = [json.loads(r[0]) for r in cache._db.execute("SELECT request FROM calls")]
    assert any("Allowed types: person, object, vehicle." in m["content"] for r in prompt for m in r["messages"])
    w = finalize(b, root=tmp_path / "ds", version="0.1.0")
    assert load_taxonomy(w.folder / "construct/taxonomy.yaml") == tax
    era = pq.read_table(w.folder / "data/test-00000-of-00001.parquet").to_pylist()[0]["era_cot"]
    assert {e["text"]: e["type"] for e in era["entities"]} == {"Mia": "person", "ball": "object", "car": "vehicle", "broom": "object"}
    assert era["explicit"] == [] and era["implicit"] == []

    # a person removes "vehicle": the edited file wins, and "car" as a vehicle is now malformed
    tax_file.write_text(tax_file.read_text().replace("- name: vehicle\n  description: a car, bus or bike\n", ""))
    assert load_taxonomy(tax_file).entity_names == ["person", "object"]
    b2, _ = build_with_annotator(config, cache, answers, tmp_path)
    assert b2.reports["entities"].errors == {"bad_type": 2}
    assert b2.items[0].state == "unannotated"
    assert "taxonomy" not in b2.reports  # the stage does not run over an existing file


def test_default_and_bad_taxonomy_files(tmp_path):
    assert "person" in DEFAULT_TAXONOMY.entity_names
    bad = tmp_path / "t.yaml"
    bad.write_text("domains: {}\n")
    with pytest.raises(M2MError, match="t.yaml: field 'entity_types' is missing"):
        load_taxonomy(bad)
    bad.write_text("entity_types: [person, Person]\n")
    with pytest.raises(M2MError, match="names a type twice"):
        load_taxonomy(bad)
    bad.write_text("entity_types: {person: a human, body part: hands and feet}\n")
    assert load_taxonomy(bad).entity_names == ["person", "body_part"]
