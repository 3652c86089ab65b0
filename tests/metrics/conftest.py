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


@pytest.fixture
def scripted_server():
    """Start scripted chat servers (``tests/_chat_server.py``) that answer ``respond(body)``."""
    from tests._chat_server import ScriptedChatServer

    servers: list[ScriptedChatServer] = []

    def start(respond) -> ScriptedChatServer:
        servers.append(ScriptedChatServer(respond, model_id="judge"))
        return servers[-1]

    yield start
    for s in servers:
        s.close()
