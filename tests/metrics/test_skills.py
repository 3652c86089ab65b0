"""Skill metrics: exact and soft Jaccard/precision/recall, R_skill (eq. 8), by hand."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from m2m_bench.metrics import score_task
from m2m_bench.metrics.skills import SOFT_THRESHOLD, max_matching
from m2m_bench.response import render_response


def out(skills, action: str = "a person acts") -> str:
    return render_response(action, list(skills))


def test_exact_by_hand(make_rec):
    # P = {a, b, c}, R = {b, c, d, e}: |P∩R| = 2, |P∪R| = 5
    rows = score_task("skills", [out(["climb a ladder", "Kick the Door.", "swim"])],
                      [make_rec(skills=["kick the door", "swim", "crawl", "sit down"])])
    r = rows[0]
    assert r["skills.precision"] == pytest.approx(2 / 3)
    assert r["skills.recall"] == pytest.approx(2 / 4)
    assert r["skills.jaccard"] == pytest.approx(2 / 5)


def test_identical_and_empty(make_rec):
    ref = ["lunge forward", "turn a knob", "swat an object"]
    rows = score_task("skills", [out(ref), out([]), "garbage"], [make_rec(skills=ref)] * 3)
    assert rows[0] == {k: 1.0 for k in rows[0]}
    assert rows[1] == {k: 0.0 for k in rows[1]}
    assert rows[2] == {k: 0.0 for k in rows[2]}


def test_disjoint_by_hand(make_rec, encoder):
    pred, ref = ["swim", "type on a keyboard"], ["climb a ladder", "kick a ball", "sit down"]
    emb_p, emb_r = encoder.encode(pred), encoder.encode(ref)
    sims = emb_r @ emb_p.T  # (ref, pred)
    assert sims.max() < SOFT_THRESHOLD  # nothing is a soft match either
    r = score_task("skills", [out(pred)], [make_rec(skills=ref)], encoder=encoder)[0]
    for k in ("jaccard", "precision", "recall", "jaccard_soft", "precision_soft", "recall_soft"):
        assert r[f"skills.{k}"] == 0.0
    # eq. 8: mean over reference skills of the best cosine to a predicted skill
    assert r["skills.r_skill"] == pytest.approx(float(sims.max(axis=1).mean()), abs=1e-5)


def test_soft_matches_paraphrases_one_to_one(make_rec, encoder):
    ref = ["kick the door", "kicking the door", "sprint"]
    pred = ["kick the door"]
    v = encoder.encode(["kick the door", "kicking the door"])
    assert float(v[0] @ v[1]) >= SOFT_THRESHOLD  # both reference skills could match the prediction
    r = score_task("skills", [out(pred)], [make_rec(skills=ref)], encoder=encoder)[0]
    # ... but one predicted skill matches one reference skill: M = 1
    assert r["skills.precision_soft"] == 1.0
    assert r["skills.recall_soft"] == pytest.approx(1 / 3)
    assert r["skills.jaccard_soft"] == pytest.approx(1 / (1 + 3 - 1))
    assert r["skills.precision"] == 1.0 and r["skills.recall"] == pytest.approx(1 / 3)


def test_soft_counts_a_paraphrase_exact_does_not(make_rec, encoder):
    ref = ["raise an arm", "sprint"]
    pred = ["lift an arm", "sprint", "wave"]
    v = encoder.encode(["raise an arm", "lift an arm", "wave", "sprint"])
    assert float(v[0] @ v[1]) >= SOFT_THRESHOLD
    assert float(v[2] @ v[0]) < SOFT_THRESHOLD and float(v[2] @ v[3]) < SOFT_THRESHOLD
    r = score_task("skills", [out(pred)], [make_rec(skills=ref)], encoder=encoder)[0]
    assert (r["skills.precision"], r["skills.recall"], r["skills.jaccard"]) == pytest.approx((1 / 3, 1 / 2, 1 / 4))
    # soft: M = 2 -> P 2/3, R 2/2, J 2/(3+2-2)
    assert (r["skills.precision_soft"], r["skills.recall_soft"], r["skills.jaccard_soft"]) == pytest.approx(
        (2 / 3, 1.0, 2 / 3)
    )
    # R_skill: "raise an arm" -> best is "lift an arm"; "sprint" -> itself (1)
    assert r["skills.r_skill"] == pytest.approx((float(v[0] @ v[1]) + 1.0) / 2, abs=1e-5)


def test_soft_is_never_below_exact(make_rec):
    pool = ["walk", "run", "jump", "Walk ", "sit down", "stand up", "kick the door"]
    outs, recs = [], []
    for p, r in itertools.product(itertools.combinations(pool, 2), itertools.combinations(pool[:5], 2)):
        outs.append(out(p))
        recs.append(make_rec(skills=list(dict.fromkeys(s.strip().lower() for s in r))))
    for row in score_task("skills", outs, recs):
        for k in ("jaccard", "precision", "recall"):
            assert row[f"skills.{k}_soft"] >= row[f"skills.{k}"]


def test_unicode_skills(make_rec):
    r = score_task("skills", [out(["Tanzen", "踊る", "sauter à la corde"])], [make_rec(skills=["踊る", "tanzen"])])[0]
    assert (r["skills.precision"], r["skills.recall"], r["skills.jaccard"]) == pytest.approx((2 / 3, 1.0, 2 / 3))


def test_max_matching_needs_augmenting_paths():
    # greedy row-by-row would pair row 0 with column 0 and leave row 1 alone
    assert max_matching(np.array([[1, 1], [1, 0]], dtype=bool)) == 2
    assert max_matching(np.array([[1, 1, 1], [0, 0, 0]], dtype=bool)) == 1
    assert max_matching(np.zeros((0, 3), dtype=bool)) == 0
    eye = np.eye(4, dtype=bool)[::-1]
    assert max_matching(eye) == 4
