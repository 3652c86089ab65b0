"""``--backend batch``: prompts out as a JSONL file, answers back in as a JSONL file.

This is how a run uses the OpenAI Batch API, any offline batch service, or people: every
call the cache cannot answer becomes a *pending request*; at the end of the run the pending
requests are written as OpenAI Batch API input lines::

    {"custom_id": "<cache key>", "method": "POST", "url": "/v1/chat/completions",
     "body": {"model": "...", "messages": [...], "temperature": 0.7, "max_tokens": 512, "seed": 1}}

and :func:`import_responses` reads back either the Batch API output lines::

    {"custom_id": "<cache key>", "response": {"status_code": 200, "body": {<chat completion>}}, "error": null}

or the short form an annotator can write by hand::

    {"custom_id": "<cache key>", "content": "<the answer text>"}

Imported answers go into the call cache; the next run (``--resume``) continues from them,
and asks for whatever the answers lead to next (retries of malformed answers, later stages).

``--backend offline`` (:class:`OfflineBackend`) answers from the cache only: the rebuild of a
released version, where a cache miss is an error rather than a call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import M2MError
from ..cache import CallCache, Reply, canonical
from ..files import jsonl_objects
from ._base import PENDING, Backend, BackendUnavailable, Call, Sink

BATCH_URL = "/v1/chat/completions"


class BatchBackend(Backend):
    kind = "batch"

    def __init__(self, model: str, **_: Any):
        if not model:
            raise M2MError("--backend batch needs --model: the model (or annotator) that will answer")
        self.model = model

    def run(self, calls: Sequence[Call], sink: Sink) -> None:
        for c in calls:
            sink.finished(c, PENDING)


class OfflineBackend(Backend):
    """Answers nothing: every call must already be in the cache (rebuilds)."""

    kind = "offline"

    def __init__(self, key_kind: str, model: str, **_: Any):
        self._key_kind = key_kind
        self.model = model

    @property
    def key_kind(self) -> str:
        return self._key_kind

    def run(self, calls: Sequence[Call], sink: Sink) -> None:
        if calls:
            c = calls[0]
            raise BackendUnavailable(
                f"offline rebuild: {len(calls)} call(s) are not in the cache, e.g. stage {c.stage!r} "
                f"of record {c.record_id!r} (key {c.key[:16]}...); the cache does not hold this build"
            )

    def describe(self) -> dict[str, Any]:
        return {"kind": self.key_kind, "model": self.model}


def request_line(key: str, request: dict[str, Any]) -> dict[str, Any]:
    """The OpenAI Batch API input line of one pending request."""
    params = dict(request["params"])
    extra = params.pop("extra_body", None) or {}
    body = {"model": request["model"], "messages": request["messages"], **params, **extra}
    return {"custom_id": key, "method": "POST", "url": BATCH_URL, "body": body}


def meta_path(path: str | Path) -> Path:
    """The sidecar of a requests file: ``requests.jsonl`` -> ``requests.meta.jsonl``."""
    path = Path(path)
    return path.with_name(path.name.removesuffix(".jsonl") + ".meta.jsonl")


def export_requests(cache: CallCache, keys: Sequence[str], path: str | Path) -> int:
    """Write the pending requests ``keys`` to ``path`` (OpenAI Batch API input); returns the count.

    A sidecar :func:`meta_path` lists ``{custom_id, stage, record_id, sample}`` per request,
    for annotators and tools that route requests (the Batch API takes only the main file).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = cache.pending(keys)
    for target, line in ((path, lambda k, r, s, i: request_line(k, r)), (meta_path(path), _meta_line)):
        tmp = target.with_name(target.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            for key, request, stage, rid in rows:
                f.write(canonical(line(key, request, stage, rid)) + "\n")
        tmp.replace(target)
    return len(rows)


def _meta_line(key: str, request: dict[str, Any], stage: str, record_id: str) -> dict[str, Any]:
    return {"custom_id": key, "stage": stage, "record_id": record_id, "sample": request["sample"]}


@dataclass
class ImportReport:
    """What :func:`import_responses` did."""

    imported: int = 0
    already: int = 0
    errors: list[str] = field(default_factory=list)


def _answer(obj: dict[str, Any], where: str) -> tuple[Reply | None, str | None]:
    """``(reply, None)`` for a usable answer line, ``(None, why)`` for a failed request."""
    if "content" in obj and "response" not in obj:
        if not isinstance(obj["content"], str):
            raise M2MError(f'{where}: field "content" must be a string')
        usage = obj.get("usage") or {}
        return Reply(obj["content"], int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))), None
    if obj.get("error"):
        return None, f"error {obj['error']}"
    response = obj.get("response")
    if not isinstance(response, dict):
        raise M2MError(f'{where}: needs "response" (Batch API output) or "content" (annotator answer)')
    if response.get("status_code") != 200:
        return None, f"status {response.get('status_code')}"
    body = response.get("body")
    try:
        text = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise M2MError(f"{where}: field response.body.choices[0].message.content is missing") from None
    if not isinstance(text, str):
        text = ""
    usage = body.get("usage") or {}
    return Reply(
        text, int(usage.get("prompt_tokens", 0) or 0), int(usage.get("completion_tokens", 0) or 0), 0.0, body.get("model")
    ), None


def import_responses(cache: CallCache, path: str | Path) -> ImportReport:
    """Put the answers of a responses file into the cache.

    A ``custom_id`` must name a pending request of this cache (or an answer already imported
    with the same text); anything else is an error naming the file, line and field. Failed
    requests (an ``error`` or a non-200 status) stay pending and are listed in the report.
    """
    path = Path(path)
    report = ImportReport()
    for lineno, obj in jsonl_objects(path):
        where = f"{path}: line {lineno}"
        if not isinstance(obj.get("custom_id"), str):
            raise M2MError(f'{where}: field "custom_id" is missing')
        key = obj["custom_id"]
        reply, why = _answer(obj, f"{where} (custom_id {key[:16]})")
        request = cache.pending_request(key)
        if request is None:
            known = cache.get(key)
            if known is None:
                raise M2MError(
                    f'{where}: field "custom_id" {key!r} is not a pending request of the cache '
                    f"{cache.path} (export requests and import answers with the same --cache)"
                )
            if reply is not None and known.text != reply.text:
                raise M2MError(f'{where}: custom_id {key[:16]}... was already imported with a different answer')
            report.already += 1
            continue
        if reply is None:
            report.errors.append(f"{where}: request {key[:16]}... failed ({why}); it stays pending")
            continue
        cache.put(key, request, reply)
        report.imported += 1
    return report
