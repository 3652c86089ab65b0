"""The canonical response format: rendering, strict parsing, recovery and safety."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from m2m_bench.response import (
    MAX_DEPTH,
    MAX_ELEMENTS,
    MAX_RESPONSE_CHARS,
    ROOT_LABEL,
    ParsedResponse,
    parse_response,
    render_response,
)
from m2m_bench.schema import normalize_skills

CANONICAL_TREE = (
    ROOT_LABEL,
    (("think", ()), ("answer", (("action", ()), ("skills", (("skill", ()), ("skill", ())))))),
)
_SOUP = [*"<>/&;!?[]-= \"'\nabs", "action", "skill", "skills", "answer", "think", "CDATA", "#x41", "DOCTYPE", "<skill>", "</skill>"]
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def test_render_then_parse_is_valid_and_exact():
    text = render_response("A person kicks the door & runs <fast>", ["Kick the Door.", "run"], "x < 5 & y")
    p = parse_response(text)
    assert p.valid and p.errors == ()
    assert p.action == "A person kicks the door & runs <fast>"
    assert p.skills == ("kick the door", "run")
    assert p.think == "x < 5 & y"
    assert p.tree == CANONICAL_TREE
    assert "&amp;" in text and "&lt;fast&gt;" in text


def test_minimal_valid_answer_without_think():
    p = parse_response("  <answer>\n <action> walk  to\nthe door </action>\n <skills><skill>Walk</skill></skills></answer>\n")
    assert p.valid, p.errors
    assert (p.action, p.skills, p.think) == ("walk to the door", ("walk",), "")
    assert p.tree == (ROOT_LABEL, (("answer", (("action", ()), ("skills", (("skill", ()),)))),))


def test_duplicate_skills_are_normalized_away_but_stay_valid():
    p = parse_response(render_response("walk", ["Walk", "walk ", "run"]))
    assert p.valid and p.skills == ("walk", "run")


def test_comments_cdata_and_character_references_are_xml():
    p = parse_response(
        "<!-- note --><answer><action><![CDATA[lift <the> box]]> &#233;&#x41;</action>"
        "<skills><skill>lift</skill></skills></answer>"
    )
    assert p.valid, p.errors
    assert p.action == "lift <the> box éA"


@settings(max_examples=150, deadline=None)
@given(st.text(), st.lists(st.text(), max_size=4), st.text())
def test_round_trip_of_any_text(action, skills, think):
    p = parse_response(render_response(action, skills, think))
    clean = lambda s: _INVALID_XML.sub("", s).replace("\r\n", "\n").replace("\r", "\n")  # noqa: E731
    want_action = " ".join(clean(action).split())
    want_skills = tuple(normalize_skills(clean(s) for s in skills))
    assert p.action == want_action
    assert p.skills == want_skills
    assert p.think == clean(think).strip()
    assert p.valid == (bool(want_action) and bool(want_skills)), p.errors


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(),
        st.lists(st.sampled_from(_SOUP)).map("".join),
    )
)
def test_parser_never_raises_and_reports_every_invalid_output(text):
    p = parse_response(text)
    assert isinstance(p, ParsedResponse)
    assert p.valid == (not p.errors)
    assert p.tree[0] == ROOT_LABEL


def test_non_text_and_empty_outputs():
    for value, msg in ((None, "not text"), (b"<answer/>", "not text"), ("", "empty"), ("  \n", "empty")):
        p = parse_response(value)
        assert not p.valid and any(msg in e for e in p.errors)
        assert (p.action, p.skills, p.tree) == ("", (), (ROOT_LABEL, ()))


def test_entities_are_never_expanded_and_doctype_is_refused():
    laughs = (
        '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        "<answer><action>&lol3;</action><skills><skill>laugh</skill></skills></answer>"
    )
    p = parse_response(laughs)
    assert not p.valid
    assert p.action == "&lol3;"  # recovered literally, never expanded
    assert any("not well-formed" in e for e in p.errors)
    assert any("declaration ignored" in e for e in p.errors)


def test_external_entities_are_never_fetched():
    xxe = (
        '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        "<answer><action>&xxe;</action><skills><skill>read</skill></skills></answer>"
    )
    p = parse_response(xxe)
    assert not p.valid
    assert "root:" not in p.action and p.action == "&xxe;"


def test_undefined_entity_is_reported_and_kept_literally():
    p = parse_response("<answer><action>R&D &nbsp; lab</action><skills><skill>walk</skill></skills></answer>")
    assert not p.valid
    assert p.action == "R&D &nbsp; lab"
    assert p.errors[0].startswith("not well-formed XML")


def test_error_positions_refer_to_the_output_not_the_wrapper():
    # Columns count from 1; the undefined entity starts at the 17th character of line 1.
    p = parse_response("<answer><action>&foo;</action></answer>")
    assert p.errors[0].endswith("undefined entity (line 1, column 17)")
    p = parse_response("<answer>\n<action>&foo;</action></answer>")
    assert p.errors[0].endswith("(line 2, column 9)")


def test_output_over_the_size_limit_is_cut_and_reported():
    good = render_response("walk to the door", ["walk"])
    p = parse_response(good + " " * (MAX_RESPONSE_CHARS + 10) + "<junk>")
    assert not p.valid
    assert any(f"longer than {MAX_RESPONSE_CHARS}" in e for e in p.errors)
    assert p.action == "walk to the door" and p.skills == ("walk",)


def test_depth_and_element_limits():
    deep = parse_response("<a>" * (MAX_DEPTH + 20) + "</a>" * (MAX_DEPTH + 20))
    assert any(f"deeper than {MAX_DEPTH}" in e for e in deep.errors)

    def depth(t):
        return 1 + max((depth(c) for c in t[1]), default=0)

    assert depth(deep.tree) == MAX_DEPTH + 1  # virtual root + MAX_DEPTH levels
    many = parse_response("<skill>x</skill>" * (MAX_ELEMENTS + 5))
    assert any(f"more than {MAX_ELEMENTS} elements" in e for e in many.errors)
    assert len(many.tree[1]) == MAX_ELEMENTS


def test_prose_and_code_fences_around_the_answer():
    p = parse_response(
        "Sure! Here it is:\n```xml\n<think>hot stove</think><answer><action>turn off the stove</action>"
        "<skills><skill>turn a knob</skill></skills></answer>\n```"
    )
    assert not p.valid
    assert p.errors == ("text outside the elements at the top level: 'Sure! Here it is: ```xml ```'",)
    assert (p.action, p.skills, p.think) == ("turn off the stove", ("turn a knob",), "hot stove")


def test_unclosed_tags_are_closed_and_reported():
    p = parse_response("<think>x < 5</think><answer><action>walk<skills><skill>run<skill>jump</skills></answer>")
    assert not p.valid
    assert (p.action, p.skills, p.think) == ("walk", ("run", "jump"), "x < 5")
    assert "<action> was not closed before <skills>" in p.errors
    assert "<skill> was not closed before <skill>" in p.errors
    assert p.tree == CANONICAL_TREE


def test_truncated_output_keeps_what_was_written():
    p = parse_response("<answer><action>pick up the cup</action><skills><skill>grasp")
    assert not p.valid
    assert (p.action, p.skills) == ("pick up the cup", ("grasp",))
    assert "<answer> was not closed at the end" in p.errors


def test_skills_as_plain_text_are_split():
    p = parse_response("<answer><action>walk</action><skills>run, Jump; sit\nstand</skills></answer>")
    assert not p.valid
    assert p.skills == ("run", "jump", "sit", "stand")
    assert any("plain text" in e for e in p.errors)


def test_wrong_case_tags_are_recovered_but_invalid():
    p = parse_response("<Answer><Action>walk</Action><Skills><Skill>walk</Skill></Skills></Answer>")
    assert not p.valid
    assert (p.action, p.skills) == ("walk", ("walk",))
    assert p.tree == (ROOT_LABEL, (("answer", (("action", ()), ("skills", (("skill", ()),)))),))


def test_grammar_violations_each_make_output_invalid():
    ok_skills = "<skills><skill>walk</skill></skills>"
    cases = {
        f'<answer><action id="1">walk</action>{ok_skills}</answer>': "has attributes",
        f"<answer>{ok_skills}<action>walk</action></answer>": "must hold <action> then <skills>",
        f"<answer><action> </action>{ok_skills}</answer>": "<action> is empty",
        "<answer><action>walk</action><skills></skills></answer>": "holds no <skill>",
        "<answer><action>walk</action><skills><skill> </skill></skills></answer>": "a <skill> is empty",
        f"<answer><action>walk <b>now</b></action>{ok_skills}</answer>": "must hold text only",
        f"<answer><action>walk</action>{ok_skills}</answer><answer/>": "the top level must be",
        f"<answer><action>walk</action>{ok_skills}</answer><think>late</think>": "the top level must be",
        f"<answer>so: <action>walk</action>{ok_skills}</answer>": "text outside the elements in <answer>",
        "<answer><action>walk</action><skills>x<skill>walk</skill></skills></answer>": "in <skills>",
        "<answer><action>walk</action><skills><step>walk</step></skills></answer>": "may hold only <skill>",
        f"<?pi x?><answer><action>walk</action>{ok_skills}</answer>": "processing instruction",
    }
    for text, msg in cases.items():
        p = parse_response(text)
        assert not p.valid, text
        assert any(msg in e for e in p.errors), (text, p.errors)
        assert p.action.startswith("walk") or "<action> </action>" in text


def test_text_outside_elements_is_never_the_action():
    p = parse_response("the person walks to the door")
    assert not p.valid and p.action == "" and p.skills == ()
    assert "no <action> element found" in p.errors


def test_render_rejects_wrong_types():
    import pytest

    with pytest.raises(TypeError):
        render_response("walk", "walk")
    with pytest.raises(TypeError):
        render_response(None, ["walk"])


def test_lone_surrogates_are_replaced_not_raised():
    from m2m_bench.response import parse_response

    p = parse_response("<answer><action>a person \ud800 jumps.</action><skills><skill>jump</skill></skills></answer>")
    assert p.action == "a person \ufffd jumps." and p.skills == ("jump",)
    assert not p.valid and any("surrogate" in e for e in p.errors)
