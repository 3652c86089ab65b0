"""The LLM judge: rubric and prompts, reply parsing, retries, fallbacks, failures, pairwise order.

Protocol behaviour is tested against a real HTTP server speaking the OpenAI protocol with
scripted replies (a real model cannot be made to fail on demand); the wiring against a real
model is the end-to-end test at the bottom (``transformers serve`` with SmolLM2-135M).
"""

from __future__ import annotations

import json
import re

import pytest

from m2m_bench.errors import M2MError
from m2m_bench.metrics import JudgeConfig, aggregate, score_task
from m2m_bench.metrics.judge import (
    MAX_CONVERSATION_CHARS,
    RUBRIC_V1,
    RUBRICS,
    VerdictError,
    candidate_first,
    extract_json_object,
    pairwise_messages,
    parse_pairwise,
    parse_pointwise,
    pointwise_messages,
    pointwise_schema,
    win_value,
)
from m2m_bench.response import parse_response, render_response

GOOD = json.dumps({"rationale": "fits", "rationality": 4, "relevance": 5})


def cfg(url: str, **kw) -> JudgeConfig:
    return JudgeConfig(model="judge", base_url=url, max_retries=kw.pop("max_retries", 2), backoff_s=0.01, **kw)


def cols(rows, name):
    return [next(v for k, v in r.items() if k.startswith(name + "[")) for r in rows]


# ---------------------------------------------------------------- rubric and prompts


def test_rubric_v1_is_registered_and_prompts_hold_the_inputs():
    assert RUBRICS["rubric-v1"] is RUBRIC_V1
    ans = parse_response(render_response("grabs the laptop", ["snatch an object", "lift an object"]))
    msgs = pointwise_messages(RUBRIC_V1, "Coffee spills toward the laptop!", ans)
    assert msgs[0]["role"] == "system" and "rationality" in msgs[0]["content"] and "1 = " in msgs[0]["content"]
    assert "Coffee spills toward the laptop!" in msgs[1]["content"]
    assert "ACTION: grabs the laptop" in msgs[1]["content"]
    assert "SKILLS: snatch an object; lift an object" in msgs[1]["content"]
    empty = pointwise_messages(RUBRIC_V1, "x" * (MAX_CONVERSATION_CHARS + 50), parse_response("junk"))
    assert "ACTION: (none)" in empty[1]["content"] and "SKILLS: (none)" in empty[1]["content"]
    assert "x" * (MAX_CONVERSATION_CHARS + 1) not in empty[1]["content"] and "[...]" in empty[1]["content"]
    a, b = parse_response(render_response("A-act", ["a"])), parse_response(render_response("B-act", ["b"]))
    pm = pairwise_messages(RUBRIC_V1, "scene", a, b)[1]["content"]
    assert pm.index("ANSWER A:\nACTION: A-act") < pm.index("ANSWER B:\nACTION: B-act")


def test_schema_bounds_follow_the_rubric():
    s = pointwise_schema(RUBRIC_V1)
    assert s["properties"]["rationality"] == {"type": "integer", "minimum": 1, "maximum": 5}
    assert s["required"] == ["rationale", "rationality", "relevance"]


def test_config_identity_and_checks():
    assert JudgeConfig(model="gpt-4o").identity == "gpt-4o|rubric-v1"
    assert JudgeConfig(model="m", pairwise=True, opponent="hf:base").identity == "m|rubric-v1|pairwise-vs-hf:base"
    with pytest.raises(M2MError, match="unknown judge rubric"):
        JudgeConfig(model="m", rubric_version="rubric-v0")
    with pytest.raises(M2MError, match="structured"):
        JudgeConfig(model="m", structured="xml")
    with pytest.raises(M2MError, match="model"):
        JudgeConfig(model="")


# ---------------------------------------------------------------- reply parsing


@pytest.mark.parametrize(
    "reply",
    [
        GOOD,
        f"```json\n{GOOD}\n```",
        f"Sure, here is my verdict: {GOOD} Hope it helps {{not json}}",
        '{"rationale": "ok", "rationality": "4", "relevance": 5.0}',
    ],
)
def test_parse_pointwise_accepts(reply):
    assert parse_pointwise(reply) == {"rationality": 4, "relevance": 5}


@pytest.mark.parametrize(
    "reply, msg",
    [
        ("", "empty reply"),
        ("I think it is a 4.", "no JSON object"),
        ('{"rationality": 6, "relevance": 3}', "rationality"),
        ('{"rationality": 0, "relevance": 3}', "rationality"),
        ('{"rationality": 4.5, "relevance": 3}', "rationality"),
        ('{"rationality": true, "relevance": 3}', "rationality"),
        ('{"rationality": 4}', "missing"),
        ("[4, 5]", "no JSON object"),
    ],
)
def test_parse_pointwise_rejects(reply, msg):
    with pytest.raises(VerdictError, match=msg):
        parse_pointwise(reply)


def test_parse_pairwise():
    assert parse_pairwise('{"rationality": "A", "relevance": "tie"}') == {"rationality": "A", "relevance": "tie"}
    assert parse_pairwise('{"rationality": "answer b", "relevance": " Tie "}') == {"rationality": "B", "relevance": "tie"}
    with pytest.raises(VerdictError, match="relevance"):
        parse_pairwise('{"rationality": "A", "relevance": "C"}')


def test_extract_json_object_picks_the_first_object():
    assert extract_json_object('x {"a": {"b": 1}} y {"c": 2}') == {"a": {"b": 1}}


def test_win_values_and_order_are_deterministic_and_balanced():
    assert [win_value(c, True) for c in ("A", "B", "tie")] == [1.0, 0.0, 0.5]
    assert [win_value(c, False) for c in ("A", "B", "tie")] == [0.0, 1.0, 0.5]
    firsts = [candidate_first(0, f"id{i}") for i in range(400)]
    assert firsts == [candidate_first(0, f"id{i}") for i in range(400)]
    assert 150 < sum(firsts) < 250
    assert firsts != [candidate_first(1, f"id{i}") for i in range(400)]


# ---------------------------------------------------------------- protocol (scripted server)


def test_pointwise_scores_and_schema_request(scripted_server, make_rec):
    srv = scripted_server(lambda body: (200, GOOD))
    rows = score_task("judge", [render_response("walk", ["walk"])] * 2, [make_rec()] * 2, judge=cfg(srv.url), progress=False)
    assert cols(rows, "judge.rationality") == [4.0, 4.0]
    assert cols(rows, "judge.relevance") == [5.0, 5.0]
    assert cols(rows, "judge.failures") == [0.0, 0.0]
    rf = srv.requests[0]["response_format"]
    assert rf["type"] == "json_schema" and rf["json_schema"]["schema"]["required"] == ["rationale", "rationality", "relevance"]
    assert srv.requests[0]["temperature"] == 0.0 and srv.requests[0]["model"] == "judge"


def test_falls_back_from_json_schema_to_json_object_to_plain(scripted_server, make_rec):
    def respond(body):
        kind = body.get("response_format", {}).get("type")
        if kind in ("json_schema", "json_object"):
            return 400, f"response_format {kind} is not supported"
        return 200, "Verdict: " + GOOD

    srv = scripted_server(respond)
    rows = score_task("judge", [render_response("walk", ["walk"])] * 3, [make_rec()] * 3,
                      judge=cfg(srv.url, concurrency=1), progress=False)
    assert cols(rows, "judge.rationality") == [4.0] * 3
    kinds = [r.get("response_format", {}).get("type") for r in srv.requests]
    assert kinds == ["json_schema", "json_object", None, None, None]  # the judge remembers the mode


def test_unparseable_reply_is_retried_then_counted(scripted_server, make_rec):
    replies = iter(["no json here", GOOD])
    srv = scripted_server(lambda body: (200, next(replies, "still not json")))
    c = cfg(srv.url, max_retries=1, concurrency=1)
    rows = score_task("judge", [render_response("walk", ["walk"])] * 2, [make_rec()] * 2, judge=c, progress=False)
    # item 0: garbage then GOOD (2 attempts); item 1: garbage twice -> failure
    assert cols(rows, "judge.rationality") == [4.0, None]
    assert cols(rows, "judge.failures") == [0.0, 1.0]
    assert len(srv.requests) == 4
    details: list[dict] = []
    replies = iter(["no json here", GOOD])
    score_task("judge", [render_response("walk", ["walk"])] * 2, [make_rec(rid="a"), make_rec(rid="b")],
               judge=c, progress=False, judge_details=details)  # fmt: skip
    assert [(d["id"], d["attempts"], d["rationale"]) for d in details] == [("a", 2, "fits"), ("b", 2, "")]
    assert details[0]["error"] is None and details[1]["error"].startswith("unparseable reply (no JSON object")
    table = aggregate("judge", rows)
    assert table["judge.failures[judge|rubric-v1]"] == 1.0
    assert table["judge.rationality[judge|rubric-v1]"] == 4.0


def test_server_errors_are_retried_with_backoff(scripted_server, make_rec):
    seen = []

    def respond(body):
        seen.append(1)
        return (503, "overloaded") if len(seen) < 3 else (200, GOOD)

    srv = scripted_server(respond)
    rows = score_task("judge", [render_response("walk", ["walk"])], [make_rec()], judge=cfg(srv.url, max_retries=3), progress=False)
    assert cols(rows, "judge.rationality") == [4.0] and len(srv.requests) == 3


def test_a_refused_request_fails_at_once(scripted_server, make_rec):
    srv = scripted_server(lambda body: (400, "prompt too long"))
    details: list[dict] = []
    rows = score_task("judge", [render_response("walk", ["walk"])], [make_rec()],
                      judge=cfg(srv.url, structured="none", max_retries=3), progress=False,
                      judge_details=details)  # fmt: skip
    assert cols(rows, "judge.failures") == [1.0] and len(srv.requests) == 1
    assert details[0]["error"] == "HTTP 400: prompt too long" and "response_format" not in srv.requests[0]


def test_out_of_range_scores_are_failures(scripted_server, make_rec):
    srv = scripted_server(lambda body: (200, '{"rationale": "x", "rationality": 9, "relevance": 2}'))
    rows = score_task("judge", [render_response("walk", ["walk"])], [make_rec()], judge=cfg(srv.url, max_retries=0), progress=False)
    assert cols(rows, "judge.rationality") == [None] and cols(rows, "judge.failures") == [1.0]


def test_fatal_errors_stop_the_run(scripted_server, make_rec):
    srv = scripted_server(lambda body: (401, "bad key"))
    with pytest.raises(M2MError, match="HTTP 401"):
        score_task("judge", [render_response("walk", ["walk"])], [make_rec()], judge=cfg(srv.url), progress=False)
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    with pytest.raises(M2MError, match="cannot reach"):
        score_task("judge", ["x"], [make_rec()], judge=cfg(f"http://127.0.0.1:{port}/v1"), progress=False)


def test_empty_answers_are_not_sent(scripted_server, make_rec):
    srv = scripted_server(lambda body: (200, GOOD))
    rows = score_task("judge", ["I cannot answer.", None], [make_rec()] * 2, judge=cfg(srv.url), progress=False)
    assert srv.requests == []
    assert cols(rows, "judge.rationality") == [1.0, 1.0] and cols(rows, "judge.failures") == [0.0, 0.0]


def _prefers_good(body):
    """A judge that ranks actions saying GOOD over OK over anything else, on both criteria."""
    user = body["messages"][1]["content"]
    a = re.search(r"ANSWER A:\nACTION: (.*)", user).group(1)
    b = re.search(r"ANSWER B:\nACTION: (.*)", user).group(1)
    rank = lambda s: 2 if "GOOD" in s else 1 if "OK" in s else 0  # noqa: E731
    choice = "tie" if rank(a) == rank(b) else ("A" if rank(a) > rank(b) else "B")
    return 200, json.dumps({"rationale": "r", "rationality": choice, "relevance": choice})


def test_pairwise_randomizes_order_and_maps_verdicts_back(scripted_server, make_rec):
    srv = scripted_server(_prefers_good)
    n = 40
    recs = [make_rec("OK walk", ["walk"], rid=f"id{i}") for i in range(n)]
    outs = [render_response("GOOD walk" if i % 2 == 0 else "bad walk", ["walk"]) for i in range(n)]
    c = cfg(srv.url, pairwise=True, seed=3)
    rows = score_task("judge", outs, recs, judge=c, progress=False)
    wins = cols(rows, "judge.rationality_win")
    assert wins == [1.0 if i % 2 == 0 else 0.0 for i in range(n)]  # the better answer wins, in either position
    assert cols(rows, "judge.relevance_win") == wins
    shown_first = ["ACTION: OK walk" not in r["messages"][1]["content"].split("ANSWER B:")[0] for r in srv.requests]
    assert 5 < sum(shown_first) < n - 5  # the scored output appears as A and as B
    firsts = {f"id{i}": candidate_first(3, f"id{i}") for i in range(n)}
    assert sorted(shown_first) == sorted(firsts.values())


def test_pairwise_against_another_model(scripted_server, make_rec):
    srv = scripted_server(_prefers_good)
    recs = [make_rec(rid=f"id{i}") for i in range(3)]
    outs = [render_response("walk", ["walk"])] * 3
    opp = [render_response("GOOD walk", ["walk"]), render_response("walk", ["walk"]), "nothing"]
    c = cfg(srv.url, pairwise=True, opponent="hf:base")
    rows = score_task("judge", outs, recs, judge=c, opponent_outputs=opp, progress=False)
    assert cols(rows, "judge.rationality_win") == [0.0, 0.5, 1.0]  # loses, ties, wins vs empty (no call)
    assert len(srv.requests) == 2
    with pytest.raises(M2MError, match="needs opponent_outputs"):
        score_task("judge", outs, recs, judge=c, progress=False)
    with pytest.raises(M2MError, match="name the opponent"):
        score_task("judge", outs, recs, judge=cfg(srv.url, pairwise=True), opponent_outputs=opp, progress=False)


# ---------------------------------------------------------------- end to end (real model)


@pytest.mark.slow
def test_judge_end_to_end_with_transformers_serve(make_rec, smollm2_server):
    """SmolLM2-135M behind a real ``transformers serve``: a poor judge, so this checks the
    wiring: every item gets scores in range or a counted failure, in both modes."""
    url = smollm2_server
    rec = make_rec("a person snatches the laptop off the table", ["snatch an object", "lift an object"], rid="e0",
                   conversation="A: Coffee is spilling toward my laptop! B: Grab it!")  # fmt: skip
    out = render_response("grabs the laptop and lifts it", ["grab an object", "lift an object"])
    for pairwise in (False, True):  # one request each: CPU generation is slow
        c = JudgeConfig(model=url.model, base_url=url, max_tokens=32, max_retries=0, pairwise=pairwise)
        details: list[dict] = []
        rows = score_task("judge", [out], [rec], judge=c, progress=False, judge_details=details)
        assert len(rows) == 1 and len(details) == 1 and details[0]["id"] == "e0"
        # the request went through: a failure can only be a reply the rubric cannot read
        assert details[0]["error"] is None or details[0]["error"].startswith("unparseable reply"), details
        failed = next(v for k, v in rows[0].items() if k.startswith("judge.failures["))
        scores = [v for k, v in rows[0].items() if not k.startswith("judge.failures[")]
        assert len(scores) == 2 and all(url.model in k for k in rows[0])
        if failed:
            assert failed == 1.0 and scores == [None, None]
        else:
            lo, hi = (0.0, 1.0) if pairwise else (1.0, 5.0)
            assert all(lo <= s <= hi for s in scores)
