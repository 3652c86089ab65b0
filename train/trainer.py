"""TRL's GRPOTrainer with a choice of penalty: ``divergence: kl | js`` (Motion-R1 eq. 3).

TRL computes its per-token KL estimate inline in ``GRPOTrainer._compute_loss``. This subclass
runs TRL's loss unchanged with the penalty switched off (``beta`` is 0 while it runs), then adds
``beta * penalty`` reduced over tokens exactly the way TRL reduces its per-token loss for the
configured ``loss_type``. Because the loss is linear in the per-token terms, this equals TRL's
loss with TRL's KL term replaced by ours; for ``divergence="kl"`` it reproduces TRL's stock loss
(tested). The per-token penalties come from :mod:`train.divergence`:

* ``kl``: TRL's ``k3`` estimate, weighted by ``exp(logp - old_logp)`` when
  ``use_bias_correction_kl`` is on (TRL's default), as TRL does.
* ``js`` / ``js_mode="sampled"``: ``f(r)`` at the sampled token, weighted the same way.
* ``js`` / ``js_mode="full"``: the exact per-position JS over the vocabulary from both models'
  last hidden states and LM heads (vocabulary-chunked). It already averages over the next
  token analytically, so no importance weight is applied. The reference hidden states are
  captured (detached) while TRL computes the reference log-probabilities, and travel with
  the batch as ``ref_hidden_states``; the policy's come from the loss forward, through a
  forward hook on the backbone, so no extra forward pass runs. With a PEFT adapter (no
  separate reference model) the reference is the adapter-disabled pass and the reference LM
  head is the policy's frozen head, so adapters on the LM head itself are not supported.

Logged each step (``train/`` prefix in the logs): ``kl`` (the k3 estimate, for every
divergence, so KL and JS runs can be compared), ``js`` (the JS value used, JS runs only)
and ``penalty`` (``beta`` times the reduced penalty that was added to the loss).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from accelerate.utils import is_peft_model
from trl import GRPOConfig, GRPOTrainer

from .divergence import DEFAULT_TOKEN_CHUNK, DEFAULT_VOCAB_CHUNK, js_full, js_sampled, kl_k3

DIVERGENCES = ("kl", "js")
JS_MODES = ("sampled", "full")


def _logit_transform(config) -> tuple[float, float | None]:
    """``(logit_scale, final_logit_softcapping)`` read from a model config as TRL's fused LM head reads them."""
    tc = config.get_text_config() if hasattr(config, "get_text_config") else config
    softcap = getattr(tc, "final_logit_softcapping", None)
    scale = getattr(tc, "logit_scale", None)
    if scale is None:
        scale = getattr(tc, "output_multiplier", None)
    if scale is None:
        scale = getattr(tc, "lm_head_multiplier", None)
    if scale is None and getattr(tc, "logits_scaling", None) is not None:
        scale = tc.logits_scaling if tc.model_type == "hyperclovax" else 1 / tc.logits_scaling
    return (1.0 if scale is None else float(scale)), softcap


class M2MGRPOTrainer(GRPOTrainer):
    """``GRPOTrainer`` whose penalty is ``beta * D`` with ``D`` the KL or the Jensen-Shannon divergence.

    Extra arguments (each defaults to the attribute of the same name on ``args`` if present):
    ``divergence`` (``"kl"`` or ``"js"``), ``js_mode`` (``"sampled"`` or ``"full"``),
    ``js_vocab_chunk`` (vocabulary entries per projection in the full mode).
    """

    def __init__(
        self,
        *args: Any,
        divergence: str | None = None,
        js_mode: str | None = None,
        js_vocab_chunk: int | None = None,
        **kwargs: Any,
    ):
        targs = kwargs.get("args") if "args" in kwargs else (args[2] if len(args) > 2 else None)
        self.divergence = divergence or getattr(targs, "divergence", None) or "kl"
        self.js_mode = js_mode or getattr(targs, "js_mode", None) or "sampled"
        self.js_vocab_chunk = int(js_vocab_chunk or getattr(targs, "js_vocab_chunk", None) or DEFAULT_VOCAB_CHUNK)
        if self.divergence not in DIVERGENCES:
            raise ValueError(f"divergence must be one of {DIVERGENCES}, got {self.divergence!r}")
        if self.js_mode not in JS_MODES:
            raise ValueError(f"js_mode must be one of {JS_MODES}, got {self.js_mode!r}")
        self._loss_capture: dict | None = None
        self._ref_capture: list | None = None
        super().__init__(*args, **kwargs)

    # ------------------------------------------------------------------ helpers

    @property
    def _full_js(self) -> bool:
        return self.divergence == "js" and self.js_mode == "full" and self.beta != 0.0

    def _causal_lm(self, model):
        m = self.accelerator.unwrap_model(model)
        return m.get_base_model() if is_peft_model(m) else m

    def _get_per_token_logps_and_entropies(self, model, input_ids, attention_mask, logits_to_keep, *args, **kwargs):
        sink = self._loss_capture
        ref_sink = self._ref_capture
        want_hidden = (sink is not None and sink.get("want_hidden")) or ref_sink is not None
        captured: list[torch.Tensor] = []
        handle = None
        if want_hidden:
            backbone = self._causal_lm(model).base_model

            def hook(_module, _inputs, output):
                hs = output.last_hidden_state if hasattr(output, "last_hidden_state") else output[0]
                # log_probs[:, -k:] are predicted from hidden positions [L-1-k, L-1)
                captured.append(hs[:, -(logits_to_keep + 1) : -1])

            handle = backbone.register_forward_hook(hook)
        try:
            result = super()._get_per_token_logps_and_entropies(
                model, input_ids, attention_mask, logits_to_keep, *args, **kwargs
            )
        finally:
            if handle is not None:
                handle.remove()
        hidden = torch.cat(captured, 0) if captured else None
        if sink is not None:
            sink["logps"] = result[0]
            sink["hidden"] = hidden
        elif ref_sink is not None and hidden is not None:
            ref_sink.append((model is self.ref_model, hidden.detach()))
        return result

    def _generate_and_score_completions(self, inputs):
        if not self._full_js:
            return super()._generate_and_score_completions(inputs)
        self._ref_capture = []
        try:
            output = super()._generate_and_score_completions(inputs)
            captured = self._ref_capture
        finally:
            self._ref_capture = None
        from_ref = [h for is_ref, h in captured if is_ref]
        # With PEFT there is no separate reference model: its call (adapter disabled) is the last one.
        if from_ref:
            output["ref_hidden_states"] = from_ref[-1]
        elif captured and self.ref_model is None:
            output["ref_hidden_states"] = captured[-1][1]
        else:  # pragma: no cover - TRL always scores the reference when beta != 0
            raise RuntimeError("js full: the reference forward pass was not observed")
        return output

    def _reduce(self, per_token: torch.Tensor, mask: torch.Tensor, inputs: dict, mode: str) -> torch.Tensor:
        """Reduce a per-token term to the loss exactly as ``GRPOTrainer._compute_loss`` does for ``loss_type``."""
        lt = self.loss_type
        accum = self.current_gradient_accumulation_steps if mode == "train" else 1.0
        if lt in ("grpo", "sapo"):
            return ((per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean() / accum
        if lt == "bnpo":
            return (per_token * mask).sum() / mask.sum().clamp(min=1.0) / accum
        if lt == "dr_grpo":
            return (per_token * mask).sum() / (per_token.size(0) * self.max_completion_length) / accum
        if lt in ("cispo", "dapo", "vespo"):
            normalizer = inputs["num_items_in_batch"].clamp(min=1.0) / self.accelerator.num_processes
            if mode == "train":
                normalizer = normalizer * self.current_gradient_accumulation_steps / self.args.steps_per_generation
            return (per_token * mask).sum() / normalizer
        if lt == "luspo":
            return (per_token * mask).sum(-1).mean() / accum
        raise ValueError(f"unsupported loss_type {lt!r}")

    def _masked_mean(self, x: torch.Tensor, mask: torch.Tensor) -> float:
        totals = self.accelerator.reduce(torch.stack([(x * mask).sum(), mask.sum().float()]), reduction="sum")
        return (totals[0] / totals[1].clamp(min=1.0)).item()

    # ------------------------------------------------------------------ loss

    def _compute_loss(self, model, inputs):
        if self.beta == 0.0:
            return super()._compute_loss(model, inputs)
        beta = self.beta
        self._loss_capture = {"want_hidden": self._full_js}
        self.beta = 0.0  # TRL's loss without its inline KL term
        try:
            loss = super()._compute_loss(model, inputs)
            cap = self._loss_capture
        finally:
            self.beta = beta
            self._loss_capture = None
        logps = cap["logps"]
        ref_logps = inputs["ref_per_token_logps"]
        mask = inputs["completion_mask"]
        if "tool_mask" in inputs:
            mask = mask * inputs["tool_mask"]
        mode = "train" if self.model.training else "eval"

        # The importance weight TRL applies to its KL term (use_bias_correction_kl)
        old = inputs.get("old_per_token_logps")
        old = logps.detach() if old is None else old
        log_ratio = logps - old
        if self.importance_sampling_level == "sequence":
            log_ratio = ((log_ratio * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).unsqueeze(-1)
        coef = torch.exp(log_ratio)
        weighted = bool(getattr(self.args, "use_bias_correction_kl", False))

        kl = kl_k3(logps, ref_logps)
        if self.divergence == "kl":
            per_token = kl * coef if weighted else kl
        elif self.js_mode == "sampled":
            js = js_sampled(logps, ref_logps)
            per_token = js * coef if weighted else js
        else:
            per_token = self._full_js_per_token(model, cap["hidden"], inputs["ref_hidden_states"], mask)
            js = per_token
        penalty = self._reduce(per_token, mask, inputs, mode)
        loss = loss + beta * penalty

        with torch.no_grad():
            self._metrics[mode]["kl"].append(self._masked_mean(kl.detach(), mask))
            if self.divergence == "js":
                self._metrics[mode]["js"].append(self._masked_mean(js.detach(), mask))
            accum = self.current_gradient_accumulation_steps if mode == "train" else 1.0
            self._metrics[mode]["penalty"].append(
                self.accelerator.gather(beta * penalty.detach() * accum).mean().item()
            )
        return loss

    def _full_js_per_token(self, model, hidden, ref_hidden, mask) -> torch.Tensor:
        """Exact per-token JS at the completion positions, zero elsewhere; shape of ``mask``."""
        if hidden is None:  # pragma: no cover - the hook always fires on a transformers backbone
            raise RuntimeError("js full: the policy hidden states were not captured")
        lm = self._causal_lm(model)
        head = lm.get_output_embeddings()
        ref_lm = self.ref_model if self.ref_model is not None else lm
        ref_head = ref_lm.get_output_embeddings()
        scale, softcap = _logit_transform(lm.config)
        ref_scale, ref_softcap = _logit_transform(ref_lm.config)
        sel = mask.bool()
        weight = head.weight
        per_valid = js_full(
            hidden[sel].to(weight.device),
            weight,
            ref_hidden[sel].to(ref_head.weight.device),
            ref_head.weight,
            bias=head.bias,
            ref_bias=ref_head.bias,
            temperature=self.temperature,
            logit_scale=scale,
            ref_logit_scale=ref_scale,
            softcap=softcap,
            ref_softcap=ref_softcap,
            vocab_chunk=self.js_vocab_chunk,
            token_chunk=DEFAULT_TOKEN_CHUNK,
        )
        out = per_valid.new_zeros(mask.shape)
        return out.masked_scatter(sel, per_valid.to(out.dtype))


@dataclass
class M2MGRPOConfig(GRPOConfig):
    """``GRPOConfig`` plus the penalty choice (saved with the run's training arguments)."""

    divergence: str = field(default="kl", metadata={"help": "Penalty: 'kl' (TRL's k3) or 'js' (Jensen-Shannon)."})
    js_mode: str = field(
        default="sampled",
        metadata={"help": "JS estimator: 'sampled' (sampled token only) or 'full' (exact, over the vocabulary)."},
    )
    js_vocab_chunk: int = field(
        default=DEFAULT_VOCAB_CHUNK, metadata={"help": "Vocabulary entries projected at once by the full JS."}
    )
