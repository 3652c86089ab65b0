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


def test_response_prefixes_and_their_prompt_versions():
    import pytest

    from m2m_bench.errors import M2MError

    none, answer = prompts.get_response_prefix("none"), prompts.get_response_prefix("answer")
    assert prompts.get_response_prefix(None) is none and not none.active and none.identity() is None
    assert none.complete("abc") == "abc"
    assert answer.active and answer.text.startswith("<answer>") and answer.stop == "</answer>"
    assert answer.complete("x") == answer.text + "x"
    assert answer.identity() == {"name": "answer", "text": answer.text, "stop": "</answer>", "version": answer.version}
    # no prefix keeps the plain prompt version; a prefix names itself and its version
    assert prompts.prompt_version() == prompts.prompt_version("none") == prompts.PROMPT_VERSION
    assert prompts.prompt_version("answer") == f"{prompts.PROMPT_VERSION}+prefix-answer-{answer.version}"
    assert prompts.get_response_prefix(answer) is answer
    with pytest.raises(M2MError, match="unknown response prefix 'think'; choose from none, answer"):
        prompts.get_response_prefix("think")


def test_answer_prefix_fits_the_response_format():
    """A model that continues the prefix correctly and stops at the stop string writes a valid
    answer; the parser reads the action that follows the prefix."""
    from m2m_bench.response import parse_response, render_response

    p = prompts.RESPONSE_PREFIXES["answer"]
    canonical = render_response("a person kicks the door open", ["kick the door"]).split("\n", 1)[1]
    assert canonical.startswith(p.text) and canonical.endswith(p.stop)
    parsed = parse_response(p.complete(canonical[len(p.text) :]))
    assert parsed.valid and parsed.action == "a person kicks the door open"
    # a continuation cut off before closing anything still yields its action
    cut = parse_response(p.complete("a person jumps over the fence"))
    assert not cut.valid and cut.action == "a person jumps over the fence"
