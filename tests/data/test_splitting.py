"""Family-level splitting: whole families (and near-duplicate-linked families) per split."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from m2m_bench.data.splitting import assign_splits, family_groups


def test_every_family_lands_in_one_split_with_target_ratios():
    families = [f"fam{i % 50}" for i in range(500)]  # 50 families of 10
    splits = assign_splits(families)
    by_family: dict[str, set] = {}
    for f, s in zip(families, splits, strict=True):
        by_family.setdefault(f, set()).add(s)
    assert all(len(v) == 1 for v in by_family.values())
    assert Counter(splits) == {"train": 400, "validation": 50, "test": 50}


def test_assignment_is_deterministic_and_salted():
    families = [f"f{i}" for i in range(40)]
    assert assign_splits(families) == assign_splits(list(families))
    assert assign_splits(families) != assign_splits(families, salt="other")


def test_near_duplicates_link_families():
    emb = np.array([[1, 0], [1, 0], [0, 1], [0.6, 0.8]], dtype=np.float32)
    groups = family_groups(["a", "b", "c", "d"], emb, link_cosine=0.95)
    assert groups == {"a": "a", "b": "a", "c": "c", "d": "d"}
    groups = family_groups(["a", "b", "c", "d"], emb, link_cosine=0.75)  # c-d 0.8, a-d 0.6
    assert groups == {"a": "a", "b": "a", "c": "c", "d": "c"}


def test_linked_families_share_a_split():
    families = ["x", "y"] + [f"f{i}" for i in range(18)]
    emb = np.eye(20, dtype=np.float32)
    emb[1] = emb[0]  # a record of family y duplicates one of family x
    splits = assign_splits(families, emb=emb)
    assert splits[0] == splits[1]


def test_pinned_records_pin_their_group():
    families = ["a", "a", "b", "c"]
    splits = assign_splits(families, pinned={0: "test"})
    assert splits[:2] == ["test", "test"]
    with pytest.raises(ValueError, match="pinned to both"):
        assign_splits(families, pinned={0: "test", 1: "train"})


def test_bad_ratios():
    with pytest.raises(ValueError, match="sum"):
        assign_splits(["a"], ratios=(0.5, 0.5, 0.5))
