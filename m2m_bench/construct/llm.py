"""Every LLM call of the pipeline goes through :class:`LLM`: cache first, then the backend.

:meth:`LLM.resolve` answers a list of calls: cached ones at once (a *cache hit*), the rest
through the backend, each answer committed to the cache as it arrives. :class:`CallStats`
counts calls, hits, rejections, pending requests, tokens and cost per stage; ``LLM.used``
collects the keys of every answered call the build relied on, which is exactly what a
rebuild needs (:meth:`~m2m_bench.construct.cache.CallCache.export_calls`).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from .backends import PENDING, Backend, Call, CallRejected
from .backends._base import Result
from .cache import CallCache, Reply, call_key, request_dict


@dataclass
class CallStats:
    """Counts for one stage (or a whole run)."""

    calls: int = 0
    cache_hits: int = 0
    rejected: int = 0
    pending: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0

    def add(self, other: CallStats) -> None:
        for k, v in asdict(other).items():
            setattr(self, k, getattr(self, k) + v)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["cost"] = round(d["cost"], 6)
        return d


class _Sink:
    def __init__(self, llm: LLM, stats: CallStats, results: dict[str, Result], tick: Callable[[int], None] | None):
        self.llm, self.stats, self.results, self.tick = llm, stats, results, tick
        self._lock = threading.Lock()

    def started(self, call: Call) -> None:
        self.llm.cache.log(call.key, "start", self.llm.run_id)

    def finished(self, call: Call, result: Result) -> None:
        cache = self.llm.cache
        with self._lock:
            if isinstance(result, Reply):
                cache.put(call.key, call.request, result)
                cache.log(call.key, "done", self.llm.run_id)
                self.stats.calls += 1
                self.stats.prompt_tokens += result.prompt_tokens
                self.stats.completion_tokens += result.completion_tokens
                self.stats.cost += result.cost
                self.llm.used.add(call.key)
            elif result is PENDING:
                cache.add_pending(call.key, call.request, call.stage, call.record_id)
                self.llm.pending.add(call.key)
                self.stats.pending += 1
            else:
                cache.log(call.key, "rejected", self.llm.run_id)
                self.stats.rejected += 1
            self.results[call.key] = result
            if self.tick:
                self.tick(1)


class LLM:
    """Cache-first access to one backend."""

    def __init__(self, backend: Backend, cache: CallCache, run_id: str | None = None):
        self.backend = backend
        self.cache = cache
        self.run_id = run_id or uuid.uuid4().hex[:12]
        #: Keys of every answered call this run relied on (cached or new).
        self.used: set[str] = set()
        #: Keys of calls waiting for an imported answer.
        self.pending: set[str] = set()

    def call(self, messages: list[dict[str, str]], params: dict[str, Any], sample: int, stage: str, record_id: str) -> Call:
        request = request_dict(self.backend.key_kind, self.backend.key_model, messages, params, sample)
        return Call(call_key(request), request, stage, record_id)

    def resolve(
        self, calls: Sequence[Call], stats: CallStats, tick: Callable[[int], None] | None = None
    ) -> dict[str, Result]:
        """``{key: Reply | CallRejected | PENDING}`` for ``calls`` (duplicates asked once)."""
        results: dict[str, Result] = {}
        misses: list[Call] = []
        seen: set[str] = set()
        for c in calls:
            if c.key in seen:
                continue
            seen.add(c.key)
            hit = self.cache.get(c.key)
            if hit is not None:
                results[c.key] = hit
                stats.cache_hits += 1
                self.used.add(c.key)
                if tick:
                    tick(1)
            else:
                misses.append(c)
        if misses:
            self.backend.run(misses, _Sink(self, stats, results, tick))
        return results


__all__ = ["LLM", "CallRejected", "CallStats"]
