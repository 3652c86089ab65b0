"""The one call cache of the construction pipeline: an SQLite file every LLM call goes through.

A call's key is ``sha256(canonical_json({backend, model, messages, params, sample}))``
(:func:`call_key`): the backend kind, the model name, the chat messages, the decoding
parameters and the self-consistency sample index. An answer is committed the moment it
arrives, so a run killed at any point (``kill -9``) loses at most the calls still in flight,
and a rerun asks the backend only for what the cache lacks.

Tables (one file, WAL journal):

``calls``          key -> request JSON, answer text, token counts, cost, served model.
``call_log``       one row per backend call started / finished / failed, with the run id
                   (how tests prove that a resumed run repeats no finished call).
``pending``        requests waiting for an answer from outside (the batch-file backend).
``stage_outputs``  (stage signature, record key) -> a stage's result for one record, so
                   ``--resume`` skips finished work and a changed stage re-runs only itself
                   and what follows (:mod:`m2m_bench.construct.pipeline`).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import M2MError
from .files import jsonl_objects

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    key TEXT PRIMARY KEY, backend TEXT NOT NULL, model TEXT NOT NULL, request TEXT NOT NULL,
    response TEXT NOT NULL, prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0, cost REAL NOT NULL DEFAULT 0,
    served_model TEXT, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS call_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, event TEXT NOT NULL,
    run TEXT NOT NULL, t REAL NOT NULL);
CREATE TABLE IF NOT EXISTS pending (
    key TEXT PRIMARY KEY, request TEXT NOT NULL, stage TEXT, record_id TEXT, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS stage_outputs (
    signature TEXT NOT NULL, record_key TEXT NOT NULL, output TEXT NOT NULL,
    PRIMARY KEY (signature, record_key));
"""


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def request_dict(
    backend: str, model: str, messages: list[dict[str, str]], params: Mapping[str, Any], sample: int
) -> dict[str, Any]:
    """The full identity of one LLM call (what :func:`call_key` hashes)."""
    return {
        "backend": backend,
        "model": model,
        "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
        "params": dict(params),
        "sample": int(sample),
    }


def call_key(request: Mapping[str, Any]) -> str:
    """``sha256(canonical_json(request))`` of a :func:`request_dict`."""
    return hashlib.sha256(canonical(request).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Reply:
    """One LLM answer with its accounting."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    served_model: str | None = None


class CallCache:
    """The SQLite call cache (thread-safe; every write is committed at once)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=60)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
            self._db.commit()
        except sqlite3.DatabaseError as e:
            raise M2MError(f"{self.path}: not a usable call cache ({e})") from None

    # -- calls ---------------------------------------------------------------------------
    def get(self, key: str) -> Reply | None:
        with self._lock:
            row = self._db.execute(
                "SELECT response, prompt_tokens, completion_tokens, cost, served_model FROM calls WHERE key=?",
                (key,),
            ).fetchone()
        return Reply(*row) if row else None

    def put(self, key: str, request: Mapping[str, Any], reply: Reply, commit: bool = True) -> None:
        """Store an answer (and clear its pending request); committed at once unless ``commit=False``."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO calls VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    key, request["backend"], request["model"], canonical(request), reply.text,
                    int(reply.prompt_tokens), int(reply.completion_tokens), float(reply.cost),
                    reply.served_model, time.time(),
                ),
            )  # fmt: skip
            self._db.execute("DELETE FROM pending WHERE key=?", (key,))
            if commit:
                self._db.commit()

    def log(self, key: str, event: str, run: str) -> None:
        with self._lock:
            self._db.execute("INSERT INTO call_log (key, event, run, t) VALUES (?,?,?,?)", (key, event, run, time.time()))
            self._db.commit()

    def call_log(self) -> list[tuple[str, str, str]]:
        """``[(key, event, run)]`` in order."""
        with self._lock:
            return list(self._db.execute("SELECT key, event, run FROM call_log ORDER BY id"))

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM calls").fetchone()[0])

    def usage(self, keys: Iterable[str]) -> dict[str, float]:
        """Summed token counts and cost of the cached calls ``keys``."""
        out = {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "cost": 0.0}
        with self._lock:
            for key in keys:
                row = self._db.execute(
                    "SELECT prompt_tokens, completion_tokens, cost FROM calls WHERE key=?", (key,)
                ).fetchone()
                if row:
                    out["calls"] += 1
                    out["prompt_tokens"] += row[0]
                    out["completion_tokens"] += row[1]
                    out["cost"] += row[2]
        out["cost"] = round(out["cost"], 6)
        return out

    # -- pending requests (batch files) ---------------------------------------------------
    def add_pending(self, key: str, request: Mapping[str, Any], stage: str, record_id: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO pending VALUES (?,?,?,?,?)",
                (key, canonical(request), stage, record_id, time.time()),
            )
            self._db.commit()

    def pending(self, keys: Iterable[str] | None = None) -> list[tuple[str, dict[str, Any], str, str]]:
        """``[(key, request, stage, record_id)]`` of pending requests (all, or those in ``keys``)."""
        with self._lock:
            rows = list(self._db.execute("SELECT key, request, stage, record_id FROM pending ORDER BY created, key"))
        wanted = set(keys) if keys is not None else None
        return [(k, json.loads(r), s, rid) for k, r, s, rid in rows if wanted is None or k in wanted]

    def pending_request(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT request FROM pending WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    # -- stage outputs -------------------------------------------------------------------
    def stage_output(self, signature: str, record_key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT output FROM stage_outputs WHERE signature=? AND record_key=?", (signature, record_key)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def put_stage_output(self, signature: str, record_key: str, output: Mapping[str, Any]) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO stage_outputs VALUES (?,?,?)", (signature, record_key, canonical(output))
            )
            self._db.commit()

    # -- export / import of calls (shipping a version's cache) ----------------------------
    def export_calls(self, keys: Iterable[str]) -> bytes:
        """The calls ``keys`` as gzipped JSON Lines (sorted by key, deterministic bytes)."""
        buf = io.BytesIO()
        with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz:
            with self._lock:
                for key in sorted(set(keys)):
                    row = self._db.execute(
                        "SELECT request, response, prompt_tokens, completion_tokens, cost, served_model "
                        "FROM calls WHERE key=?",
                        (key,),
                    ).fetchone()
                    if row is None:
                        raise M2MError(f"{self.path}: call {key} is not in the cache")
                    line = {
                        "key": key, "request": json.loads(row[0]), "response": row[1],
                        "prompt_tokens": row[2], "completion_tokens": row[3], "cost": row[4],
                        "served_model": row[5],
                    }  # fmt: skip
                    gz.write((canonical(line) + "\n").encode("utf-8"))
        return buf.getvalue()

    def keys(self) -> list[str]:
        """Every answered call's key."""
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT key FROM calls ORDER BY key")]

    def import_calls(self, path: str | Path) -> int:
        """Load calls written by :meth:`export_calls`; every key is re-derived and checked."""
        n = 0
        for lineno, obj in jsonl_objects(path):
            try:
                request, key = obj["request"], obj["key"]
                if call_key(request) != key:
                    raise ValueError("key does not match the request")
                reply = Reply(
                    str(obj["response"]), int(obj["prompt_tokens"]), int(obj["completion_tokens"]),
                    float(obj["cost"]), obj.get("served_model"),
                )  # fmt: skip
            except (ValueError, KeyError, TypeError) as e:
                raise M2MError(f"{path}: line {lineno}: not a cached call ({e})") from None
            self.put(key, request, reply, commit=False)
            n += 1
        with self._lock:
            self._db.commit()
        return n

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> CallCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
