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


@pytest.mark.parametrize("kw", [{"max_new_tokens": 0}, {"temperature": -1}, {"top_p": 0}, {"top_p": 1.5}])
def test_generation_params_validate(kw):
    with pytest.raises(M2MError):
        GenerationParams(**kw)
