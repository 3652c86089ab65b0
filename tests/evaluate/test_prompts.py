from m2m_bench import prompts
from m2m_bench.response import FORMAT_INSTRUCTIONS, RESPONSE_FORMAT_VERSION


def test_build_messages_is_system_then_user_with_the_conversation_verbatim():
    conv = "Ana: the pan is on fire!\nBen: don't use water — ¿qué hacemos?"
    msgs = prompts.build_messages(conv)
    assert [m["role"] for m in msgs] == ["system", "user"]
    assert msgs[0]["content"] == prompts.SYSTEM_PROMPT
    assert conv in msgs[1]["content"]
    assert FORMAT_INSTRUCTIONS in msgs[1]["content"]
    assert msgs[1]["content"].index(conv) < msgs[1]["content"].index(FORMAT_INSTRUCTIONS)


def test_without_system_and_determinism():
    a = prompts.build_messages("x", system=False)
    assert [m["role"] for m in a] == ["user"] and a == prompts.build_messages("x", system=False)
    assert prompts.build_messages("  x \n") == prompts.build_messages("x")


def test_prompt_version_names_the_response_format():
    assert prompts.PROMPT_VERSION.endswith(f"format-{RESPONSE_FORMAT_VERSION}")


def test_non_text_conversation_is_refused():
    import pytest

    with pytest.raises(TypeError):
        prompts.build_messages(None)
