"""The OpenAI-compatible backend's fault handling over real HTTP.

A local stdlib HTTP server answers with a scripted sequence of statuses (429 with
Retry-After, 500, 503, 400, 200) — the faults a real endpoint produces but a healthy local
model server never does on demand. The ``openai`` client and our retry loop run unchanged.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from m2m_bench.construct.backends import BackendUnavailable, Call, CallRejected
from m2m_bench.construct.backends.openai_compat import OpenAIBackend, RateLimiter
from m2m_bench.construct.cache import Reply, call_key, request_dict
from m2m_bench.construct.config import ConstructConfig
from m2m_bench.construct.llm import LLM
from m2m_bench.construct.pipeline import build

from .conftest import DIALOGUES, write_jsonl


def completion(text, pt=10, ct=5):
    return {
        "id": "c1", "object": "chat.completion", "created": 0, "model": "scripted",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": pt, "completion_tokens": ct, "total_tokens": pt + ct},
    }  # fmt: skip


class Scripted:
    """A local HTTP server replying to POST /v1/chat/completions from a script."""

    def __init__(self, script):
        self.script = list(script)
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _send(self, status, body, headers=()):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._send(200, {"object": "list", "data": []})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with lock:
                    outer.requests.append(body)
                    status, payload, headers = outer.script.pop(0) if outer.script else (500, {"error": {"message": "script over"}}, ())
                self._send(status, payload, headers)

        lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


ERR = {"error": {"message": "boom", "type": "server_error"}}


class Sink:
    def __init__(self):
        self.starts, self.results = 0, []

    def started(self, call):
        self.starts += 1

    def finished(self, call, result):
        self.results.append((call.key, result))


def calls(n):
    out = []
    for i in range(n):
        req = request_dict("openai", "scripted", [{"role": "user", "content": f"q{i}"}], {"temperature": 0.0, "max_tokens": 8, "seed": i}, i)
        out.append(Call(call_key(req), req, "entities", f"r{i}"))
    return out


def backend(url, **kw):
    return OpenAIBackend("scripted", base_url=url, backoff=0.01, max_backoff=0.05, timeout=10, **kw)


def test_429_and_5xx_are_retried_with_backoff_and_tokens_counted():
    script = [(429, ERR, [("Retry-After", "0")]), (500, ERR, ()), (503, ERR, ()), (200, completion('{"ok": 1}'), ())]
    with Scripted(script) as url:
        be = backend(url, price_in=2.0, price_out=8.0, max_retries=4)
        sink = Sink()
        be.run(calls(1), sink)
    (_, reply), = sink.results
    assert reply == Reply('{"ok": 1}', 10, 5, (10 * 2.0 + 5 * 8.0) / 1e6, "scripted")
    assert be.retries == 3 and sink.starts == 4


def test_a_rejected_request_fails_only_that_call():
    with Scripted([(400, {"error": {"message": "prompt too long"}}, ()), (200, completion("fine"), ())]) as url:
        be = backend(url, concurrency=1)
        sink = Sink()
        be.run(calls(2), sink)
    results = dict(sink.results)
    first, second = (results[c.key] for c in calls(2))
    assert isinstance(first, CallRejected) and "HTTP 400" in str(first)
    assert isinstance(second, Reply) and second.text == "fine"


def test_exhausted_retries_stop_the_run_but_deliver_answers_in_hand():
    with Scripted([(200, completion("first"), ()), (500, ERR, ()), (500, ERR, ())]) as url:
        be = backend(url, concurrency=1, max_retries=1)
        sink = Sink()
        with pytest.raises(BackendUnavailable, match="no usable answer after 2 attempts"):
            be.run(calls(3), sink)
    assert [r.text for _, r in sink.results] == ["first"]


def test_pipeline_records_rejected_calls_and_caches_answers(tmp_path, cache):
    src = write_jsonl(tmp_path / "d.jsonl", DIALOGUES[2:3])  # d3 keeps its own action
    ents = '{"entities": [{"text": "Mia", "type": "person"}, {"text": "ball", "type": "object"}]}'
    config = ConstructConfig(inputs=[f"jsonl:{src}"], stages=["entities"], samples=3, max_attempts=1)
    script = [(200, completion(ents), ()), (400, {"error": {"message": "nope"}}, ()), (200, completion(ents), ())]
    with Scripted(script) as url:
        b = build(config, LLM(backend(url, concurrency=1), cache), progress=False)
    res = b.items[0].results["entities"]
    assert res["status"] == "ok" and [e["votes"] for e in res["value"]] == [2, 2]  # 2 of 3 samples
    assert [e["kind"] for e in res["errors"]] == ["rejected"]
    assert b.reports["entities"].stats.calls == 2 and b.reports["entities"].stats.rejected == 1
    assert cache.count() == 2  # the rejected call is not cached: a rerun asks again


def test_rate_limiter_spaces_request_starts():
    lim = RateLimiter(rpm=1200)  # one start every 0.05 s
    t0 = time.monotonic()
    for _ in range(5):
        lim.wait()
    assert time.monotonic() - t0 >= 4 * 0.05 * 0.95
    free = RateLimiter(None)
    t0 = time.monotonic()
    for _ in range(100):
        free.wait()
    assert time.monotonic() - t0 < 0.2
