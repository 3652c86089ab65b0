"""Fixtures of the metrics tests: the real default encoder (loaded once) and M2M-like records."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def encoder():
    """The default all-MiniLM-L6-v2 encoder, loaded once for the whole session."""
    from m2m_bench.encoders import get_encoder

    return get_encoder()


def rec(action: str = "a person kicks the door open", skills=("kick the door",), rid: str = "r0", **kw) -> dict:
    """A minimal M2M reference record (only the fields the metrics read, plus id)."""
    out = {"id": rid, "conversation": kw.pop("conversation", "A: The door is stuck! B: Force it."), "action": action, "skills": list(skills)}
    out.update(kw)
    return out


@pytest.fixture
def make_rec():
    return rec


class CountingEncoder:
    """The real encoder, counting its calls and the texts it was given (not a stand-in)."""

    def __init__(self, inner, name: str | None = None):
        self.inner = inner
        self.name = name or inner.name
        self.calls: list[list[str]] = []

    def encode(self, texts, batch_size: int = 64):
        self.calls.append(list(texts))
        return self.inner.encode(texts, batch_size=batch_size)


@pytest.fixture
def counting_encoder(encoder):
    return CountingEncoder(encoder)


class ScriptedServer:
    """A real HTTP server speaking the OpenAI chat-completions protocol on 127.0.0.1, whose
    replies come from ``respond(body) -> (status, content)``: used where a real model cannot be
    made to misbehave on demand (rejected response_format, unparseable replies, 5xx, 401).
    Every request body is kept in ``requests``."""

    def __init__(self, respond):
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.respond = respond
        self.requests: list[dict] = []
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._send(200, {"object": "list", "data": [{"id": "judge", "object": "model"}]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with lock:
                    outer.requests.append(body)
                status, content = outer.respond(body)
                if status != 200:
                    self._send(status, {"error": {"message": content, "type": "invalid_request_error"}})
                    return
                self._send(200, {
                    "id": "c1", "object": "chat.completion", "created": 0, "model": body["model"],
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": content}}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                })  # fmt: skip

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def scripted_server():
    servers: list[ScriptedServer] = []

    def start(respond) -> ScriptedServer:
        servers.append(ScriptedServer(respond))
        return servers[-1]

    yield start
    for s in servers:
        s.close()
