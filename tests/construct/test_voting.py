"""Known answers for voting, likelihood pooling, thresholding and normalization."""

from __future__ import annotations

import pytest

from m2m_bench.construct.voting import (
    keep_at_threshold,
    majority_vote,
    mean_score,
    mentioned,
    pooled_likelihood,
    relation_key,
    text_key,
    words,
)
from m2m_bench.schema import normalize_skills


def ent(text, type_="object"):
    return {"text": text, "type": type_}


def by_text(e):
    return text_key(e["text"])


def test_text_key_normalizes_case_space_punctuation_and_articles():
    assert text_key("The  Kettle.") == "kettle"
    assert text_key("located_in") == "located in"
    assert text_key("is next-to") == "is next-to"
    assert text_key("a") == "a"  # a lone article stays
    assert text_key("An old man's cane") == "old man's cane"
    assert words("Ms. Farrow's  tea-towel!") == ["ms", "farrow's", "tea-towel"]
    assert relation_key("The towel", "Next_To", "kettle ") == ("towel", "next to", "kettle")


def test_mentioned_whole_words_and_plural():
    text = "Ana: The kettle is boiling. Two suitcases sit by the door."
    assert mentioned("kettle", text)
    assert mentioned("the Kettle", text)
    assert mentioned("suitcase", text)  # final s ignored
    assert not mentioned("ket", text)  # whole words only
    assert not mentioned("stove", text)
    assert not mentioned("door kettle", text)  # must be a contiguous run
    assert not mentioned("", text)


def test_mentioned_ignores_a_possessive_s():
    text = "Mama Neema's pram is stuck and the smoke’s getting thick."
    assert mentioned("Mama Neema", text) and mentioned("Neema's", text)
    assert mentioned("smoke", text) and mentioned("pram", text)
    assert mentioned("Neema's pram", text) and not mentioned("Neema stuck", text)


def test_majority_vote_counts_each_sample_once_and_needs_more_than_half():
    samples = [
        [ent("Ana", "person"), ent("kettle"), ent("towel")],
        [ent("Ana", "person"), ent("kettle"), ent("towel", "hazard"), ent("Ben", "person")],
        [ent("kettle"), ent("the kettle"), ent("towel")],  # repeat in one sample counts once
    ]
    kept = majority_vote(samples, by_text)
    assert [(e["text"], e["type"], v) for e, v in kept] == [
        ("Ana", "person", 2),
        ("kettle", "object", 3),
        ("towel", "object", 3),  # type voted: object 2, hazard 1
    ]


def test_majority_vote_failed_samples_abstain_but_count_in_n():
    # 1 vote of 3 samples (two failed) is not a majority; 1 of 1 is.
    assert majority_vote([[ent("kettle")], None, None], by_text) == []
    assert majority_vote([[ent("kettle")]], by_text) == [(ent("kettle"), 1)]
    # 2 of 4 is a tie, not a majority; 3 of 4 is.
    s = [[ent("a b")], [ent("a b")], [], []]
    assert majority_vote(s, by_text) == []
    assert majority_vote([[ent("x")]] * 3 + [[]], by_text) == [(ent("x"), 3)]
    assert majority_vote([[ent("x")]] * 3 + [[], None], by_text) == [(ent("x"), 3)]  # 3 of 5
    with pytest.raises(ValueError):
        majority_vote([], by_text)


def test_majority_vote_tie_between_forms_keeps_first_seen():
    kept = majority_vote([[ent("Towel", "object")], [ent("towel", "hazard")]], by_text, n=2)
    assert kept == [(ent("Towel", "object"), 2)]


def test_pooled_likelihood_eq1_average_over_n_samples():
    r1 = {"head": "Ana", "relation": "must grab", "tail": "towel"}
    r2 = {"head": "kettle", "relation": "burns", "tail": "Ana"}
    samples = [[(r1, 0.8), (r2, 0.3)], [(r1, 0.6), (dict(r1, relation="Must  grab"), 0.9)], None]
    out = pooled_likelihood(samples, lambda r: relation_key(r["head"], r["relation"], r["tail"]))
    # r1: (0.8 + max(0.6, 0.9) + 0) / 3 = 0.5667; r2: 0.3 / 3 = 0.1
    assert out == [(r1, 0.5667), (r2, 0.1)]


def test_mean_score_and_threshold_boundary_is_kept():
    assert mean_score([0.9, 0.7]) == 0.8
    assert mean_score([0.5, None, 0.6]) == 0.55
    assert mean_score([None, None]) is None
    kept, dropped = keep_at_threshold([("a", 0.8), ("b", 0.55), ("c", 0.5499)], 0.55)
    assert kept == [("a", 0.8), ("b", 0.55)]  # V >= v_th: the boundary stays
    assert dropped == [("c", 0.5499)]
    assert keep_at_threshold([("a", 0.0)], 0.0) == ([("a", 0.0)], [])
    with pytest.raises(ValueError):
        keep_at_threshold([], 1.5)


def test_skill_normalization_known_answers():
    assert normalize_skills(["  Grab the Towel. ", "grab  the towel", "Step Back!", ""]) == ["grab the towel", "step back"]
