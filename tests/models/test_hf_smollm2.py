"""The real SmolLM2-135M-Instruct through ``hf:`` and the ``smollm2`` spec (CPU, a few tokens)."""

import json

import pytest

from m2m_bench.models import ModelLoadError, load_model
from m2m_bench.models.hf import _cut
from m2m_bench.models.smollm2 import GGUF_FILE, gguf_sha256, revision, smollm2_dir

pytestmark = pytest.mark.slow


def test_smollm2_folder_is_converted_once(smollm2_folder):
    assert (smollm2_folder / "config.json").is_file()
    assert (smollm2_folder / "model.safetensors").stat().st_size > 400_000_000
    source = json.loads((smollm2_folder / "m2m_bench_source.json").read_text())
    assert source["gguf_file"] == GGUF_FILE and source["gguf_sha256"] == gguf_sha256()
    assert smollm2_dir() == smollm2_folder  # second call reuses the folder
    assert revision().startswith("gguf-sha256:" + gguf_sha256()[:16])


@pytest.fixture(scope="module")
def model(smollm2_folder):
    import torch

    torch.set_num_threads(1)
    return load_model(f"hf:{smollm2_folder}", batch_size=2, device="cpu")


def test_hf_generates_with_chat_template_in_batches(model, smollm2_folder):
    assert model.has_chat_template and model.device == "cpu"
    assert model.revision.startswith("sha256:")
    msgs = [
        [{"role": "user", "content": "Say the word yes."}],
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a colour, with a long explanation of why you like it."}],
        [{"role": "user", "content": "Count to three."}],
    ]
    rendered = model.render(msgs[1])
    assert rendered.startswith("<|im_start|>system\nBe brief.<|im_end|>") and rendered.endswith("<|im_start|>assistant\n")
    batched = model.generate(msgs, max_new_tokens=6)
    assert len(batched) == 3 and all(isinstance(t, str) and t for t in batched)
    # left padding must not change greedy answers: one prompt at a time gives the same text
    single = [model.generate([m], max_new_tokens=6)[0] for m in msgs]
    assert single == batched
    info = model.info()
    assert info["parameters"] > 100_000_000 and info["batch_size"] == 2


def test_hf_stop_strings_cut_the_output(model):
    msgs = [[{"role": "user", "content": "Count from 1 to 10 separated by commas."}]]
    full = model.generate(msgs, max_new_tokens=12)[0]
    words = full.split()
    assert len(words) >= 3, full
    stop = words[2]  # a string the model is known to produce after some text
    cut = model.generate(msgs, max_new_tokens=12, stop=[stop])[0]
    assert stop not in cut and full.startswith(cut) and len(cut) < len(full)


def test_hf_stop_string_can_be_kept(model):
    msgs = [[{"role": "user", "content": "Count from 1 to 10 separated by commas."}]]
    full = model.generate(msgs, max_new_tokens=12)[0]
    stop = full.split()[2]
    kept = model.generate(msgs, max_new_tokens=12, stop=[stop], include_stop=True)[0]
    assert kept == full[: full.index(stop) + len(stop)]


def test_hf_response_prefix_is_prefilled_and_starts_the_output(model):
    from m2m_bench.prompts import RESPONSE_PREFIXES, build_messages

    p = RESPONSE_PREFIXES["answer"]
    msgs = [build_messages("Ana: the pan is on fire!"), build_messages("Ben: my shoelace is untied.")]
    plain = model.render(msgs[0])
    rendered = model.render(msgs[0], p.text)
    # the chat template's assistant header, then the prefix, at the very end of the prompt
    assert plain.endswith("<|im_start|>assistant\n") and rendered == plain + p.text
    outs = model.generate(msgs, max_new_tokens=10, response_prefix=p.text, stop=[p.stop], include_stop=True)
    assert all(o.startswith(p.text) and len(o) > len(p.text) for o in outs)
    # the continuation is what the model writes after the prefilled prompt, token for token
    import torch

    enc = model.tokenizer([rendered], return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        seq = model.model.generate(**enc, max_new_tokens=10, do_sample=False, temperature=None, top_p=None,
                                   top_k=None, pad_token_id=model.tokenizer.pad_token_id)
    cont = model.tokenizer.decode(seq[0, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    assert outs[0] == p.text + _cut(cont, [p.stop], include=True)


def test_smollm2_spec_is_the_same_weights(smollm2_folder):
    m = load_model("smollm2", batch_size=1, device="cpu")
    assert m.spec == "smollm2" and m.name == "SmolLM2-135M-Instruct" and m.revision == revision()
    assert m.folder == smollm2_folder.resolve()
    # the embedded default prefills the answer; hf: on the same folder does not by default
    assert m.supports_response_prefix and m.default_response_prefix == "answer"
    assert load_model(f"hf:{smollm2_folder}", device="cpu").default_response_prefix == "none"


def test_hf_missing_folder_and_uncached_hub_id(tmp_path):
    with pytest.raises(ModelLoadError, match="no such model folder"):
        load_model(f"hf:{tmp_path / 'nope'}")
    with pytest.raises(ModelLoadError, match="not a transformers model folder"):
        load_model(f"hf:{tmp_path}")
    with pytest.raises(ModelLoadError, match="not in the local Hugging Face cache"):
        load_model("hf:m2m-bench-test/no-such-model")
