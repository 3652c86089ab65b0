"""A real HTTP server speaking the OpenAI chat-completions wire format on 127.0.0.1, for tests
that need an endpoint to misbehave on demand (a real model cannot be made to return 5xx, 401
or unparseable replies when asked).

``respond(body) -> (status, content)`` decides each reply; without it, ``script`` lists the
HTTP statuses to answer in turn before answering 200 for good, with content ``echo:<last
message>``. Every request body is kept in ``requests``; ``max_in_flight`` is the largest number
of requests served at once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Respond = Callable[[dict], tuple[int, str]]


class ScriptedChatServer:
    def __init__(self, respond: Respond | None = None, script=(), delay: float = 0.0, model_id: str = "scripted"):
        self.respond = respond or self._scripted
        self.script = list(script)
        self.delay = delay
        self.requests: list[dict] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
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
                self._send(200, {"object": "list", "data": [{"id": model_id, "object": "model"}]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with outer.lock:
                    outer.requests.append(body)
                    outer.in_flight += 1
                    outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                try:
                    time.sleep(outer.delay)
                    status, content = outer.respond(body)
                    if status != 200:
                        self._send(status, {"error": {"message": content, "type": "invalid_request_error", "code": status}})
                        return
                    self._send(200, {
                        "id": "c1", "object": "chat.completion", "created": 0, "model": body["model"],
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": content}}],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    })  # fmt: skip
                finally:
                    with outer.lock:
                        outer.in_flight -= 1

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def bodies(self) -> list[dict]:
        return self.requests

    def _scripted(self, body: dict) -> tuple[int, str]:
        with self.lock:
            status = self.script.pop(0) if self.script else 200
        if status != 200:
            return status, f"scripted {status}"
        return 200, f"echo:{body['messages'][-1]['content']}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> ScriptedChatServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
