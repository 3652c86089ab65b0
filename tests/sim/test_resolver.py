"""Skill resolver with the real shared sentence encoder."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.resolver import SkillResolver


@pytest.fixture(scope="module")
def resolver():
    return SkillResolver(controllers={"walk": Path("walk.pt"), "run": Path("run.pt")})


@pytest.mark.parametrize(
    ("phrase", "skill", "kind"),
    [
        ("jog forward", "run", "controller"),
        ("sprint to the bus", "run", "controller"),
        ("stroll around", "walk", "controller"),
        ("walk to the door", "walk", "controller"),
        ("walk over to the bus stop", "walk", "controller"),
        ("run to catch the bus", "run", "controller"),
        ("do a cartwheel", "cartwheel", "clip"),
        ("flip over backwards", "backflip", "clip"),
    ],
)
def test_resolves_known_skills(resolver, phrase, skill, kind):
    r = resolver.resolve(phrase)
    assert (r.skill, r.kind) == (skill, kind), r
    assert r.score >= resolver.threshold
    assert (r.controller is not None) == (kind == "controller")


@pytest.mark.parametrize(
    "phrase",
    [
        "open the door",
        "pick up the cup",
        "wave hello",
        "grab the handle",
        "sit down",
        "turn a knob",
        "push the cart",
        "",
    ],
)
def test_refuses_unknown_skills(resolver, phrase):
    r = resolver.resolve(phrase)
    assert r.skill is None and r.kind == "none" and r.controller is None
    assert r.score < resolver.threshold


def test_threshold_is_respected(resolver):
    strict = SkillResolver(controllers={}, threshold=1.01, encoder=resolver.encoder)
    assert strict.resolve("walk").kind == "none"
    lax = SkillResolver(controllers={}, threshold=-1.0, encoder=resolver.encoder)
    assert lax.resolve("open the door").kind == "clip"
