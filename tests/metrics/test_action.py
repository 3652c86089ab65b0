"""Action metrics SS, KMR, IC, CPS against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from m2m_bench.metrics import score_task
from m2m_bench.metrics._text import content_lemmas, info_units, tokens
from m2m_bench.metrics.action import IC_THRESHOLD
from m2m_bench.response import render_response


def out(action: str, skills=("walk",)) -> str:
    return render_response(action, list(skills))


def cos(encoder, a: str, b: str) -> float:
    v = encoder.encode([a, b])
    return float(v[0] @ v[1])


# ---------------------------------------------------------------- text helpers


def test_tokens_lower_case_unicode_and_possessives():
    assert tokens("The girl's CAFÉ-crème, 3 times!") == ["the", "girl", "café", "crème", "3", "times"]


def test_content_lemmas_drop_function_words_and_placeholder_subjects():
    assert content_lemmas("a person kicks the door open") == {"kick", "door", "open"}
    assert content_lemmas("Someone opened the doors") == {"open", "door"}
    assert content_lemmas("he did it to them") == frozenset()


def test_info_units_cut_at_punctuation_conjunctions_and_prepositions():
    assert info_units("a person positioning their surfboard on the sand, scanning the waves") == [
        "positioning their surfboard",
        "sand",
        "scanning the waves",
    ]
    # "over" and "at" are particles here: they do not cut; repeats are dropped.
    assert info_units("jumps over the fence and looks at the sky, jumps over the fence") == [
        "jumps over the fence",
        "looks at the sky",
    ]
    assert info_units("and then, to it") == []


# ---------------------------------------------------------------- KMR


def test_kmr_by_hand(make_rec):
    recs = [make_rec("a person kicks the door open")] * 4
    outs = [
        out("someone opened the doors"),  # {open, door} of {kick, door, open}
        out("a person kicks the door open"),  # identical
        out("they sit quietly on a bench"),  # disjoint
        "no answer at all",  # no <action>
    ]
    kmr = [r["action.kmr"] for r in score_task("action", outs, recs)]
    assert kmr == [pytest.approx(2 / 3), 1.0, 0.0, 0.0]


def test_kmr_undefined_without_content_words(make_rec):
    rows = score_task("action", [out("he did it")], [make_rec("he did it")])
    assert rows[0]["action.kmr"] is None


def test_kmr_unicode(make_rec):
    rows = score_task("action", [out("Crème brûlée")], [make_rec("a person eats crème brûlée in the café")])
    # reference lemmas {eat, crème, brûlée, café}; prediction {crème, brûlée}
    assert rows[0]["action.kmr"] == pytest.approx(2 / 4)


# ---------------------------------------------------------------- SS


def test_ss_identical_empty_and_equal_to_cosine(make_rec, encoder):
    ref = "a person lunges to the stove and switches off the burner"
    pred = "someone turns off the stove quickly"
    rows = score_task("action", [out(ref), "<answer></answer>", out(pred)], [make_rec(ref)] * 3, encoder=encoder)
    assert rows[0]["action.ss"] == 1.0
    assert rows[1]["action.ss"] == 0.0
    assert rows[2]["action.ss"] == pytest.approx(cos(encoder, pred, ref), abs=1e-5)
    assert 0.0 < rows[2]["action.ss"] < 1.0


def test_ss_disjoint_is_low(make_rec, encoder):
    rows = score_task("action", [out("reads a novel in bed")], [make_rec("sprints toward first base")], encoder=encoder)
    assert rows[0]["action.ss"] < 0.3


# ---------------------------------------------------------------- IC


def test_ic_by_hand(make_rec, encoder):
    ref = "A person kicks the door and runs to the car"  # units: kicks the door | runs | car
    pred = "a person kicks the door"  # units: kicks the door
    assert info_units(ref) == ["kicks the door", "runs", "car"]
    # the two other reference units are far from the only predicted unit
    assert cos(encoder, "runs", "kicks the door") < IC_THRESHOLD
    assert cos(encoder, "car", "kicks the door") < IC_THRESHOLD
    rows = score_task("action", [out(pred), out(ref), out("")], [make_rec(ref)] * 3, encoder=encoder)
    assert rows[0]["action.ic"] == pytest.approx(1 / 3)
    assert rows[1]["action.ic"] == 1.0
    assert rows[2]["action.ic"] == 0.0


def test_ic_counts_paraphrased_units(make_rec, encoder):
    ref = "a person positioning their surfboard on the sand, scanning the waves"
    pred = "someone placing the surfboard, watching the waves"
    # by hand: "positioning their surfboard"~"placing the surfboard" and
    # "scanning the waves"~"watching the waves" reach the threshold, "sand" matches nothing
    assert cos(encoder, "positioning their surfboard", "placing the surfboard") >= IC_THRESHOLD
    assert cos(encoder, "scanning the waves", "watching the waves") >= IC_THRESHOLD
    assert max(cos(encoder, "sand", u) for u in info_units(pred)) < IC_THRESHOLD
    rows = score_task("action", [out(pred)], [make_rec(ref)], encoder=encoder)
    assert rows[0]["action.ic"] == pytest.approx(2 / 3)
    assert rows[0]["action.kmr"] == pytest.approx(2 / 5)  # {surfboard, wave} of 5 lemmas


def test_ic_undefined_without_units(make_rec):
    assert score_task("action", [out("walk")], [make_rec("and then it")])[0]["action.ic"] is None


# ---------------------------------------------------------------- CPS


def test_cps_is_geometric_mean_of_the_three(make_rec, encoder):
    ref = "a person positioning their surfboard on the sand, scanning the waves"
    recs = [make_rec(ref)] * 3
    outs = [out("someone placing the surfboard, watching the waves"), out(ref), out("reads a novel in bed")]
    rows = score_task("action", outs, recs, encoder=encoder)
    r = rows[0]
    want = (max(0.0, r["action.ss"]) * r["action.kmr"] * r["action.ic"]) ** (1 / 3)
    assert r["action.cps"] == pytest.approx(want)
    assert rows[1]["action.cps"] == pytest.approx(1.0)
    assert rows[2]["action.kmr"] == 0.0 and rows[2]["action.cps"] == 0.0


def test_cps_leaves_out_undefined_components(make_rec):
    rows = score_task("action", [out("he did it")], [make_rec("he did it")])
    assert rows[0]["action.kmr"] is None and rows[0]["action.ic"] is None
    assert rows[0]["action.cps"] == pytest.approx(rows[0]["action.ss"]) == 1.0


def test_unicode_identical_non_english(make_rec):
    ref = "una persona abre la puerta 人が ドアを 開ける"
    rows = score_task("action", [out(ref)], [make_rec(ref)])
    assert rows[0] == {"action.ss": 1.0, "action.kmr": 1.0, "action.ic": 1.0, "action.cps": 1.0}
    assert all(math.isfinite(v) for v in rows[0].values())
