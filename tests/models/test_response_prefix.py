"""Response prefix (assistant-turn prefill) support of the backends that need no model weights:
stop-string cutting, and the OpenAI-compatible backend's refusal (before any request)."""

import pytest

from m2m_bench.models import ResponsePrefixUnsupported, load_model
from m2m_bench.models.hf import _cut
from m2m_bench.prompts import RESPONSE_PREFIXES


def test_cut_before_or_after_the_first_stop_string():
    text = "a</action><skills><skill>b</skill></skills></answer>\ntrailing</answer>"
    assert _cut(text, ["</answer>"]) == "a</action><skills><skill>b</skill></skills>"
    assert _cut(text, ["</answer>"], include=True) == "a</action><skills><skill>b</skill></skills></answer>"
    # the earliest of several stop strings wins, with or without keeping it
    assert _cut(text, ["</answer>", "<skill>"], include=True) == "a</action><skills><skill>"
    assert _cut(text, ["</answer>", "<skill>"]) == "a</action><skills>"
    assert _cut(text, ["</nothing>"], include=True) == text and _cut(text, None) == text


def test_openai_refuses_a_prefix_before_sending_anything(chat_server):
    srv = chat_server()
    m = load_model("openai:scripted", base_url=srv.url)
    assert not m.supports_response_prefix and m.default_response_prefix == "none"
    msgs = [[{"role": "user", "content": "x"}]]
    p = RESPONSE_PREFIXES["answer"]
    with pytest.raises(ResponsePrefixUnsupported, match="--response-prefix answer needs assistant-turn prefill"):
        m.generate(msgs, response_prefix=p.text, stop=[p.stop], include_stop=True)
    with pytest.raises(ResponsePrefixUnsupported, match="transformers serve included"):
        m.generate(msgs, include_stop=True, stop=["x"])
    assert srv.bodies == []
    assert m.generate(msgs) == ["echo:x"]  # without a prefix it answers as before


def test_models_that_read_no_prompt_cannot_prefill(tmp_path):
    p = tmp_path / "p.jsonl"
    p.write_text('{"id": "a", "output": "x"}\n', encoding="utf-8")
    m = load_model(f"predictions:{p}")
    assert not m.supports_response_prefix
    assert "reads no prompt" in str(m.response_prefix_error("answer"))
