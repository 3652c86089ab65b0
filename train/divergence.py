"""Per-token divergences between the policy and the reference policy, for the GRPO penalty.

Motion-R1 (paper eq. 3 and eq. 5) regularizes GRPO with the Jensen-Shannon divergence
``D_JS(pi_theta || pi_ref) = 1/2 [KL(pi_theta || m) + KL(pi_ref || m)]``, ``m = (pi_theta + pi_ref)/2``,
where TRL's GRPOTrainer uses a KL estimate. Three per-token penalties live here, each a
function of one completion position ``t`` (the next-token distributions given the prompt and
the completion so far):

``kl``           :func:`kl_k3` -- TRL's estimator of ``KL(pi_theta || pi_ref)`` from the sampled
                 token only: with ``x = log pi_ref(o_t) - log pi_theta(o_t)``,
                 ``k3 = exp(x) - x - 1`` (non-negative, unbiased under ``pi_theta``).
``js sampled``   :func:`js_sampled` -- the analogous estimator of the JS divergence: with
                 ``r = pi_ref(o_t) / pi_theta(o_t)``,
                 ``f(r) = 1/2 [ r log r - (1 + r) log((1 + r)/2) ]``.
                 ``f`` is convex with ``f(1) = f'(1) = 0``, so ``f >= 0``, and
                 ``E_{o ~ pi_theta}[f(pi_ref(o)/pi_theta(o))] = D_JS(pi_theta || pi_ref)`` exactly.
``js full``      :func:`js_full` -- the exact per-token ``D_JS`` summed over the whole
                 vocabulary, from both models' last hidden states and LM heads, computed in
                 vocabulary chunks (never a ``[tokens, vocab]`` tensor of either model).

The sampled estimators become exact-gradient estimators when multiplied by the importance
weight ``w = exp(log pi_theta - log pi_old)`` (value 1 on-policy, gradient ``grad log pi_theta``):
``grad E_{pi_old}[w f(r)] = grad D``. The trainer applies that weight exactly where TRL applies
it to its KL term (``use_bias_correction_kl``).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F

Divergence = Literal["kl", "js"]
JSMode = Literal["sampled", "full"]

LOG2 = math.log(2.0)
#: Default number of vocabulary entries projected at once by :func:`js_full`.
DEFAULT_VOCAB_CHUNK = 4096
#: Default number of token rows projected at once by :func:`js_full`.
DEFAULT_TOKEN_CHUNK = 2048


def kl_k3(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """TRL's per-token KL estimate ``exp(x) - x - 1`` with ``x = ref_logp - logp`` (same formula, same order).

    ``logp``/``ref_logp`` are the log-probabilities of the sampled tokens under the policy and
    the reference model; the result has their shape.
    """
    x = ref_logp - logp
    return torch.exp(x) - x - 1


def js_sampled(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Per-token JS estimate ``f(r) = 1/2 [r log r - (1 + r) log((1 + r)/2)]``, ``r = exp(ref_logp - logp)``.

    Evaluated as ``1/2 [ r (log 2 - softplus(-x)) + (log 2 - softplus(x)) ]`` with
    ``x = log r``, an algebraically equal form that stays finite for ``r -> 0`` (``f -> log(2)/2``)
    and avoids subtracting two large ``r log r`` terms for large ``r``. Non-negative; its
    expectation over tokens drawn from the policy is ``D_JS(pi_theta || pi_ref)``.
    """
    x = ref_logp - logp
    r = torch.exp(x)
    f = 0.5 * (r * (LOG2 - F.softplus(-x)) + (LOG2 - F.softplus(x)))
    # The closed form is >= 0; rounding can leave -1e-8 around r = 1.
    return f.clamp_min(0.0)


def js_from_logits(logits: torch.Tensor, ref_logits: torch.Tensor) -> torch.Tensor:
    """Reference (materializing) per-row ``D_JS(softmax(logits) || softmax(ref_logits))`` over the last axis.

    ``1/2 sum_v [p_v log(p_v/m_v) + q_v log(q_v/m_v)]``, ``m = (p + q)/2``. For tests and small
    vocabularies; :func:`js_full` computes the same value without the ``[N, V]`` tensors.
    """
    lp = torch.log_softmax(logits, dim=-1)
    lq = torch.log_softmax(ref_logits, dim=-1)
    lm = torch.logaddexp(lp, lq) - LOG2
    return 0.5 * (lp.exp() * (lp - lm) + lq.exp() * (lq - lm)).sum(-1)


# --------------------------------------------------------------------------- js full (chunked)


def _project(h, weight, bias, start, end, scale, softcap, inv_t, dtype):
    """Logits of rows ``h`` for vocabulary ``[start, end)``: ``((h W^T + b) * scale -> softcap) / T``.

    Returns the transformed logits and, with a softcap, ``tanh`` (for the backward).
    """
    y = h @ weight[start:end].to(dtype).t()
    if bias is not None:
        y = y + bias[start:end].to(dtype)
    y = y * scale if scale != 1.0 else y
    th = None
    if softcap is not None:
        th = torch.tanh(y / softcap)
        y = softcap * th
    return (y * inv_t if inv_t != 1.0 else y), th


class _ChunkedJS(torch.autograd.Function):
    """Exact per-token JS between two LM heads' softmaxes, vocabulary-chunked in both passes.

    Forward: pass 1 folds each vocabulary chunk of both models into online log-sum-exp
    statistics; pass 2 re-projects each chunk and accumulates ``JS`` and ``KL(p || m)``.
    Backward re-projects each chunk and forms the policy-logit gradient
    ``dJS/dz_v = 1/2 p_v [log(p_v/m_v) - KL(p || m)]`` (the reference gets none), then the
    gradients of the hidden states, weight and bias chunk by chunk.
    """

    @staticmethod
    def forward(ctx, h, w, b, h_ref, w_ref, b_ref, scale, ref_scale, softcap, ref_softcap,
                inv_t, vocab_chunk, token_chunk):  # fmt: skip
        dtype = torch.float64 if h.dtype == torch.float64 else torch.float32
        n, vocab = h.shape[0], w.shape[0]
        if w_ref.shape[0] != vocab:
            raise ValueError(f"js_full: policy vocabulary {vocab} != reference vocabulary {w_ref.shape[0]}")
        js = torch.zeros(n, dtype=dtype, device=h.device)
        kl_pm = torch.zeros(n, dtype=dtype, device=h.device)
        lse_p = torch.empty(n, dtype=dtype, device=h.device)
        lse_q = torch.empty(n, dtype=dtype, device=h.device)
        with torch.no_grad():
            for t0 in range(0, n, token_chunk):
                t1 = min(t0 + token_chunk, n)
                hp = h[t0:t1].detach().to(dtype)
                hq = h_ref[t0:t1].detach().to(dtype)
                mp = torch.full((t1 - t0,), -math.inf, dtype=dtype, device=h.device)
                mq, sp, sq = mp.clone(), torch.zeros_like(mp), torch.zeros_like(mp)
                for v0 in range(0, vocab, vocab_chunk):
                    v1 = min(v0 + vocab_chunk, vocab)
                    zp, _ = _project(hp, w, b, v0, v1, scale, softcap, inv_t, dtype)
                    zq, _ = _project(hq, w_ref, b_ref, v0, v1, ref_scale, ref_softcap, inv_t, dtype)
                    for z, m, s in ((zp, mp, sp), (zq, mq, sq)):
                        new_m = torch.maximum(m, z.amax(-1))
                        s.mul_(torch.exp(m - new_m)).add_(torch.exp(z - new_m[:, None]).sum(-1))
                        m.copy_(new_m)
                lse_p[t0:t1] = mp + torch.log(sp)
                lse_q[t0:t1] = mq + torch.log(sq)
                for v0 in range(0, vocab, vocab_chunk):
                    v1 = min(v0 + vocab_chunk, vocab)
                    zp, _ = _project(hp, w, b, v0, v1, scale, softcap, inv_t, dtype)
                    zq, _ = _project(hq, w_ref, b_ref, v0, v1, ref_scale, ref_softcap, inv_t, dtype)
                    lp = zp - lse_p[t0:t1, None]
                    lq = zq - lse_q[t0:t1, None]
                    lm = torch.logaddexp(lp, lq) - LOG2
                    a = lp.exp() * (lp - lm)
                    kl_pm[t0:t1] += a.sum(-1)
                    js[t0:t1] += 0.5 * (a + lq.exp() * (lq - lm)).sum(-1)
        ctx.save_for_backward(h, w, b, h_ref, w_ref, b_ref, lse_p, lse_q, kl_pm)
        ctx.cfg = (scale, ref_scale, softcap, ref_softcap, inv_t, vocab_chunk, token_chunk, dtype)
        return js.clamp_min(0.0).to(h.dtype)

    @staticmethod
    def backward(ctx, grad_js):
        h, w, b, h_ref, w_ref, b_ref, lse_p, lse_q, kl_pm = ctx.saved_tensors
        scale, ref_scale, softcap, ref_softcap, inv_t, vocab_chunk, token_chunk, dtype = ctx.cfg
        need_h, need_w, need_b = ctx.needs_input_grad[:3]
        n, vocab = h.shape[0], w.shape[0]
        gh = torch.zeros(h.shape, dtype=dtype, device=h.device) if need_h else None
        gw = torch.zeros(w.shape, dtype=dtype, device=w.device) if need_w else None
        gb = torch.zeros(b.shape, dtype=dtype, device=b.device) if (need_b and b is not None) else None
        g = grad_js.to(dtype)
        with torch.no_grad(), torch.autocast(h.device.type, enabled=False):
            for t0 in range(0, n, token_chunk):
                t1 = min(t0 + token_chunk, n)
                hp = h[t0:t1].to(dtype)
                hq = h_ref[t0:t1].to(dtype)
                for v0 in range(0, vocab, vocab_chunk):
                    v1 = min(v0 + vocab_chunk, vocab)
                    zp, th = _project(hp, w, b, v0, v1, scale, softcap, inv_t, dtype)
                    zq, _ = _project(hq, w_ref, b_ref, v0, v1, ref_scale, ref_softcap, inv_t, dtype)
                    lp = zp - lse_p[t0:t1, None]
                    lq = zq - lse_q[t0:t1, None]
                    lm = torch.logaddexp(lp, lq) - LOG2
                    gz = 0.5 * lp.exp() * (lp - lm - kl_pm[t0:t1, None]) * g[t0:t1, None]
                    # back through z = softcap * tanh(scale * y / softcap) / T
                    gz = gz * inv_t if inv_t != 1.0 else gz
                    if th is not None:
                        gz = gz * (1 - th * th)
                    gz = gz * scale if scale != 1.0 else gz
                    if gh is not None:
                        gh[t0:t1] += gz @ w[v0:v1].to(dtype)
                    if gw is not None:
                        gw[v0:v1] += gz.t() @ hp
                    if gb is not None:
                        gb[v0:v1] += gz.sum(0)
        return (
            gh.to(h.dtype) if gh is not None else None,
            gw.to(w.dtype) if gw is not None else None,
            gb.to(b.dtype) if gb is not None else None,
            *([None] * 10),
        )


def js_full(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    ref_hidden: torch.Tensor,
    ref_weight: torch.Tensor,
    *,
    bias: torch.Tensor | None = None,
    ref_bias: torch.Tensor | None = None,
    temperature: float = 1.0,
    logit_scale: float = 1.0,
    ref_logit_scale: float | None = None,
    softcap: float | None = None,
    ref_softcap: float | None = None,
    vocab_chunk: int = DEFAULT_VOCAB_CHUNK,
    token_chunk: int = DEFAULT_TOKEN_CHUNK,
) -> torch.Tensor:
    """Exact per-token ``D_JS(pi_theta || pi_ref)`` over the full vocabulary, shape ``hidden.shape[:-1]``.

    ``hidden``/``ref_hidden``: ``[..., H]`` last hidden states of the policy and the reference
    at the positions that predict each token; ``weight``/``ref_weight``: ``[V, H]`` LM heads.
    Logits are ``softcap(scale * (h W^T + b)) / temperature`` as in TRL's fused LM head.
    Gradients flow to ``hidden``, ``weight`` and ``bias`` (the reference is a constant).
    At most ``token_chunk x vocab_chunk`` logits of each model exist at any time.
    """
    if vocab_chunk < 1 or token_chunk < 1:
        raise ValueError("js_full: vocab_chunk and token_chunk must be positive")
    if temperature <= 0:
        raise ValueError("js_full: temperature must be positive")
    lead = hidden.shape[:-1]
    if ref_hidden.shape[:-1] != lead:
        raise ValueError(f"js_full: hidden {tuple(hidden.shape)} and ref_hidden {tuple(ref_hidden.shape)} differ in tokens")
    # The projections run in float32 (float64 for float64 inputs) whatever autocast is active:
    # JS between nearby policies is a small difference of large terms.
    with torch.autocast(hidden.device.type, enabled=False):
        out = _apply_js(
            hidden, weight, bias, ref_hidden, ref_weight, ref_bias, logit_scale, ref_logit_scale, softcap,
            ref_softcap, temperature, vocab_chunk, token_chunk,
        )  # fmt: skip
    return out.reshape(lead)


def _apply_js(hidden, weight, bias, ref_hidden, ref_weight, ref_bias, logit_scale, ref_logit_scale, softcap,
              ref_softcap, temperature, vocab_chunk, token_chunk):  # fmt: skip
    return _ChunkedJS.apply(
        hidden.reshape(-1, hidden.shape[-1]),
        weight,
        bias,
        ref_hidden.reshape(-1, ref_hidden.shape[-1]).detach(),
        ref_weight.detach(),
        None if ref_bias is None else ref_bias.detach(),
        float(logit_scale),
        float(logit_scale if ref_logit_scale is None else ref_logit_scale),
        softcap,
        softcap if ref_softcap is None else ref_softcap,
        1.0 / float(temperature),
        int(vocab_chunk),
        int(token_chunk),
    )


def per_token_penalty(
    divergence: Divergence,
    logp: torch.Tensor,
    ref_logp: torch.Tensor,
    js_mode: JSMode = "sampled",
) -> torch.Tensor:
    """The sampled-token penalty for ``divergence`` (``kl`` -> :func:`kl_k3`, ``js`` sampled -> :func:`js_sampled`).

    The full-vocabulary JS needs hidden states and LM heads: call :func:`js_full`.
    """
    if divergence == "kl":
        return kl_k3(logp, ref_logp)
    if divergence == "js":
        if js_mode != "sampled":
            raise ValueError("per_token_penalty: js_mode='full' needs hidden states; use js_full()")
        return js_sampled(logp, ref_logp)
    raise ValueError(f"unknown divergence {divergence!r}: expected 'kl' or 'js'")
