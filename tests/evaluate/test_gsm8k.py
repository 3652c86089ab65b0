"""GSM8K through lm-eval on the shipped copy: wiring checked with models whose answers are
known (the reference solution, a fixed wrong number), and the real SmolLM2 once."""

import re

import pytest

from m2m_bench.evaluate import main
from m2m_bench.models import Model, register


@pytest.fixture(scope="module")
def answers():
    from m2m_bench._records import load_records

    test, _ = load_records("gsm8k", None, "test")
    return {r["question"]: r["answer"] for r in test}


class ReferenceSolver(Model):
    """Answers a GSM8K question with its reference solution (``... #### N``) or, with
    ``wrong=True``, with a fixed sentence ending in a wrong number."""

    kind = "test"

    def __init__(self, table, wrong: bool):
        self.table, self.wrong = table, wrong
        self.spec = f"gsm8k-ref:{'wrong' if wrong else 'right'}"
        self.name = "reference-wrong" if wrong else "reference"
        self.revision = "1"
        self.prompts = []

    def generate(self, batch, **gen):
        out = []
        for msgs in batch:
            self.prompts.append(msgs)
            q = re.match(r"Question: (.*)\nAnswer:", msgs[-1]["content"], re.S).group(1)
            out.append("It is 987654321 apples." if self.wrong else self.table[q])
        return out


@pytest.fixture(scope="module")
def solver_spec(answers):
    made = {}

    @register("gsm8k-ref", "test solver")
    def load(rest, **kw):
        """test solver"""
        made[rest] = ReferenceSolver(answers, wrong=rest == "wrong")
        return made[rest]

    return made


def test_gsm8k_scores_reference_answers_right_and_a_wrong_number_wrong(solver_spec, run_args, read_results):
    assert main([*run_args(), "--model", "gsm8k-ref:right", "--tasks", "gsm8k", "--limit", "3"]) == 0
    res = read_results()
    assert res["summary"]["gsm8k"] == {"strict-match": 1.0, "flexible-extract": 1.0}
    g = res["gsm8k"]
    assert g["n"] == 3 and len(g["samples"]) == 3 and g["task"] == "m2m_gsm8k" and g["task_version"] == "3.0"
    assert all(s["strict-match"] == 1.0 and s["prediction"] == s["target"] for s in g["samples"])
    assert g["dataset"]["name"] == "gsm8k" and len(g["dataset"]["content_hash"]) == 64
    # 5-shot as a multi-turn chat: 5 question/answer pairs, then the question
    msgs = solver_spec["right"].prompts[0]
    assert [m["role"] for m in msgs] == ["user", "assistant"] * 5 + ["user"]
    assert all(m["content"].startswith("Question: ") for m in msgs if m["role"] == "user")
    assert all("####" in m["content"] for m in msgs if m["role"] == "assistant")

    assert main([*run_args(), "--model", "gsm8k-ref:wrong", "--tasks", "gsm8k", "--limit", "3"]) == 0
    res = read_results()
    assert res["summary"]["gsm8k"] == {"strict-match": 0.0, "flexible-extract": 0.0}
    assert all(s["flexible-extract.extracted"] == "987654321" for s in res["gsm8k"]["samples"])
    assert all(s["strict-match.extracted"] == "[invalid]" for s in res["gsm8k"]["samples"])


@pytest.mark.slow
def test_gsm8k_with_smollm2(run_args, read_results):
    argv = [*run_args(), "--model", "smollm2", "--tasks", "gsm8k", "--limit", "1", "--gsm8k-max-new-tokens", "24",
            "--device", "cpu", "--threads", "1"]
    assert main(argv) == 0
    res = read_results()
    s = res["gsm8k"]["samples"][0]
    assert set(res["summary"]["gsm8k"]) == {"strict-match", "flexible-extract"}
    assert s["prediction"] and s["strict-match"] in (0.0, 1.0) and s["flexible-extract"] in (0.0, 1.0)
    assert res["timings"]["generated"] == 1
    # the second run answers from the generation cache
    assert main(argv) == 0
    again = read_results()
    assert again["timings"]["cached"] == 1 and again["gsm8k"]["samples"][0]["prediction"] == s["prediction"]
