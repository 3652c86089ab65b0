"""M2MGRPOTrainer on a tiny random Llama: the loss is TRL's policy loss + beta * the chosen penalty.

Every test perturbs the policy away from the reference first (at initialization both are the
same model and every divergence is 0, which would make the penalty checks vacuous).
"""

from __future__ import annotations

import math
import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch.set_num_threads(1)

from trl import GRPOTrainer  # noqa: E402

from datasets import Dataset  # noqa: E402
from train.tiny import build_tiny_model  # noqa: E402
from train.trainer import M2MGRPOConfig, M2MGRPOTrainer  # noqa: E402

G = 4
BETA = 0.5


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory):
    return str(build_tiny_model(tmp_path_factory.mktemp("tiny-llama"), "llama"))


@pytest.fixture(scope="module")
def prompts():
    return Dataset.from_list([{"prompt": [{"role": "user", "content": f"describe motion {i}"}]} for i in range(8)])


def length_reward(prompts, completions, **kwargs):
    """A reward with spread inside every group (completion length), so advantages are non-zero."""
    return [len(c[0]["content"]) / 40.0 for c in completions]


def make_trainer(model_dir, dataset, tmp_path, divergence, js_mode="sampled", **overrides):
    cfg = dict(
        output_dir=str(tmp_path / f"out-{divergence}-{js_mode}"),
        per_device_train_batch_size=G,
        num_generations=G,
        max_completion_length=8,
        max_steps=1,
        beta=BETA,
        learning_rate=5e-3,
        report_to=[],
        use_cpu=True,
        logging_steps=1,
        save_strategy="no",
        seed=0,
        bf16=False,  # TRL defaults to bf16 autocast; the explicit checks need float32
        disable_tqdm=True,
        divergence=divergence,
        js_mode=js_mode,
        js_vocab_chunk=100,  # several chunks over the ~560-token vocabulary
    )
    cfg.update(overrides)
    trainer = M2MGRPOTrainer(
        model=model_dir, reward_funcs=length_reward, args=M2MGRPOConfig(**cfg), train_dataset=dataset
    )
    g = torch.Generator().manual_seed(123)
    with torch.no_grad():
        for p in trainer.model.parameters():
            p.add_(0.2 * torch.randn(p.shape, generator=g))
    return trainer


def _inputs(trainer, dataset):
    trainer.model.train()
    if not hasattr(trainer, "current_gradient_accumulation_steps"):
        trainer.current_gradient_accumulation_steps = 1
    batch = [dataset[i] for i in range(1) for _ in range(G)]
    torch.manual_seed(0)
    return trainer._generate_and_score_completions(batch)


def _explicit_logits(model, inputs, temperature):
    """Materialized next-token logits at the completion positions (no fused head, no chunking)."""
    ids = torch.cat([inputs["prompt_ids"], inputs["completion_ids"]], 1)
    att = torch.cat([inputs["prompt_mask"], inputs["completion_mask"]], 1)
    k = inputs["completion_ids"].size(1)
    logits = model(input_ids=ids, attention_mask=att).logits[:, -(k + 1) : -1]
    return logits / temperature


def _params(model):
    return [p for p in model.parameters() if p.requires_grad]


@pytest.mark.parametrize("loss_type", ["grpo", "dapo", "bnpo"])
def test_kl_reproduces_trl_stock_loss(tiny_llama, prompts, tmp_path, loss_type):
    tr = make_trainer(tiny_llama, prompts, tmp_path, "kl", loss_type=loss_type)
    inputs = _inputs(tr, prompts)
    ours = tr._compute_loss(tr.model, inputs)
    g_ours = torch.autograd.grad(ours, _params(tr.model))
    stock = GRPOTrainer._compute_loss(tr, tr.model, inputs)
    g_stock = torch.autograd.grad(stock, _params(tr.model))
    torch.testing.assert_close(ours, stock, rtol=1e-5, atol=1e-7)
    for a, b in zip(g_ours, g_stock, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    assert tr._metrics["train"]["penalty"][-1] > 0


@pytest.mark.parametrize("js_mode", ["sampled", "full"])
def test_js_loss_is_policy_loss_plus_beta_times_explicit_js(tiny_llama, prompts, tmp_path, js_mode):
    tr = make_trainer(tiny_llama, prompts, tmp_path, "js", js_mode, loss_type="grpo")
    inputs = _inputs(tr, prompts)
    if js_mode == "full":
        assert inputs["ref_hidden_states"].shape[:2] == inputs["completion_ids"].shape
    params = _params(tr.model)
    ours = tr._compute_loss(tr.model, inputs)
    g_ours = torch.autograd.grad(ours, params)

    # Explicit: TRL's loss without penalty + beta * JS from materialized softmaxes
    tr.beta = 0.0
    policy = GRPOTrainer._compute_loss(tr, tr.model, inputs)
    tr.beta = BETA
    mask = inputs["completion_mask"].float()
    logits = _explicit_logits(tr.model, inputs, tr.temperature)
    with torch.no_grad():
        ref_logits = _explicit_logits(tr.ref_model, inputs, tr.temperature)
    lp_all, lq_all = torch.log_softmax(logits, -1), torch.log_softmax(ref_logits, -1)
    if js_mode == "sampled":
        idx = inputs["completion_ids"].unsqueeze(-1)
        logp, ref_logp = lp_all.gather(-1, idx).squeeze(-1), lq_all.gather(-1, idx).squeeze(-1)
        torch.testing.assert_close(ref_logp, inputs["ref_per_token_logps"], rtol=1e-4, atol=1e-5)
        r = torch.exp(ref_logp - logp)
        per_token = 0.5 * (r * r.log() - (1 + r) * torch.log((1 + r) / 2)) * torch.exp(logp - logp.detach())
    else:
        p, q = lp_all.exp(), lq_all.exp()
        m = (p + q) / 2
        per_token = 0.5 * ((p * (p / m).log()).sum(-1) + (q * (q / m).log()).sum(-1))
    penalty = ((per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1)).mean()
    assert penalty.item() > 1e-3
    expected = policy + BETA * penalty
    g_expected = torch.autograd.grad(expected, params)

    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-6)
    for a, b in zip(g_ours, g_expected, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-5)
    logged = tr._metrics["train"]
    assert logged["penalty"][-1] == pytest.approx(BETA * penalty.item(), rel=1e-3)
    assert logged["js"][-1] > 0 and logged["kl"][-1] > 0
    assert logged["js"][-1] < math.log(2)


@pytest.mark.parametrize(("divergence", "js_mode"), [("kl", "sampled"), ("js", "sampled"), ("js", "full")])
def test_one_training_step_changes_weights_and_logs_the_penalty(tiny_llama, prompts, tmp_path, divergence, js_mode):
    tr = make_trainer(tiny_llama, prompts, tmp_path, divergence, js_mode)
    before = {n: p.detach().clone() for n, p in tr.model.named_parameters()}
    tr.train()
    changed = [n for n, p in tr.model.named_parameters() if not torch.equal(before[n], p.detach())]
    assert len(changed) == len(before), f"unchanged: {set(before) - set(changed)}"
    log = tr.state.log_history[0]
    assert log["penalty"] > 0 and log["kl"] > 0
    assert ("js" in log) == (divergence == "js")
    # the penalty is part of the optimized loss: with beta = 0 the same step gives another update
    tr0 = make_trainer(tiny_llama, prompts, tmp_path, divergence, js_mode, beta=0.0)
    tr0.train()
    assert "penalty" not in tr0.state.log_history[0]
    delta = max((p0 - p).abs().max().item() for p0, p in zip(tr0.model.parameters(), tr.model.parameters(), strict=True))
    assert delta > 1e-6


def test_rejects_unknown_divergence(tiny_llama, prompts, tmp_path):
    with pytest.raises(ValueError, match="divergence"):
        make_trainer(tiny_llama, prompts, tmp_path, "tv")
    with pytest.raises(ValueError, match="js_mode"):
        make_trainer(tiny_llama, prompts, tmp_path, "js", "exact")


def test_js_full_with_a_peft_adapter(tiny_llama, prompts, tmp_path):
    """With LoRA there is no separate reference model: TRL scores the reference with the adapter
    disabled, and the full JS picks those hidden states up as the reference."""
    from peft import LoraConfig

    cfg = dict(
        output_dir=str(tmp_path / "peft"), per_device_train_batch_size=G, num_generations=G, max_completion_length=8,
        max_steps=2, beta=BETA, learning_rate=5e-2, report_to=[], use_cpu=True, bf16=False, logging_steps=1,
        save_strategy="no", seed=0, disable_tqdm=True, divergence="js", js_mode="full", js_vocab_chunk=100,
    )  # fmt: skip
    tr = M2MGRPOTrainer(
        model=tiny_llama, reward_funcs=length_reward, args=M2MGRPOConfig(**cfg), train_dataset=prompts,
        peft_config=LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False),
    )  # fmt: skip
    assert tr.ref_model is None
    tr.train()
    logs = [h for h in tr.state.log_history if "js" in h]
    assert len(logs) == 2 and all(h["js"] > 0 and h["penalty"] > 0 for h in logs)
