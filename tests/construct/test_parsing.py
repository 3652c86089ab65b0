"""Untrusted LLM answers: JSON extraction and each stage's checks (kinds are the drop reasons)."""

from __future__ import annotations

import json

import pytest

from m2m_bench.construct.parsing import ParseError, extract_json
from m2m_bench.construct.pipeline import Context
from m2m_bench.construct.sources import SourceRecord
from m2m_bench.construct.stages import DEFAULT_TAXONOMY, RECORD_STAGES, Item, TaxonomyStage

CONV = "Ana: The kettle is boiling over and the towel next to it is smoking.\nBen: Grab the towel!"


def item(**results):
    it = Item(SourceRecord("d1", CONV, {"corpus": "t", "source_id": "1", "license": "CC0-1.0"}))
    for stage, value in results.items():
        it.results[stage] = {"status": "ok", "value": value}
    return it


ENTS = [{"text": "Ana", "type": "person", "votes": 3}, {"text": "kettle", "type": "object", "votes": 3}, {"text": "towel", "type": "object", "votes": 2}]
CTX = Context(DEFAULT_TAXONOMY)


def kind_of(stage, text, it):
    with pytest.raises(ParseError) as e:
        RECORD_STAGES[stage].parse(text, it, CTX)
    return e.value.kind


def test_extract_json_from_prose_and_fences():
    assert extract_json('Sure! {"a": 1} hope it helps') == {"a": 1}
    assert extract_json('```json\n{"a": [1, 2]}\n```') == {"a": [1, 2]}
    assert extract_json('{bad} then {"ok": true}') == {"ok": True}


@pytest.mark.parametrize(
    "text",
    ["", "   ", "no json here", '{"a": 1', '{"a": NaN}', "[1, 2]", "x" * 60_000, json.dumps({"a": [[[[[[[[[[1]]]]]]]]]]})],
)
def test_extract_json_rejects(text):
    with pytest.raises(ParseError) as e:
        extract_json(text)
    assert e.value.kind == "bad_json"


def test_entities_parse_checks_types_and_mentions():
    it = item()
    got = RECORD_STAGES["entities"].parse(
        '{"entities": [{"text": "Ana", "type": "Person"}, {"text": "the kettle", "type": "object"}, {"text": "Kettle", "type": "object"}]}',
        it,
        CTX,
    )
    assert got == [{"text": "Ana", "type": "person"}, {"text": "the kettle", "type": "object"}]  # repeat dropped
    assert kind_of("entities", '{"entities": [{"text": "stove", "type": "object"}]}', it) == "hallucinated_entity"
    assert kind_of("entities", '{"entities": [{"text": "kettle", "type": "appliance"}]}', it) == "bad_type"
    assert kind_of("entities", '{"entities": [{"type": "object"}]}', it) == "missing_field"
    assert kind_of("entities", '{"things": []}', it) == "missing_field"
    assert kind_of("entities", '{"entities": "kettle"}', it) == "missing_field"
    assert kind_of("entities", "not json", it) == "bad_json"


def test_relations_must_join_two_kept_entities():
    it = item(entities=ENTS)
    got = RECORD_STAGES["explicit"].parse('{"relations": [{"head": "The Towel", "relation": "next to", "tail": "kettle"}]}', it, CTX)
    assert got == [{"head": "towel", "relation": "next to", "tail": "kettle"}]  # kept entity form
    assert kind_of("explicit", '{"relations": [{"head": "towel", "relation": "on", "tail": "stove"}]}', it) == "hallucinated_entity"
    assert kind_of("explicit", '{"relations": [{"head": "towel", "relation": "is", "tail": "towel"}]}', it) == "self_relation"
    assert kind_of("explicit", '{"relations": [{"head": "towel", "tail": "kettle"}]}', it) == "missing_field"
    assert kind_of("implicit", '{"relations": [{"head": "Ana", "relation": "grabs", "tail": "towel", "likelihood": 1.5}]}', it) == "bad_score"
    assert kind_of("implicit", '{"relations": [{"head": "Ana", "relation": "grabs", "tail": "towel"}]}', it) == "bad_score"


def test_discriminate_needs_every_candidate_scored_once():
    cands = [{"head": "Ana", "relation": "must grab", "tail": "towel", "likelihood": 0.5}] * 2
    it = item(entities=ENTS, implicit=cands)
    assert RECORD_STAGES["discriminate"].parse('{"scores": [{"id": 2, "score": 0.1}, {"id": 1, "score": 1}]}', it, CTX) == [1.0, 0.1]
    assert kind_of("discriminate", '{"scores": [{"id": 1, "score": 0.1}]}', it) == "missing_field"
    assert kind_of("discriminate", '{"scores": [{"id": 1, "score": 0.1}, {"id": 1, "score": 0.2}]}', it) == "missing_field"
    assert kind_of("discriminate", '{"scores": [{"id": 3, "score": 0.1}]}', it) == "missing_field"
    assert kind_of("discriminate", '{"scores": [{"id": 1, "score": 9}, {"id": 2, "score": 0}]}', it) == "bad_score"


def test_summarize_normalizes_skills_and_validates_the_action():
    it = item(entities=ENTS)
    got = RECORD_STAGES["summarize"].parse(
        '{"action": "a person  grabs the towel.", "skills": ["  Grab the Towel. ", "grab the towel", "Step Back"]}', it, CTX
    )
    assert got == {"action": "a person grabs the towel.", "skills": ["grab the towel", "step back"]}
    assert kind_of("summarize", '{"action": "a person grabs it. Then runs.", "skills": ["run"]}', it) == "invalid_summary"
    assert kind_of("summarize", '{"action": "a person runs.", "skills": []}', it) == "missing_field"
    assert kind_of("summarize", '{"action": "a person runs.", "skills": ["one two three four five six seven eight nine"]}', it) == "invalid_summary"
    assert kind_of("summarize", '{"skills": ["run"]}', it) == "missing_field"


def test_taxonomy_parse_normalizes_names():
    tax = TaxonomyStage().parse(
        '{"entity_types": [{"name": "Person", "description": "x"}, {"name": "Body part"}, {"name": "person"}], "relation_types": [{"name": "holds"}]}',
        item(),
        CTX,
    )
    assert tax.entity_names == ["person", "body_part"]
    with pytest.raises(ParseError):
        TaxonomyStage().parse('{"entity_types": [{"name": "thing"}]}', item(), CTX)
