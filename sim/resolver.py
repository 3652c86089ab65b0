"""Skill resolver: a free-text skill phrase -> the nearest trained controller or reference clip.

Each known skill has a few descriptive phrases. The phrase to resolve and all descriptions are
embedded with the shared sentence encoder (``m2m_bench.encoders.get_encoder``, unit-norm rows),
and the score of a skill is the best cosine similarity with any of its descriptions, taken for
the whole phrase and, against the one-word descriptions only, for its head word (the first
word, normally the motion verb: "run" in "run to catch the bus", where the rest of the phrase
would otherwise dominate the embedding):

    score(skill | phrase) = max( max_{desc} <e(phrase), e(desc)>,  max_{one-word desc} <e(head), e(desc)> )

The best skill wins if its score reaches ``threshold``; otherwise the resolver answers that it
has no controller for that phrase. A winning skill is ``kind="controller"`` when a trained
controller file exists for it, else ``kind="clip"`` (only a kinematic reference is available).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_THRESHOLD = 0.55

#: skill -> descriptions; skill names are the shipped clip names.
CATALOG: dict[str, tuple[str, ...]] = {
    "walk": (
        "walk",
        "walk forward",
        "walk slowly",
        "stroll",
        "take a few steps",
        "walk over to it",
        "step forward",
        "go for a walk",
        "turn left",
    ),
    "run": (
        "run",
        "jog",
        "jog forward",
        "sprint",
        "run quickly",
        "dash forward",
        "run away",
        "hurry",
    ),
    "dance": ("dance", "dance to the music", "do a dance move", "groove", "sway to the rhythm"),
    "hop": ("hop", "jump", "hop on one foot", "jump up and down", "skip"),
    "cartwheel": ("cartwheel", "do a cartwheel", "turn a cartwheel", "gymnastics wheel sideways"),
    "backflip": ("backflip", "do a backflip", "back somersault", "flip backwards"),
}


def default_controllers(root: Path = REPO_ROOT) -> dict[str, Path]:
    """Controllers shipped in ``leaderboard/submissions/amp-SKILL/policy.pt`` that exist."""
    found = {}
    for skill in CATALOG:
        p = root / "leaderboard" / "submissions" / f"amp-{skill}" / "policy.pt"
        if p.is_file():
            found[skill] = p
    return found


@dataclass
class Resolution:
    phrase: str
    skill: str | None  # None: no controller or clip for this phrase
    kind: str  # "controller" | "clip" | "none"
    score: float
    matched: str | None  # the description that matched best
    controller: Path | None = None

    def to_json(self) -> dict:
        return {
            "phrase": self.phrase,
            "skill": self.skill,
            "kind": self.kind,
            "score": round(self.score, 4),
            "matched": self.matched,
            "controller": str(self.controller) if self.controller else None,
        }


class SkillResolver:
    def __init__(
        self,
        catalog: dict[str, tuple[str, ...]] | None = None,
        controllers: dict[str, Path] | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        encoder=None,
    ):
        if encoder is None:
            from m2m_bench.encoders import get_encoder

            encoder = get_encoder()
        self.encoder = encoder
        self.catalog = dict(catalog or CATALOG)
        self.controllers = dict(default_controllers() if controllers is None else controllers)
        self.threshold = threshold
        self._labels = [(s, d) for s, descs in self.catalog.items() for d in descs]
        self._emb = encoder.encode([d for _, d in self._labels])
        self._single = np.array([len(d.split()) == 1 for _, d in self._labels])

    def scores(self, phrase: str) -> dict[str, tuple[float, str]]:
        words = phrase.lower().split()
        sims = self._emb @ self.encoder.encode([phrase])[0]
        if len(words) > 1:  # head word against one-word descriptions only
            head = self._emb @ self.encoder.encode(words[:1])[0]
            sims = np.maximum(sims, np.where(self._single, head, -1.0))
        best: dict[str, tuple[float, str]] = {}
        for (skill, desc), s in zip(self._labels, sims, strict=True):
            if skill not in best or s > best[skill][0]:
                best[skill] = (float(s), desc)
        return best

    def resolve(self, phrase: str) -> Resolution:
        phrase = str(phrase).strip()
        if not phrase:
            return Resolution(phrase, None, "none", 0.0, None)
        best = self.scores(phrase)
        skill, (score, desc) = max(best.items(), key=lambda kv: kv[1][0])
        if score < self.threshold or not np.isfinite(score):
            return Resolution(phrase, None, "none", score, desc)
        ctrl = self.controllers.get(skill)
        return Resolution(phrase, skill, "controller" if ctrl else "clip", score, desc, ctrl)

    def resolve_many(self, phrases: list[str]) -> list[Resolution]:
        return [self.resolve(p) for p in phrases]
