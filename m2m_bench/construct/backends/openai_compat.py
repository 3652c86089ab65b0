"""``--backend openai``: any OpenAI-compatible chat endpoint (OpenAI, vLLM, ``transformers serve``,
llama.cpp).

* Bounded concurrency: at most ``concurrency`` requests in flight (a thread pool).
* Rate limit: with ``rpm`` set, request starts are spaced ``60 / rpm`` seconds apart
  (:class:`RateLimiter`), retries included.
* Retries: timeouts, connection errors, HTTP 429 and 5xx are retried up to ``max_retries``
  times. The wait before retry ``k`` is the server's ``Retry-After`` when it sends one (capped
  at ``max_backoff``), else the harness's :func:`m2m_bench.models.openai_api.backoff_delay`
  (``min(max_backoff, backoff * 2**(k-1))`` times a factor in [0.5, 1.5]). Other HTTP errors
  reject that one call (recorded against its record); exhausted retries stop the run.
* Accounting: prompt and completion tokens from the response's ``usage``; cost is
  ``(prompt_tokens * price_in + completion_tokens * price_out) / 1e6`` with prices in USD
  per million tokens (``--price-in``/``--price-out``; 0 when not given).

The endpoint helpers (URL normalization, key lookup, reachability probe, which errors are
transient, the backoff formula) are the harness's, from :mod:`m2m_bench.models.openai_api`.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ...models.openai_api import (
    DEFAULT_BASE_URL,
    backoff_delay,
    check_endpoint,
    is_transient,
    normalize_base_url,
    resolve_api_key,
)
from ..cache import Reply
from ._base import Backend, BackendUnavailable, Call, CallRejected, Sink

#: Decoding parameters sent as top-level request fields; anything else goes in ``extra_body``.
_TOP_LEVEL = ("temperature", "top_p", "max_tokens", "seed", "response_format", "stop")


class RateLimiter:
    """Space request starts at least ``60 / rpm`` seconds apart (no limit when ``rpm`` is falsy)."""

    def __init__(self, rpm: float | None):
        self.interval = 60.0 / rpm if rpm else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


def retry_after(exc: BaseException, cap: float) -> float | None:
    """Seconds from a ``Retry-After`` header (numeric form), capped at ``cap``."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    value = headers.get("retry-after")
    try:
        return min(cap, max(0.0, float(value))) if value is not None else None
    except ValueError:
        return None


class OpenAIBackend(Backend):
    kind = "openai"

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 4,
        rpm: float | None = None,
        max_retries: int = 6,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        timeout: float = 120.0,
        price_in: float = 0.0,
        price_out: float = 0.0,
        check: bool = True,
        **_: Any,
    ):
        import os

        import openai

        if not model:
            raise BackendUnavailable("--backend openai needs --model (the model name the endpoint serves)")
        self.model = model
        self.base_url = normalize_base_url(base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL)
        self.concurrency = max(1, int(concurrency))
        self.max_retries = max(0, int(max_retries))
        self.backoff, self.max_backoff = float(backoff), float(max_backoff)
        self.price_in, self.price_out = float(price_in), float(price_out)
        self.limiter = RateLimiter(rpm)
        self.rpm = rpm
        self.retries = 0
        self._lock = threading.Lock()
        self._rng = random.Random()
        if check:
            try:
                check_endpoint(self.base_url)
            except Exception as e:  # EndpointUnreachable: one clear error, the run cannot start
                raise BackendUnavailable(str(e)) from None
        self.client = openai.OpenAI(
            base_url=self.base_url, api_key=resolve_api_key(self.base_url, api_key_env), max_retries=0, timeout=timeout
        )

    def _kwargs(self, call: Call) -> dict[str, Any]:
        params = dict(call.params)
        kwargs: dict[str, Any] = {"model": self.model, "messages": call.messages}
        for k in _TOP_LEVEL:
            if params.get(k) is not None:
                kwargs[k] = params.pop(k)
        extra = params.pop("extra_body", None) or {}
        extra.update(params)  # any other parameter is the server's business
        if extra:
            kwargs["extra_body"] = extra
        return kwargs

    def _one(self, call: Call, sink: Sink) -> Reply:
        import openai

        kwargs = self._kwargs(call)
        attempt = 0
        while True:
            self.limiter.wait()
            sink.started(call)
            try:
                resp = self.client.chat.completions.create(**kwargs)
            except openai.APIError as e:
                if not is_transient(e):
                    status = getattr(e, "status_code", None)
                    raise CallRejected(f"HTTP {status}: {e}" if status else str(e)) from None
                attempt += 1
                if attempt > self.max_retries:
                    raise BackendUnavailable(
                        f"{self.base_url}: no usable answer after {attempt} attempts "
                        f"({type(e).__name__}: {e}); answered calls are cached, rerun to resume"
                    ) from None
                delay = retry_after(e, self.max_backoff)
                with self._lock:
                    self.retries += 1
                    if delay is None:
                        delay = backoff_delay(attempt, self.backoff, self.max_backoff, self._rng)
                time.sleep(delay)
                continue
            text = resp.choices[0].message.content if resp.choices else None
            usage = resp.usage
            pt = int(getattr(usage, "prompt_tokens", 0) or 0)
            ct = int(getattr(usage, "completion_tokens", 0) or 0)
            cost = (pt * self.price_in + ct * self.price_out) / 1e6
            return Reply(text or "", pt, ct, round(cost, 8), getattr(resp, "model", None))

    def run(self, calls: Sequence[Call], sink: Sink) -> None:
        if not calls:
            return
        pool = ThreadPoolExecutor(max_workers=min(self.concurrency, len(calls)))
        futures: dict[Future, Call] = {}
        todo = list(reversed(calls))
        stop: BackendUnavailable | None = None
        try:
            # At most 2 x concurrency submitted at once, so a stop abandons little queued work;
            # after a stop the calls already in flight are still delivered (they are paid for).
            while futures or (todo and stop is None):
                while stop is None and todo and len(futures) < 2 * self.concurrency:
                    c = todo.pop()
                    futures[pool.submit(self._one, c, sink)] = c
                done, _ = wait(list(futures), return_when=FIRST_COMPLETED)
                for f in done:
                    c = futures.pop(f)
                    try:
                        sink.finished(c, f.result())
                    except CallRejected as e:
                        sink.finished(c, e)
                    except BackendUnavailable as e:
                        stop = stop or e
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        if stop is not None:
            raise stop

    def describe(self) -> dict[str, Any]:
        parts = urlsplit(self.base_url)
        host = parts.hostname or ""
        public = urlunsplit(parts._replace(netloc=f"{host}:{parts.port}" if parts.port else host))  # no user:password
        return {
            "kind": self.kind,
            "model": self.model,
            "base_url": public,
            "concurrency": self.concurrency,
            "rpm": self.rpm,
            "max_retries": self.max_retries,
            "price_in_per_mtok": self.price_in,
            "price_out_per_mtok": self.price_out,
        }

    def close(self) -> None:
        self.client.close()
