"""Fixtures of the construction tests: dialogues and a hand-written annotator.

Deterministic LLM answers come through the batch-file backend, the path a human annotator
takes: the pipeline exports its pending requests, :func:`answer_requests` writes the answers
a person wrote down (the ``ANSWERS`` tables of the tests) as a responses file, and the
pipeline imports it and goes on. No part of the pipeline is replaced.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from m2m_bench.construct.backends import BatchBackend, export_requests, import_responses, meta_path
from m2m_bench.construct.cache import CallCache
from m2m_bench.construct.config import ConstructConfig
from m2m_bench.construct.llm import LLM
from m2m_bench.construct.pipeline import Build, build

# An answer table maps (record id, stage) to a string (every sample, every attempt), a list
# over samples, or a list over samples of lists over attempts (the last one repeats).
Answers = Mapping[tuple[str, str], Any]


def pick(answers: Answers, record_id: str, stage: str, sample: int, attempt: int) -> str:
    entry = answers[(record_id, stage)]
    if isinstance(entry, list):
        entry = entry[min(sample, len(entry) - 1)]
    if isinstance(entry, list):
        entry = entry[min(attempt, len(entry) - 1)]
    return entry


def answer_requests(requests: Path, answers: Answers, out: Path, batch_api_format: bool = False) -> int:
    """Write answers for every request in ``requests`` (attempt = assistant turns so far)."""
    meta = {m["custom_id"]: m for m in map(json.loads, meta_path(requests).read_text().splitlines())}
    n = 0
    with open(out, "w", encoding="utf-8") as f:
        for line in requests.read_text().splitlines():
            req = json.loads(line)
            m = meta[req["custom_id"]]
            attempt = sum(1 for msg in req["body"]["messages"] if msg["role"] == "assistant")
            text = pick(answers, m["record_id"], m["stage"], m["sample"], attempt)
            if batch_api_format:
                body = {
                    "id": f"chatcmpl-{n}",
                    "object": "chat.completion",
                    "model": req["body"]["model"],
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
                }
                row = {"id": f"batch_req_{n}", "custom_id": req["custom_id"], "response": {"status_code": 200, "request_id": f"r{n}", "body": body}, "error": None}
            else:
                row = {"custom_id": req["custom_id"], "content": text}
            f.write(json.dumps(row) + "\n")
            n += 1
    return n


def build_with_annotator(
    config: ConstructConfig,
    cache: CallCache,
    answers: Answers,
    workdir: Path,
    *,
    resume: bool = True,
    max_rounds: int = 12,
    batch_api_format: bool = False,
) -> tuple[Build, int]:
    """Run the pipeline, answering its batch requests, until nothing is pending.

    Returns the final build and the number of answer rounds it took.
    """
    for rounds in range(max_rounds):
        b = build(config, LLM(BatchBackend("annotator"), cache), resume=resume, progress=False)
        if not b.blocked:
            return b, rounds
        req = workdir / f"requests-{rounds}.jsonl"
        ans = workdir / f"answers-{rounds}.jsonl"
        assert export_requests(cache, sorted(b.llm.pending), req) > 0
        answer_requests(req, answers, ans, batch_api_format=batch_api_format)
        report = import_responses(cache, ans)
        assert not report.errors
    raise AssertionError(f"still pending after {max_rounds} rounds")


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def cache(tmp_path):
    with CallCache(tmp_path / "calls.sqlite") as c:
        yield c


DIALOGUES = [
    {"id": "d1", "conversation": "Ana: The kettle is boiling over and the towel next to it is smoking.\nBen: My hands are full, grab the towel!", "license": "CC0-1.0"},
    {"id": "d2", "conversation": "Kim: The window is stuck and it's getting hot in here.", "license": "CC0-1.0"},
    {"id": "d3", "conversation": "Mia: The ball rolled under the car.\nLeo: Can you reach it with the broom?", "license": "CC0-1.0",
     "split": "test", "action": "a person kneels and sweeps the ball out from under the car with a broom.", "skills": ["kneel", "sweep with a broom"]},
    {"id": "d4", "conversation": "Sam: Hold the ladder while I climb to the roof.", "license": "CC0-1.0"},
]  # fmt: skip

ANSWERS = {
    # d1: every stage works, some samples only after a retry, some never.
    ("d1", "entities"): [
        '{"entities": [{"text": "Ana", "type": "person"}, {"text": "kettle", "type": "object"}, {"text": "towel", "type": "object"}]}',
        ['{"entities": [{"text": "stove", "type": "object"}]}',  # hallucinated -> retried
         '{"entities": [{"text": "Ana", "type": "person"}, {"text": "the kettle", "type": "object"}, {"text": "towel", "type": "hazard"}, {"text": "Ben", "type": "person"}]}'],
        '```json\n{"entities": [{"text": "Kettle", "type": "object"}, {"text": "towel", "type": "object"}]}\n```',
    ],
    ("d1", "explicit"): [
        '{"relations": [{"head": "towel", "relation": "next to", "tail": "kettle"}]}',
        ["not json at all",
         '{"relations": [{"head": "the towel", "relation": "Next_to", "tail": "kettle"}, {"head": "Ana", "relation": "should grab", "tail": "towel"}]}'],
        'Here: {"relations": [{"head": "towel", "relation": "next to", "tail": "kettle"}]}',
    ],
    ("d1", "implicit"): [
        '{"relations": [{"head": "Ana", "relation": "must grab", "tail": "towel", "likelihood": 0.8}, {"head": "kettle", "relation": "burns", "tail": "Ana", "likelihood": 0.3}]}',
        '{"relations": [{"head": "Ana", "relation": "must grab", "tail": "towel", "likelihood": 0.6}, {"head": "towel", "relation": "next to", "tail": "kettle", "likelihood": 0.9}]}',
        '{"relations": [{"head": "Ana", "relation": "turns off", "tail": "stove", "likelihood": 0.9}]}',  # never usable
    ],
    ("d1", "discriminate"): [
        '{"scores": [{"id": 1, "score": 0.9}, {"id": 2, "score": 0.5}]}',
        '{"scores": [{"id": 2, "score": 0.6}, {"id": 1, "score": 0.7}]}',
    ],
    ("d1", "summarize"): [[
        '{"action": "a person grabs the towel"}',  # skills missing -> retried
        '{"action": "a person grabs the smoking towel and pulls it off the stove.", "skills": ["  Grab the Towel. ", "grab the towel", "Step Back"]}',
    ]],
    # d2: the model never answers in JSON -> dropped at entities, run goes on.
    ("d2", "entities"): "I am sorry, I cannot help with that.",
    # d3: has its own action and skills; explicit never has all fields -> kept, unannotated.
    ("d3", "entities"): '{"entities": [{"text": "Mia", "type": "person"}, {"text": "ball", "type": "object"}, {"text": "car", "type": "vehicle"}, {"text": "broom", "type": "object"}]}',
    ("d3", "explicit"): '{"relations": [{"head": "ball", "relation": "under"}]}',
    # d4: each sample names a different entity -> no majority -> dropped.
    ("d4", "entities"): [
        '{"entities": [{"text": "Sam", "type": "person"}]}',
        '{"entities": [{"text": "ladder", "type": "object"}]}',
        '{"entities": [{"text": "roof", "type": "place"}]}',
    ],
}  # fmt: skip

D1_ERA = {
    "entities": [
        {"text": "Ana", "type": "person", "votes": 2},
        {"text": "kettle", "type": "object", "votes": 3},
        {"text": "towel", "type": "object", "votes": 3},
    ],
    "explicit": [{"head": "towel", "relation": "next to", "tail": "kettle", "votes": 3}],
    # must grab: L = (0.8 + 0.6 + 0)/3, V = (0.9 + 0.7)/2 = 0.8 >= 0.6; burns: V = 0.55 < 0.6
    "implicit": [{"head": "Ana", "relation": "must grab", "tail": "towel", "score": 0.8}],
    "threshold": 0.6,
}


def make_config(path, **kw) -> ConstructConfig:
    """The test build's settings: 3 samples, 2 answers per sample, v_th 0.6, 2 scoring samples."""
    base = dict(inputs=[f"jsonl:{path}"], samples=3, max_attempts=2, threshold=0.6, overrides={"discriminate": {"samples": 2}})
    base.update(kw)
    return ConstructConfig(**base)


@pytest.fixture
def built(tmp_path, cache):
    """The four dialogues built with the hand-written answers and written as version 0.1.0."""
    from m2m_bench.construct.output import finalize

    src = write_jsonl(tmp_path / "dialogues.jsonl", DIALOGUES)
    config = make_config(src)
    b, rounds = build_with_annotator(config, cache, ANSWERS, tmp_path)
    written = finalize(b, root=tmp_path / "datasets", version="0.1.0")
    return {"src": src, "config": config, "build": b, "rounds": rounds, "written": written, "tmp": tmp_path}
