"""Fixtures of the model tests: a small local HTTP server for the OpenAI client's retry and
concurrency behaviour (the SmolLM2 folder and server fixtures live in tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def chat_server():
    """Start scripted chat servers (``tests/_chat_server.py``) answering HTTP statuses in turn."""
    from tests._chat_server import ScriptedChatServer

    servers: list[ScriptedChatServer] = []

    def make(script=(), delay: float = 0.0) -> ScriptedChatServer:
        servers.append(ScriptedChatServer(script=script, delay=delay))
        return servers[-1]

    yield make
    for s in servers:
        s.close()
