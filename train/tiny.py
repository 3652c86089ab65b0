"""Tiny random causal LMs and a small BPE tokenizer, built offline, for smoke tests.

``build_tiny_model(folder, arch="llama" | "qwen2")`` writes a transformers folder (random
weights from a fixed seed, a ~600-token byte-level BPE tokenizer trained here on a built-in
text, a ChatML chat template) that TRL can load and train like a real checkpoint. Nothing is
downloaded. The GPU recipe's smoke test runs it with ``arch="qwen2"`` (Qwen2.5's architecture).
"""

from __future__ import annotations

import json
from pathlib import Path

ARCHS = ("llama", "qwen2")

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

_CORPUS = """
<think>The kettle is boiling over and the towel is smoking, so someone must act fast.</think>
<answer><action>a person lunges to the stove and switches off the burner.</action>
<skills><skill>lunge forward</skill><skill>turn a knob</skill><skill>swat an object</skill></skills></answer>
A person walks forward, turns around, sits down on a chair, stands up and waves with the right hand.
Someone jumps over a puddle, runs to the door, opens it, kicks the ball, climbs the stairs and bows.
Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May.
How many clips did she sell altogether? 48 / 2 = 24 and 48 + 24 = 72. #### 72
system user assistant: You are a helpful assistant. Answer in exactly this XML format and nothing else.
0 1 2 3 4 5 6 7 8 9 10 100 1000 + - * / = ( ) , . ; : ! ? ' "
"""

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def build_tiny_tokenizer(folder: str | Path, vocab_size: int = 600):
    """Train a byte-level BPE tokenizer on the built-in text and save it (fast tokenizer + ChatML template)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator([_CORPUS] * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token="<|endoftext|>",
    )
    fast.chat_template = CHATML_TEMPLATE
    fast.padding_side = "left"
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(str(folder))
    return fast


def build_tiny_model(
    folder: str | Path,
    arch: str = "llama",
    *,
    hidden_size: int = 32,
    num_layers: int = 2,
    seed: int = 0,
) -> Path:
    """Write a tiny random ``LlamaForCausalLM`` or ``Qwen2ForCausalLM`` with the tiny tokenizer to ``folder``."""
    import torch
    from transformers import AutoModelForCausalLM, GenerationConfig, LlamaConfig, Qwen2Config

    if arch not in ARCHS:
        raise ValueError(f"tiny model architecture must be one of {ARCHS}, got {arch!r}")
    folder = Path(folder)
    tok = build_tiny_tokenizer(folder)
    common = dict(
        vocab_size=len(tok),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    if arch == "llama":
        config = LlamaConfig(tie_word_embeddings=True, **common)
    else:
        config = Qwen2Config(tie_word_embeddings=True, **common)  # Qwen2.5-3B ties its embeddings too
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    model.generation_config = GenerationConfig(
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id
    )
    model.save_pretrained(str(folder), safe_serialization=True)
    (folder / "m2m_bench_tiny.json").write_text(json.dumps({"arch": arch, "seed": seed}) + "\n")
    return folder
