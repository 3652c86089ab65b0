import pytest

from m2m_bench._cache import GenerationCache, request_key
from m2m_bench.evaluate import generate_outputs
from m2m_bench.models import GenerationParams, Model

MSGS = [{"role": "user", "content": "hi"}]


def test_request_key_changes_with_every_part():
    base = dict(model="hf:m", revision="r1", prompt_version="p1", messages=MSGS, params={"max_new_tokens": 8})
    k = request_key(**base)
    assert k == request_key(**dict(base))
    variants = [
        {"model": "hf:n"},
        {"revision": "r2"},
        {"prompt_version": "p2"},
        {"messages": [{"role": "user", "content": "hi!"}]},
        {"params": {"max_new_tokens": 9}},
    ]
    keys = {request_key(**{**base, **v}) for v in variants}
    assert k not in keys and len(keys) == len(variants)


def test_cache_persists_across_connections(tmp_path):
    path = tmp_path / "c.sqlite"
    with GenerationCache(path) as c:
        c.put_many([("k1", "out1"), ("k2", "ünï")], model="m", revision=None, prompt_version="p", params={})
        assert len(c) == 2
    with GenerationCache(path) as c:
        assert c.get_many(["k2", "k1", "k3"]) == {"k1": "out1", "k2": "ünï"}


class CountingModel(Model):
    """A deterministic generating model: answers with the user text reversed; can fail once
    after ``fail_after`` calls, like an interrupted run."""

    spec, name, revision = "test:reverse", "reverse", "r1"
    chunk_size = 2

    def __init__(self, fail_after: int | None = None):
        self.calls: list[int] = []
        self.fail_after = fail_after

    def generate(self, batch, **gen):
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise KeyboardInterrupt
        self.calls.append(len(batch))
        return [m[-1]["content"][::-1] for m in batch]


def test_an_interrupted_run_resumes_without_regenerating(tmp_path):
    records = [{"id": f"r{i}", "conversation": f"conversation number {i}"} for i in range(5)]
    gen = GenerationParams(max_new_tokens=4)
    cache = GenerationCache(tmp_path / "c.sqlite")
    first = CountingModel(fail_after=2)
    try:
        generate_outputs(first, records, gen, cache, progress=False)
    except KeyboardInterrupt:
        pass
    assert first.calls == [2, 2] and len(cache) == 4
    second = CountingModel()
    outs, cached, n_new = generate_outputs(second, records, gen, cache, progress=False)
    assert second.calls == [1] and n_new == 1
    assert cached == [True, True, True, True, False]
    assert outs[3] == outs[3] and all(o for o in outs)
    # same prompts, new max_new_tokens: a different request, generated again
    third = CountingModel()
    generate_outputs(third, records, GenerationParams(max_new_tokens=5), cache, progress=False)
    assert sum(third.calls) == 5


class PrefillModel(CountingModel):
    """A deterministic model that can prefill: it continues the prefix with the user text
    reversed and a closing tag, then some text after it (which the stop string must cut)."""

    spec = "test:prefill"
    supports_response_prefix = True

    def generate(self, batch, *, response_prefix="", stop=None, include_stop=False, **gen):
        self.calls.append(len(batch))
        self.seen = dict(response_prefix=response_prefix, stop=stop, include_stop=include_stop)
        outs = []
        for m in batch:
            text = m[-1]["content"][::-1][:12] + "</action></answer> and then more"
            if stop:
                at = min(text.find(s) + (len(s) if include_stop else 0) for s in stop if s in text)
                text = text[:at]
            outs.append(response_prefix + text)
        return outs


def test_cache_entries_of_different_prefixes_never_mix(tmp_path):
    from m2m_bench.prompts import RESPONSE_PREFIXES

    records = [{"id": f"r{i}", "conversation": f"conversation number {i}"} for i in range(3)]
    cache = GenerationCache(tmp_path / "c.sqlite")
    answer = RESPONSE_PREFIXES["answer"]
    plain = PrefillModel()
    outs_plain, cached, n = generate_outputs(plain, records, GenerationParams(max_new_tokens=4), cache, progress=False)
    assert n == 3 and not any(cached) and plain.seen["response_prefix"] == ""
    assert not any(o.startswith(answer.text) for o in outs_plain)

    # the same prompts with the prefix: new cache keys, so everything is generated again
    pre = PrefillModel()
    gen = GenerationParams(max_new_tokens=4, response_prefix="answer")
    outs_pre, cached, n = generate_outputs(pre, records, gen, cache, progress=False)
    assert n == 3 and not any(cached) and sum(pre.calls) == 3
    assert pre.seen == {"response_prefix": answer.text, "stop": [answer.stop], "include_stop": True}
    assert all(o.startswith(answer.text) and o.endswith(answer.stop) for o in outs_pre)
    assert len(cache) == 6

    # each prefix finds its own entries again
    again = PrefillModel()
    assert generate_outputs(again, records, gen, cache, progress=False)[:2] == (outs_pre, [True] * 3)
    assert generate_outputs(again, records, GenerationParams(max_new_tokens=4), cache, progress=False)[0] == outs_plain
    assert again.calls == []


def test_a_model_that_cannot_prefill_is_refused_before_generating(tmp_path):
    from m2m_bench.models import ResponsePrefixUnsupported

    m = CountingModel()
    with pytest.raises(ResponsePrefixUnsupported, match="--response-prefix answer needs assistant-turn prefill"):
        generate_outputs(m, [{"id": "a", "conversation": "x"}], GenerationParams(response_prefix="answer"), None, progress=False)
    assert m.calls == []
