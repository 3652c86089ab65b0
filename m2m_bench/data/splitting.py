"""Splitting records into train / validation / test by scenario family.

A *group* is the unit of assignment: a family, merged with every family that holds a
near-duplicate (embedding cosine ``>= link_cosine``) of one of its records, transitively
(union-find). Whole groups go to one split, so no near-duplicate pair crosses splits.

Assignment is deterministic: groups are visited in order of
``sha256(salt + ":" + smallest family name)`` and each goes to the split whose record count
is furthest below its target ``ratio * total`` (ties: train, validation, test). Records
that already carry a split (an earlier release fixed it) pin their whole group to it.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np

SPLITS = ("train", "validation", "test")


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def family_groups(
    families: Sequence[str], emb: np.ndarray | None = None, link_cosine: float = 0.9
) -> dict[str, str]:
    """family -> group representative (the smallest family name of its group)."""
    from .quality import near_duplicates

    uf = _UnionFind()
    for f in families:
        uf.find(f)
    if emb is not None and len(emb):
        for i, j, _ in near_duplicates(emb, link_cosine):
            uf.union(families[i], families[j])
    return {f: uf.find(f) for f in families}


def assign_splits(
    families: Sequence[str],
    *,
    emb: np.ndarray | None = None,
    pinned: Mapping[int, str] | None = None,
    ratios: Sequence[float] = (0.8, 0.1, 0.1),
    link_cosine: float = 0.9,
    salt: str = "m2m",
) -> list[str]:
    """The split of each record, given its family (and optionally its embedding).

    ``pinned`` maps record index -> split for records whose split is fixed.
    """
    if abs(sum(ratios) - 1) > 1e-9 or len(ratios) != len(SPLITS):
        raise ValueError(f"ratios must be three numbers summing to 1, got {ratios}")
    group_of = family_groups(families, emb, link_cosine)
    members: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(families):
        members[group_of[f]].append(i)
    total = len(families)
    target = {s: r * total for s, r in zip(SPLITS, ratios, strict=True)}
    count = dict.fromkeys(SPLITS, 0)
    out: list[str | None] = [None] * total

    pinned = pinned or {}
    group_pin: dict[str, str] = {}
    for i, s in pinned.items():
        g = group_of[families[i]]
        if group_pin.setdefault(g, s) != s:
            raise ValueError(f"group {g!r} is pinned to both {group_pin[g]!r} and {s!r}")
    for g, s in sorted(group_pin.items()):
        for i in members[g]:
            out[i] = s
        count[s] += len(members[g])

    def key(g: str) -> str:
        return hashlib.sha256(f"{salt}:{g}".encode()).hexdigest()

    for g in sorted((g for g in members if g not in group_pin), key=key):
        s = max(SPLITS, key=lambda s: (target[s] - count[s], -SPLITS.index(s)))
        for i in members[g]:
            out[i] = s
        count[s] += len(members[g])
    return [s for s in out if s is not None]
