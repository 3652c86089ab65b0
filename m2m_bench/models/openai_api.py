"""``openai:<model>``: any OpenAI-compatible chat endpoint (vLLM, ``transformers serve``,
llama.cpp, OpenAI).

Requests run on a thread pool of at most ``concurrency`` workers. Transient failures
(connection errors, timeouts, HTTP 429 and 5xx) are retried with exponential backoff and
jitter: the wait before retry ``k`` (k = 1, 2, ...) is ``min(max_backoff, backoff * 2**(k-1))``
times a uniform factor in [0.5, 1.5]. Other errors (HTTP 4xx) fail at once with the server's
message. Before the first request the endpoint is probed, so an unreachable server is one
clear error instead of a stack of retries.

The key comes from the environment variable ``api_key_env`` (default ``OPENAI_API_KEY``); a
local endpoint without a key gets a placeholder. The endpoint's revision is what the user
states (``--model-revision``), else the endpoint URL: a model name alone does not pin weights.
``extra_body`` is sent with every request (e.g. ``transformers serve`` needs
``{"generation_config": "{\\"do_sample\\": true}"}`` to sample).

No response prefix (assistant-turn prefill): a chat endpoint renders the template itself and,
given a trailing assistant message, closes it and starts a new assistant turn
(``transformers serve`` 5.x rejects ``continue_final_message``: HTTP 500 inside
``chat_template_kwargs``, 422 as a top-level field). :meth:`OpenAIModel.generate` therefore
refuses ``response_prefix`` (and ``include_stop``, which needs to know whether a stop string
was hit) with :class:`~m2m_bench.models.ResponsePrefixUnsupported`.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlparse

from ..errors import M2MError
from ._base import EndpointUnreachable, Messages, Model, ResponsePrefixUnsupported, register

DEFAULT_BASE_URL = "https://api.openai.com/v1"
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}


def normalize_base_url(url: str) -> str:
    """Strip trailing slashes; a bare ``http://host:port`` gets ``/v1``."""
    url = url.strip().rstrip("/")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise M2MError(f"--base-url {url!r} is not an http(s) URL (e.g. http://127.0.0.1:8000/v1)")
    if parsed.path in ("", "/"):
        url += "/v1"
    return url


def check_endpoint(base_url: str, timeout: float = 10.0) -> None:
    """Raise :class:`EndpointUnreachable` unless something answers HTTP at ``base_url``."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(base_url + "/models", timeout=timeout):
            pass
    except urllib.error.HTTPError:
        return  # it answered (401/404 are fine here: the server is there)
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise EndpointUnreachable(
            f"cannot reach the OpenAI-compatible endpoint {base_url}: {reason or type(e).__name__}"
        ) from None


def resolve_api_key(base_url: str, api_key_env: str) -> str:
    key = os.environ.get(api_key_env)
    if key:
        return key
    host = urlparse(base_url).hostname or ""
    if host in _LOCAL_HOSTS:
        return "EMPTY"
    raise M2MError(f"no API key for {base_url}: set the environment variable {api_key_env}")


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying: connection problems, timeouts, rate limits and server errors."""
    import openai

    if isinstance(exc, (openai.APIConnectionError, openai.APITimeoutError, openai.RateLimitError)):
        return True
    return isinstance(exc, openai.APIStatusError) and exc.status_code >= 500


def backoff_delay(attempt: int, backoff: float, max_backoff: float, rng: random.Random) -> float:
    """Seconds to wait before retry ``attempt`` (1-based); formula in the module docstring."""
    return min(max_backoff, backoff * 2 ** (attempt - 1)) * rng.uniform(0.5, 1.5)


class OpenAIModel(Model):
    """Chat completions from an OpenAI-compatible server, with bounded concurrency and retries."""

    kind = "openai"

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 4,
        max_retries: int = 5,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        timeout: float = 300.0,
        extra_body: dict[str, Any] | None = None,
        model_revision: str | None = None,
        check: bool = True,
        **_: Any,
    ) -> None:
        import openai

        self.model = model
        self.base_url = normalize_base_url(base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL)
        self.spec = f"openai:{model}"
        self.name = model.rstrip("/").rsplit("/", 1)[-1] or model
        self.revision = model_revision or f"endpoint:{self.base_url}"
        self.concurrency = max(1, int(concurrency))
        self.chunk_size = self.concurrency * 4
        self.max_retries = max(0, int(max_retries))
        self.backoff, self.max_backoff = float(backoff), float(max_backoff)
        self.extra_body = dict(extra_body or {})
        self.retries = 0
        self._lock = threading.Lock()
        self._rng = random.Random()
        if check:
            check_endpoint(self.base_url)
        self.client = openai.OpenAI(
            base_url=self.base_url,
            api_key=resolve_api_key(self.base_url, api_key_env),
            max_retries=0,
            timeout=timeout,
        )

    def _request(self, messages: Messages, gen: dict[str, Any]) -> str:
        import openai

        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": list(messages),
            "max_tokens": int(gen.get("max_new_tokens", 256)),
            "temperature": float(gen.get("temperature", 0.0)),
        }
        if kwargs["temperature"] > 0:
            kwargs["top_p"] = float(gen.get("top_p", 1.0))
            kwargs["seed"] = int(gen.get("seed", 0))
        if gen.get("stop"):
            kwargs["stop"] = list(gen["stop"])[:4]
        if self.extra_body:
            kwargs["extra_body"] = self.extra_body
        attempt = 0
        while True:
            try:
                resp = self.client.chat.completions.create(**kwargs)
                content = resp.choices[0].message.content if resp.choices else None
                return content or ""
            except openai.APIError as e:
                if not is_transient(e):
                    raise M2MError(f"{self.base_url}: request for model {self.model!r} failed: {e}") from None
                attempt += 1
                if attempt > self.max_retries:
                    if isinstance(e, openai.APIConnectionError):
                        raise EndpointUnreachable(
                            f"{self.base_url}: no answer after {attempt} attempts ({type(e).__name__}: {e})"
                        ) from None
                    raise M2MError(
                        f"{self.base_url}: request for model {self.model!r} failed after {attempt} attempts: {e}"
                    ) from None
                with self._lock:
                    self.retries += 1
                    delay = backoff_delay(attempt, self.backoff, self.max_backoff, self._rng)
                time.sleep(delay)

    def generate(self, batch: Sequence[Messages], **gen: Any) -> list[str]:
        if gen.get("response_prefix") or gen.get("include_stop"):
            raise self.response_prefix_error()
        if not batch:
            return []
        if self.concurrency == 1 or len(batch) == 1:
            return [self._request(m, gen) for m in batch]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(batch))) as pool:
            return list(pool.map(lambda m: self._request(m, gen), batch))

    def response_prefix_error(self, prefix_name: str = "answer") -> ResponsePrefixUnsupported:
        return ResponsePrefixUnsupported(
            f"--response-prefix {prefix_name} needs assistant-turn prefill, which {self.spec} cannot do: "
            "OpenAI-compatible chat servers (transformers serve included) start a new assistant "
            "turn instead of continuing a prefilled one. Use --response-prefix none, or load the "
            "weights in-process with --model hf:<folder>"
        )

    def info(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "concurrency": self.concurrency,
            "max_retries": self.max_retries,
            "retries_used": self.retries,
            "extra_body": self.extra_body or None,
        }

    def close(self) -> None:
        self.client.close()


@register("openai", "openai:<model>: an OpenAI-compatible chat endpoint (--base-url)")
def load_openai(rest: str, **options: Any) -> Model:
    """openai:<model>: an OpenAI-compatible chat endpoint (--base-url)."""
    return OpenAIModel(rest, **options)
