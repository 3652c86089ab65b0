"""The per-token penalties against an explicit softmax computation (values and gradients)."""

from __future__ import annotations

import math

import pytest
import torch

from train.divergence import (
    js_from_logits,
    js_full,
    js_sampled,
    kl_k3,
    per_token_penalty,
)

torch.set_num_threads(1)


def _explicit_js(logits, ref_logits):
    """JS straight from eq. 5 of the paper, with explicit softmaxes and no shared code."""
    p = torch.softmax(logits, -1)
    q = torch.softmax(ref_logits, -1)
    m = (p + q) / 2
    return 0.5 * ((p * (p / m).log()).sum(-1) + (q * (q / m).log()).sum(-1))


def _logits(h, w, b, scale, softcap, temperature):
    y = h @ w.t()
    if b is not None:
        y = y + b
    y = y * scale
    if softcap is not None:
        y = softcap * torch.tanh(y / softcap)
    return y / temperature


@pytest.mark.parametrize("softcap", [None, 4.0])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_js_full_matches_explicit_softmax(softcap, dtype):
    g = torch.Generator().manual_seed(1)
    n, hdim, vocab = 11, 6, 53  # vocab not a multiple of the chunk, tokens not of the token chunk
    h = torch.randn(n, hdim, generator=g, dtype=dtype).requires_grad_()
    w = torch.randn(vocab, hdim, generator=g, dtype=dtype).requires_grad_()
    b = (0.3 * torch.randn(vocab, generator=g, dtype=dtype)).requires_grad_()
    hr = torch.randn(n, hdim, generator=g, dtype=dtype)
    wr = w.detach() + 0.5 * torch.randn(vocab, hdim, generator=g, dtype=dtype)
    br = torch.randn(vocab, generator=g, dtype=dtype)
    kw = dict(scale=1.2, softcap=softcap, temperature=0.8)

    got = js_full(
        h, w, hr, wr, bias=b, ref_bias=br, temperature=0.8, logit_scale=1.2, softcap=softcap,
        vocab_chunk=8, token_chunk=4,
    )
    want = _explicit_js(_logits(h, w, b, **kw), _logits(hr, wr, br, **kw))
    tol = dict(rtol=1e-9, atol=1e-12) if dtype == torch.float64 else dict(rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(got, want, **tol)
    assert (got > 0).all()

    # Gradients of a weighted sum, so each token's gradient is checked with its own weight.
    weights = torch.rand(n, generator=g, dtype=dtype)
    g_got = torch.autograd.grad((got * weights).sum(), [h, w, b])
    g_want = torch.autograd.grad((want * weights).sum(), [h, w, b])
    tol = dict(rtol=1e-8, atol=1e-11) if dtype == torch.float64 else dict(rtol=1e-3, atol=1e-5)
    for a, e in zip(g_got, g_want, strict=True):
        torch.testing.assert_close(a, e, **tol)


def test_js_full_gradcheck_and_no_reference_gradient():
    g = torch.Generator().manual_seed(2)
    h = torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(9, 4, generator=g, dtype=torch.float64, requires_grad=True)
    hr = torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    wr = torch.randn(9, 4, generator=g, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda a, c: js_full(a, c, hr, wr, vocab_chunk=4), (h, w))
    js_full(h, w, hr, wr).sum().backward()
    assert hr.grad is None  # the reference is a constant


def test_js_full_identical_models_is_zero_and_bounded_by_log2():
    g = torch.Generator().manual_seed(3)
    h = torch.randn(5, 4, generator=g, dtype=torch.float64)
    w = torch.randn(20, 4, generator=g, dtype=torch.float64)
    torch.testing.assert_close(js_full(h, w, h, w), torch.zeros(5, dtype=torch.float64), atol=1e-12, rtol=0)
    far = js_full(50 * h, w, -50 * h, w)
    assert (far <= math.log(2) + 1e-12).all() and (far > 0.5).all()


def test_js_full_keeps_leading_shape():
    g = torch.Generator().manual_seed(4)
    h = torch.randn(2, 3, 4, generator=g)
    w = torch.randn(10, 4, generator=g)
    out = js_full(h, w, h.flip(0), w)
    assert out.shape == (2, 3)
    torch.testing.assert_close(out, js_from_logits(h @ w.t(), h.flip(0) @ w.t()))


def test_js_full_stays_float32_under_bf16_autocast():
    g = torch.Generator().manual_seed(8)
    h = torch.randn(6, 16, generator=g).requires_grad_()
    w = torch.randn(300, 16, generator=g).requires_grad_()
    hr = h.detach() + 0.01 * torch.randn(6, 16, generator=g)
    plain = js_full(h, w, hr, w, vocab_chunk=64)
    g_plain = torch.autograd.grad(plain.sum(), [h, w])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        auto = js_full(h, w, hr, w, vocab_chunk=64)
        g_auto = torch.autograd.grad(auto.sum(), [h, w])
    assert auto.dtype == torch.float32
    torch.testing.assert_close(auto, plain, rtol=1e-5, atol=1e-8)
    for a, b in zip(g_auto, g_plain, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-8)


def test_js_full_rejects_mismatched_inputs():
    h, w = torch.randn(3, 4), torch.randn(10, 4)
    with pytest.raises(ValueError, match="vocabulary"):
        js_full(h, w, h, torch.randn(11, 4))
    with pytest.raises(ValueError, match="tokens"):
        js_full(h, w, torch.randn(2, 4), w)


def test_js_sampled_values_match_the_formula_and_are_nonnegative():
    g = torch.Generator().manual_seed(5)
    logp = -torch.rand(1000, generator=g, dtype=torch.float64) * 12
    ref = -torch.rand(1000, generator=g, dtype=torch.float64) * 12
    r = torch.exp(ref - logp)
    want = 0.5 * (r * r.log() - (1 + r) * ((1 + r) / 2).log())
    torch.testing.assert_close(js_sampled(logp, ref), want, rtol=1e-9, atol=1e-12)
    assert (js_sampled(logp, ref) >= 0).all()
    # r -> 0 gives log(2)/2, r = 1 gives 0; no NaN at the extremes
    ends = js_sampled(torch.tensor([0.0, -3.0, -80.0]), torch.tensor([-200.0, -3.0, 0.0]))
    assert torch.isfinite(ends).all()
    assert ends[0].item() == pytest.approx(math.log(2) / 2) and ends[1].item() == 0.0


def test_sampled_estimators_are_exact_in_expectation_values_and_gradients():
    """Summing p_v * f(q_v / p_v) over the vocabulary gives JS exactly; with the importance
    weight exp(logp - logp.detach()) the expected gradient is the gradient of JS."""
    g = torch.Generator().manual_seed(6)
    logits = torch.randn(4, 30, generator=g, dtype=torch.float64, requires_grad=True)
    ref_logits = torch.randn(4, 30, generator=g, dtype=torch.float64)
    logp = torch.log_softmax(logits, -1)  # every token as "the sampled one"
    ref_logp = torch.log_softmax(ref_logits, -1)
    w = torch.exp(logp - logp.detach())
    p_sample = logp.detach().exp()  # the sampling distribution (pi_old = pi_theta here)

    est = (p_sample * w * js_sampled(logp, ref_logp)).sum(-1)
    exact = _explicit_js(logits, ref_logits)
    torch.testing.assert_close(est, exact, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(
        torch.autograd.grad(est.sum(), logits)[0], torch.autograd.grad(exact.sum(), logits)[0], rtol=1e-8, atol=1e-12
    )
    # The same identity for TRL's k3 and the reverse KL
    kl = (p_sample * w * kl_k3(logp, ref_logp)).sum(-1)
    kl_exact = (logp.exp() * (logp - ref_logp)).sum(-1)
    torch.testing.assert_close(kl, kl_exact, rtol=1e-10, atol=1e-12)


def test_js_sampled_is_unbiased_monte_carlo():
    """Mean of f over tokens sampled from the policy converges to the exact JS (within 4 standard errors)."""
    g = torch.Generator().manual_seed(7)
    logits = 2 * torch.randn(3, 50, generator=g, dtype=torch.float64)
    ref_logits = 2 * torch.randn(3, 50, generator=g, dtype=torch.float64)
    exact = _explicit_js(logits, ref_logits)
    n = 200_000
    idx = torch.multinomial(torch.softmax(logits, -1), n, replacement=True, generator=g)
    logp = torch.log_softmax(logits, -1).gather(1, idx)
    ref_logp = torch.log_softmax(ref_logits, -1).gather(1, idx)
    f = js_sampled(logp, ref_logp)
    mean, se = f.mean(1), f.std(1) / math.sqrt(n)
    assert ((mean - exact).abs() < 4 * se).all(), (mean, exact, se)
    # and it is not trivially equal to something else: the KL estimator has a different mean
    assert ((kl_k3(logp, ref_logp).mean(1) - exact).abs() > 10 * se).all()


def test_per_token_penalty_dispatch():
    a, b = torch.tensor([-1.0]), torch.tensor([-2.0])
    assert per_token_penalty("kl", a, b).item() == pytest.approx(math.exp(-1) + 1 - 1)
    assert per_token_penalty("js", a, b).item() == pytest.approx(js_sampled(a, b).item())
    with pytest.raises(ValueError, match="hidden states"):
        per_token_penalty("js", a, b, js_mode="full")
    with pytest.raises(ValueError, match="unknown divergence"):
        per_token_penalty("tv", a, b)
