"""Known-answer tests of the dataset quality checks."""

from __future__ import annotations

import numpy as np
import pytest

from m2m_bench.data.quality import action_verb, latent_overlap, near_duplicates, quality_report


class BagOfWordsEncoder:
    """A real (if simple) deterministic encoder: unit-normalized word-count vectors."""

    name = "bag-of-words"

    def encode(self, texts):
        vocab = sorted({w for t in texts for w in t.lower().split()})
        index = {w: i for i, w in enumerate(vocab)}
        out = np.zeros((len(texts), max(len(vocab), 1)), dtype=np.float32)
        for r, t in enumerate(texts):
            for w in t.lower().split():
                out[r, index[w]] += 1
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_latent_overlap_known_answers():
    # content lemmas of the action: {drape, jacket, head, hurry, square}; in the text: jacket, head
    assert latent_overlap(
        "a person drapes a jacket over their head and hurries across the square.",
        "Take my jacket, put it over your head!",
    ) == pytest.approx(2 / 5)
    assert latent_overlap("a person jumps.", "Nothing in common here.") == 0.0
    assert latent_overlap("a person jumps.", "She jumped twice.") == 1.0  # lemmas match inflections
    assert latent_overlap("a person.", "anything") == 0.0  # no content lemma at all


def test_action_verb_skips_subject_and_adverbs():
    assert action_verb("a person quickly grabs the rail.") == "grab"
    assert action_verb("a person kneels beside the bed.") == "kneel"


def test_near_duplicates_threshold_and_order():
    v = np.array([[1, 0], [0.96, 0.28], [0, 1]], dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    assert [(i, j) for i, j, _ in near_duplicates(v, 0.95)] == [(0, 1)]
    assert near_duplicates(v, 0.999) == []
    assert [(i, j) for i, j, _ in near_duplicates(v, 0.2, block=1)] == [(0, 1), (1, 2)]


def test_report_flags_duplicates_openings_and_ngrams(record_factory):
    shared = "one two three four five six seven eight nine"
    train = [
        record_factory("a", conversation=f"Alpha bravo charlie {shared} delta"),
        record_factory("b", conversation=f"Alpha bravo charlie something else entirely {shared}"),
        record_factory("c", conversation="Completely different kettle smoke words"),
    ]
    test = [record_factory("d", conversation="completely   different KETTLE smoke words")]
    r = quality_report({"train": train, "test": test}, encoder=BagOfWordsEncoder())
    c = r["checks"]
    assert c["exact_duplicate_conversations"]["value"] == 1 and not c["exact_duplicate_conversations"]["pass"]
    assert c["near_duplicate_train_test_pairs"]["value"] == 1
    assert c["shared_opening_share"]["value"] == 1.0  # a,b share "alpha bravo charlie"; c,d share too
    assert c["repeated_8gram_share"]["value"] == pytest.approx(0.5)  # a and b
    assert r["repeated_action_share"] == 1.0  # the fixture action everywhere
    assert not r["passed"]


def test_report_passes_on_clean_records(record_factory):
    texts = [
        "Mina stares at the flooded cellar steps while the pump coughs and dies",
        "Two climbers argue about the rope at the foot of the frozen waterfall",
        "Grandpa insists the kite is stuck only because the wind changed direction",
        "A waiter balances plates while the toddler at table four starts to wobble",
    ]
    recs = [record_factory(f"r{i}", conversation=t, action=f"a person does thing {i}.") for i, t in enumerate(texts)]
    r = quality_report({"train": recs[:3], "test": recs[3:]}, encoder=BagOfWordsEncoder(), min_distinct_skills=3)
    assert r["passed"], r["checks"]
    assert r["distinct_skills"] == 3 and r["lengths"]["conversation_words"]["min"] == 12
