"""Fixtures of the model tests: a small local HTTP server for the OpenAI client's retry and
concurrency behaviour (the SmolLM2 folder and server fixtures live in tests/conftest.py)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class ScriptedChatServer:
    """A real HTTP server speaking the chat-completions wire format.

    ``script`` lists HTTP statuses to answer in turn before it answers 200 for good; the
    server records every request body and the largest number of requests in flight at once.
    """

    def __init__(self, script=(), delay: float = 0.0):
        self.script = list(script)
        self.delay = delay
        self.bodies: list[dict] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _send(self, status: int, obj: dict) -> None:
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._send(200, {"object": "list", "data": [{"id": "scripted", "object": "model"}]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with outer.lock:
                    outer.bodies.append(body)
                    outer.in_flight += 1
                    outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                    status = outer.script.pop(0) if outer.script else 200
                try:
                    time.sleep(outer.delay)
                    if status != 200:
                        self._send(status, {"error": {"message": f"scripted {status}", "type": "x", "code": status}})
                        return
                    last = body["messages"][-1]["content"]
                    self._send(
                        200,
                        {
                            "id": "c1",
                            "object": "chat.completion",
                            "created": 0,
                            "model": body["model"],
                            "choices": [
                                {
                                    "index": 0,
                                    "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": f"echo:{last}"},
                                }
                            ],
                        },
                    )
                finally:
                    with outer.lock:
                        outer.in_flight -= 1

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def chat_server():
    servers = []

    def make(script=(), delay: float = 0.0) -> ScriptedChatServer:
        s = ScriptedChatServer(script, delay).__enter__()
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.__exit__(None, None, None)
