import random
import socket

import pytest

from m2m_bench.errors import M2MError
from m2m_bench.models import EndpointUnreachable, load_model
from m2m_bench.models.openai_api import backoff_delay, normalize_base_url


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_normalize_base_url():
    assert normalize_base_url("http://127.0.0.1:8000") == "http://127.0.0.1:8000/v1"
    assert normalize_base_url("http://h:1/v1/") == "http://h:1/v1"
    with pytest.raises(M2MError, match="not an http"):
        normalize_base_url("127.0.0.1:8000")


def test_backoff_doubles_within_jitter_and_is_capped():
    rng = random.Random(0)
    for k in range(1, 8):
        d = backoff_delay(k, 1.0, 10.0, rng)
        base = min(10.0, 2 ** (k - 1))
        assert 0.5 * base <= d <= 1.5 * base


def test_unreachable_endpoint_is_one_clear_error():
    url = f"http://127.0.0.1:{closed_port()}/v1"
    with pytest.raises(EndpointUnreachable, match=f"cannot reach the OpenAI-compatible endpoint {url}"):
        load_model("openai:m", base_url=url)


def test_missing_key_for_a_remote_endpoint(monkeypatch):
    monkeypatch.delenv("M2M_TEST_NO_SUCH_KEY", raising=False)
    with pytest.raises(M2MError, match="set the environment variable M2M_TEST_NO_SUCH_KEY"):
        load_model("openai:m", base_url="https://example.invalid/v1", api_key_env="M2M_TEST_NO_SUCH_KEY", check=False)


def test_transient_errors_are_retried_then_succeed(chat_server):
    srv = chat_server(script=[503, 429, 500])
    m = load_model("openai:scripted", base_url=srv.url, backoff=0.01, max_retries=5)
    msgs = [{"role": "user", "content": "hello"}]
    assert m.generate([msgs], max_new_tokens=7) == ["echo:hello"]
    assert m.retries == 3 and len(srv.bodies) == 4
    body = srv.bodies[-1]
    assert body["max_tokens"] == 7 and body["temperature"] == 0.0 and "seed" not in body


def test_retries_give_up_with_the_server_message(chat_server):
    srv = chat_server(script=[503] * 10)
    m = load_model("openai:scripted", base_url=srv.url, backoff=0.01, max_retries=2)
    with pytest.raises(M2MError, match="failed after 3 attempts"):
        m.generate([[{"role": "user", "content": "x"}]])
    assert len(srv.bodies) == 3


def test_client_errors_are_not_retried(chat_server):
    srv = chat_server(script=[400])
    m = load_model("openai:scripted", base_url=srv.url, backoff=0.01)
    with pytest.raises(M2MError, match="scripted 400"):
        m.generate([[{"role": "user", "content": "x"}]])
    assert len(srv.bodies) == 1


def test_concurrency_is_bounded_and_order_kept(chat_server):
    srv = chat_server(delay=0.15)
    m = load_model("openai:scripted", base_url=srv.url, concurrency=3)
    batch = [[{"role": "user", "content": str(i)}] for i in range(9)]
    out = m.generate(batch, temperature=0.5, seed=4)
    assert out == [f"echo:{i}" for i in range(9)]
    assert 2 <= srv.max_in_flight <= 3
    assert all(b["seed"] == 4 and b["temperature"] == 0.5 for b in srv.bodies)


def test_extra_body_is_sent(chat_server):
    srv = chat_server()
    m = load_model("openai:scripted", base_url=srv.url, extra_body={"generation_config": "{}"})
    m.generate([[{"role": "user", "content": "x"}]])
    assert srv.bodies[0]["generation_config"] == "{}"
    assert m.revision == f"endpoint:{srv.url}"
