"""What every LLM backend of the construction pipeline implements.

A backend answers :class:`Call` s. It never touches the cache: :class:`m2m_bench.construct.llm.LLM`
looks calls up first and hands a backend only the misses. For each call the backend reports
to a :class:`Sink` exactly once: a :class:`~m2m_bench.construct.cache.Reply`, a
:class:`CallRejected` (this request failed for good, recorded against its record), or
:data:`PENDING` (the answer will come from outside, through a batch file). A backend that
cannot go on at all (endpoint gone after its retries) raises :class:`BackendUnavailable`,
which stops the run; what was answered so far is already cached.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ...errors import M2MError
from ..cache import Reply


@dataclass(frozen=True)
class Call:
    """One LLM request: its cache key, the request (:func:`~m2m_bench.construct.cache.request_dict`)
    and, for messages and batch files, where it comes from."""

    key: str
    request: dict[str, Any]
    stage: str
    record_id: str

    @property
    def messages(self) -> list[dict[str, str]]:
        return self.request["messages"]

    @property
    def params(self) -> dict[str, Any]:
        return self.request["params"]


class CallRejected(Exception):
    """The backend refused this one request (e.g. HTTP 400: prompt too long)."""


class BackendUnavailable(M2MError):
    """The backend cannot answer at all (retries exhausted, endpoint down, cache miss offline)."""


class _Pending:
    def __repr__(self) -> str:
        return "PENDING"


#: The result of a call whose answer will be imported later (batch files).
PENDING = _Pending()

Result = Reply | CallRejected | _Pending


class Sink(Protocol):
    def started(self, call: Call) -> None: ...

    def finished(self, call: Call, result: Result) -> None: ...


class Backend:
    """Base class. ``kind`` and ``model`` enter every cache key (``key_kind``/``key_model``
    let the offline backend stand in for the backend that made the calls)."""

    kind: str = ""
    model: str = ""

    @property
    def key_kind(self) -> str:
        return self.kind

    @property
    def key_model(self) -> str:
        return self.model

    def run(self, calls: Sequence[Call], sink: Sink) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """What ``pipeline.yaml`` records about the backend (never secrets)."""
        return {"kind": self.key_kind, "model": self.key_model}

    def close(self) -> None:
        """Release clients, threads or model memory."""


BackendFactory = Callable[..., Backend]
