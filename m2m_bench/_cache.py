"""The generation cache: one sqlite file mapping a request's identity to the model's output.

    key = sha256( canonical_json({"model": spec, "revision": revision,
                                  "prompt_version": prompt_version,
                                  "messages": messages, "params": params}) )

where ``params`` is :meth:`m2m_bench.models.GenerationParams.key_dict` (plus e.g. stop
strings for GSM8K). Outputs are written after every generated chunk, so an interrupted run
resumes where it stopped, and re-scoring a finished run with other metrics or tasks generates
nothing. The file lives at ``$M2M_BENCH_CACHE/generations.sqlite`` (default
``~/.cache/m2m-bench/``) unless ``--cache PATH`` names another; WAL mode lets several
processes share it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

CACHE_FORMAT = 1


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def default_cache_path() -> Path:
    from .models.smollm2 import cache_root

    return cache_root() / "generations.sqlite"


def request_key(
    model: str, revision: str | None, prompt_version: str, messages: Sequence[Mapping[str, str]], params: Mapping[str, Any]
) -> str:
    """The cache key of one request (formula in the module docstring)."""
    payload = {
        "model": model,
        "revision": revision,
        "prompt_version": prompt_version,
        "messages": [dict(m) for m in messages],
        "params": dict(params),
    }
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


class GenerationCache:
    """A thread-safe sqlite key -> output store (``path=None`` keeps it in memory only)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path) if self.path else ":memory:", timeout=60, check_same_thread=False)
        with self._lock:
            if self.path is not None:
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS generations ("
                " key TEXT PRIMARY KEY, model TEXT NOT NULL, revision TEXT, prompt_version TEXT NOT NULL,"
                " params TEXT NOT NULL, output TEXT NOT NULL, created REAL NOT NULL, seconds REAL)"
            )
            self._db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)")
            self._db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('format', ?)", (str(CACHE_FORMAT),)
            )
            self._db.commit()

    def get_many(self, keys: Iterable[str]) -> dict[str, str]:
        keys = list(dict.fromkeys(keys))
        out: dict[str, str] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                part = keys[start : start + 500]
                q = f"SELECT key, output FROM generations WHERE key IN ({','.join('?' * len(part))})"
                out.update(self._db.execute(q, part).fetchall())
        return out

    def put_many(
        self,
        rows: Iterable[tuple[str, str]],
        *,
        model: str,
        revision: str | None,
        prompt_version: str,
        params: Mapping[str, Any],
        seconds: float | None = None,
    ) -> None:
        now = time.time()
        p = canonical_json(dict(params))
        data = [(k, model, revision, prompt_version, p, out, now, seconds) for k, out in rows]
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO generations VALUES (?,?,?,?,?,?,?,?)", data)
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM generations").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> GenerationCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
