import pytest

from m2m_bench.errors import M2MError
from m2m_bench.models import (
    GenerationParams,
    UnknownModelSpec,
    load_model,
    parse_spec,
    register,
    registered,
)


def test_builtin_prefixes_are_registered():
    assert {"smollm2", "hf", "openai", "predictions", "baseline"} <= set(registered())


@pytest.mark.parametrize(
    "spec,expected",
    [("hf:./m", ("hf", "./m")), ("smollm2", ("smollm2", "")), ("openai:a:b", ("openai", "a:b"))],
)
def test_parse_spec(spec, expected):
    assert parse_spec(spec) == expected


@pytest.mark.parametrize("spec", ["gpt4", "vllm:model", "", "   "])
def test_unknown_spec_names_the_known_prefixes(spec):
    with pytest.raises(UnknownModelSpec) as e:
        load_model(spec)
    msg = str(e.value)
    assert "hf:" in msg and "openai:" in msg and "smollm2" in msg


def test_prefix_without_value_and_smollm2_with_value_are_rejected():
    with pytest.raises(UnknownModelSpec, match="needs a value"):
        load_model("hf:")
    with pytest.raises(UnknownModelSpec, match="takes no value"):
        load_model("smollm2:big")


def test_unknown_baseline():
    with pytest.raises(UnknownModelSpec, match="baseline:retrieval"):
        load_model("baseline:oracle")


def test_register_rejects_a_second_loader_for_a_prefix():
    with pytest.raises(ValueError, match="already registered"):

        @register("hf")
        def other(rest, **kw):  # pragma: no cover
            """other"""


def test_generation_params_cache_key_ignores_seed_when_greedy():
    a, b = GenerationParams(seed=1), GenerationParams(seed=2)
    assert a.key_dict() == b.key_dict()
    s1, s2 = GenerationParams(temperature=0.7, seed=1), GenerationParams(temperature=0.7, seed=2)
    assert s1.key_dict() != s2.key_dict()
    assert GenerationParams(max_new_tokens=5).key_dict() != GenerationParams(max_new_tokens=6).key_dict()


def test_generation_params_response_prefix_enters_the_cache_key_and_the_model_kwargs():
    from m2m_bench.prompts import RESPONSE_PREFIXES

    plain, prefixed = GenerationParams(), GenerationParams(response_prefix="answer")
    # no prefix: the key is what it was before prefixes existed (old cache entries still hit)
    assert plain.key_dict() == {"max_new_tokens": 256, "do_sample": False}
    assert prefixed.key_dict() == {**plain.key_dict(), "response_prefix": RESPONSE_PREFIXES["answer"].identity()}
    sampled = GenerationParams(temperature=0.5, response_prefix="answer").key_dict()
    assert sampled["response_prefix"]["name"] == "answer" and sampled["do_sample"] is True
    assert plain.as_dict()["response_prefix"] is None
    assert prefixed.as_dict()["response_prefix"]["text"] == RESPONSE_PREFIXES["answer"].text
    assert "response_prefix" not in plain.model_kwargs() and "stop" not in plain.model_kwargs()
    kw = prefixed.model_kwargs()
    assert kw["response_prefix"] == RESPONSE_PREFIXES["answer"].text
    assert kw["stop"] == ["</answer>"] and kw["include_stop"] is True
    assert kw["max_new_tokens"] == 256 and kw["temperature"] == 0.0


@pytest.mark.parametrize(
    "kw",
    [{"max_new_tokens": 0}, {"temperature": -1}, {"top_p": 0}, {"top_p": 1.5}, {"response_prefix": "nope"}],
)
def test_generation_params_validate(kw):
    with pytest.raises(M2MError):
        GenerationParams(**kw)
