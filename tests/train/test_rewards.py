"""Rewards on hand-made responses: valid, malformed, empty, hostile XML, and not text at all."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from m2m_bench.encoders import get_encoder
from m2m_bench.metrics import score_tasks
from m2m_bench.response import render_response
from train.rewards import (
    RewardWeights,
    TripartiteReward,
    completion_text,
    gsm8k_correctness,
    gsm8k_exact_match,
)

ACTION = "a person lunges to the stove, switches off the burner and swats the smouldering towel into the sink."
SKILLS = ["lunge forward", "turn a knob", "swat an object"]

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10))
    + "]><answer><action>&lol9;</action><skills><skill>&lol9;</skill></skills></answer>"
)
EXTERNAL_ENTITY = (
    '<!DOCTYPE a [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<answer><action>&xxe;</action><skills><skill>read</skill></skills></answer>"
)

CASES = {
    "valid": render_response(ACTION, SKILLS, think="the towel is burning"),
    "valid_other": render_response("a person waves at the bus driver.", ["wave a hand"]),
    "malformed": "<think>hmm<answer><action>a person lunges to the stove<skills>lunge forward, turn a knob",
    "prose": "The person should probably turn off the stove.",
    "empty": "",
    "billion_laughs": BILLION_LAUGHS,
    "external_entity": EXTERNAL_ENTITY,
    "deep": "<a>" * 5000 + "</a>" * 5000,
    "huge": "<answer><action>" + "run " * 60_000 + "</action></answer>",
    "binary": "\x00\x01<answer>\ud800</answer>",
}


class CountingEncoder:
    """The real default encoder, counting its calls."""

    def __init__(self):
        self.inner = get_encoder()
        self.name = self.inner.name
        self.calls = 0

    def encode(self, texts, batch_size=64):
        self.calls += 1
        return self.inner.encode(texts, batch_size=batch_size)


@pytest.fixture(scope="module")
def encoder():
    return CountingEncoder()


@pytest.fixture(scope="module")
def scored(encoder):
    reward = TripartiteReward(RewardWeights(0.5, 0.3, 0.2), encoder=encoder)
    names = list(CASES)
    completions = [[{"role": "assistant", "content": CASES[k]}] for k in names]
    n = len(names)
    before = encoder.calls
    t0 = time.perf_counter()
    comps = reward.components(completions, [ACTION] * n, [SKILLS] * n, [f"r{i}" for i in range(n)])
    elapsed = time.perf_counter() - t0
    calls = encoder.calls - before
    total = reward(None, completions, [ACTION] * n, [SKILLS] * n, [f"r{i}" for i in range(n)])
    return reward, {k: {c: comps[c][i] for c in comps} | {"R": total[i]} for i, k in enumerate(names)}, calls, elapsed


def test_one_encoder_call_per_batch_and_fast(scored, encoder):
    reward, _, calls, elapsed = scored
    assert calls == 1
    assert elapsed < 30  # hostile inputs do not blow up parsing (billion laughs, 5000-deep nesting, 240k chars)
    # the three TRL reward functions share the batch's computation
    funcs = reward.reward_funcs()
    assert [f.__name__ for f in funcs] == ["r_action", "r_skill", "r_format"]
    comp = [[{"role": "assistant", "content": CASES["malformed"]}], [{"role": "assistant", "content": "x"}]]
    before = encoder.calls
    vals = [f(None, comp, [ACTION] * 2, [SKILLS] * 2) for f in funcs]
    assert encoder.calls - before == 1
    assert all(len(v) == 2 for v in vals)


def test_valid_reference_answer_scores_one(scored):
    v = scored[1]["valid"]
    assert v["r_action"] == pytest.approx(1.0) and v["r_skill"] == pytest.approx(1.0)
    assert v["r_format"] == 1.0 and v["R"] == pytest.approx(1.0)


def test_valid_but_wrong_answer_keeps_format_and_loses_content(scored):
    v = scored[1]["valid_other"]
    assert v["r_format"] < 1.0  # one skill where the reference tree has three
    assert v["r_format"] > 0.5  # but it is valid XML
    assert v["r_action"] < 0.6 and v["r_skill"] < 0.8
    assert v["R"] < scored[1]["valid"]["R"]


def test_malformed_is_recovered_but_not_valid(scored):
    v = scored[1]["malformed"]
    assert 0.0 < v["r_format"] < 0.5  # no validity half, partial tree similarity
    assert v["r_action"] > 0.5  # the recovered action is close to the reference
    assert v["r_skill"] > 0.5  # comma-separated skills are recovered


@pytest.mark.parametrize("case", ["empty", "prose", "billion_laughs", "external_entity", "deep", "binary"])
def test_broken_and_hostile_outputs_get_low_finite_rewards(scored, case):
    v = scored[1][case]
    assert all(math.isfinite(x) for x in v.values())
    assert v["r_format"] <= 0.5 and v["R"] <= 0.5
    assert "lol" * 100 not in str(v)


def test_no_entity_is_expanded_or_fetched(scored):
    for case in ("billion_laughs", "external_entity"):
        v = scored[1][case]
        # the action stays the literal "&lol9;" / "&xxe;" (unrelated to the reference), not
        # "lollol..." or a file's content
        assert v["r_action"] < 0.3


def test_empty_output_is_zero(scored):
    v = scored[1]["empty"]
    assert v == {"r_action": 0.0, "r_skill": 0.0, "r_format": 0.0, "R": 0.0}


def test_rewards_equal_the_harness_metrics(scored, encoder):
    """Each component is the leaderboard metric of the same name, value for value."""
    _, by_case, _, _ = scored
    names = [k for k in CASES if k != "binary"]  # lone surrogates: see test_non_text_completions_are_safe
    recs = [{"id": f"r{i}", "action": ACTION, "skills": SKILLS} for i in range(len(names))]
    rows = score_tasks(["action", "skills", "format"], [CASES[k] for k in names], recs, encoder=encoder)
    for i, k in enumerate(names):
        assert by_case[k]["r_action"] == pytest.approx(rows["action"][i]["action.ss"], abs=1e-6)
        assert by_case[k]["r_skill"] == pytest.approx(rows["skills"][i]["skills.r_skill"], abs=1e-6)
        assert by_case[k]["r_format"] == pytest.approx(rows["format"][i]["format.r_format"], abs=1e-6)


def test_total_is_the_weighted_sum(scored):
    for v in scored[1].values():
        assert v["R"] == pytest.approx(0.5 * v["r_action"] + 0.3 * v["r_skill"] + 0.2 * v["r_format"])


def test_non_text_completions_are_safe(encoder):
    reward = TripartiteReward(encoder=encoder)
    odd = [None, 42, {"role": "assistant", "content": None}, [{"role": "user", "content": "hi"}], b"<answer/>"]
    out = reward(None, odd, [ACTION] * 5, [SKILLS] * 5)
    assert out == [0.0] * 5
    assert completion_text([{"role": "assistant", "content": [{"type": "text", "text": "ab"}]}]) == "ab"


def test_reference_without_skills_is_safe(encoder):
    reward = TripartiteReward(encoder=encoder)
    comps = reward.components([CASES["valid"]], [ACTION], [[]])
    assert np.isfinite([comps[k][0] for k in comps]).all()
    assert comps["r_skill"] == [0.0]


@pytest.mark.parametrize("w", [(0.5, 0.5, 0.5), (1.2, -0.1, -0.1), (float("nan"), 0.5, 0.5)])
def test_weights_must_be_a_convex_combination(w):
    with pytest.raises(ValueError, match="reward weights"):
        RewardWeights(*w)


def test_mismatched_lengths_are_an_error(encoder):
    with pytest.raises(ValueError, match="2 completions"):
        TripartiteReward(encoder=encoder).components(["a", "b"], [ACTION], [SKILLS])


@pytest.mark.parametrize(
    ("text", "strict", "flexible"),
    [
        ("so 3 + 4 = 7\n#### 72", 1.0, 1.0),
        ("#### 72.", 1.0, 1.0),
        ("The answer is $72", 0.0, 1.0),
        ("first #### 72 then I say 9", 1.0, 0.0),
        ("no numbers here", 0.0, 0.0),
        ("#### 1,072", 0.0, 0.0),
        (None, 0.0, 0.0),
    ],
)
def test_gsm8k_exact_match_follows_the_harness_task(text, strict, flexible):
    ref = "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n#### 72"
    assert gsm8k_exact_match([text], [ref], "strict-match") == [strict]
    assert gsm8k_exact_match([text], [ref], "flexible-extract") == [flexible]
    with pytest.raises(ValueError, match="unknown GSM8K filter"):
        gsm8k_exact_match([text], [ref], "loose")


def test_gsm8k_correctness():
    ref = "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n#### 72"
    comps = ["48 + 24 = 72\n#### 72", "I think 71", "", [{"role": "assistant", "content": "so 72"}], None, "7" * 30000]
    assert gsm8k_correctness(None, comps, [ref] * len(comps)) == [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]
