"""The leaderboard store: an embedded duckdb database, ``leaderboard/leaderboard.duckdb``.

Tables (store schema version :data:`STORE_VERSION`)::

    submissions(submission_id PK, model_name, dataset_name, dataset_version, dataset_hash,
                split, harness_version, results_schema, content_sha256 UNIQUE,
                trained_on_m2m_train, parameters, added_at, metadata_json, results_json)
    scores(submission_id, task, metric, metric_version, value, dataset_name,
           dataset_version, split, harness_version, PK (submission_id, task, metric))

One ``scores`` row per submission and metric, carrying the harness and dataset versions it
was computed under; ``value`` must be finite (a CHECK constraint). A submission and all of its
scores are written in **one transaction**: either everything is stored or, on any error,
nothing is. The metadata and the full results JSON travel inside the database, so the static
site can be rebuilt from this one file.

A **ranking key** is ``(dataset_name, dataset_version, split, task, metric, metric_version)``:
:meth:`Store.ranking` compares only rows that agree on all of it, so scores of different
dataset or metric versions are never ranked against each other.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ._errors import SubmissionError

STORE_VERSION = "1"
DB_FILE = "leaderboard.duckdb"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS store_info (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS submissions (
    submission_id VARCHAR PRIMARY KEY,
    model_name VARCHAR NOT NULL,
    dataset_name VARCHAR NOT NULL,
    dataset_version VARCHAR NOT NULL,
    dataset_hash VARCHAR NOT NULL,
    split VARCHAR NOT NULL,
    harness_version VARCHAR NOT NULL,
    results_schema VARCHAR NOT NULL,
    content_sha256 VARCHAR NOT NULL UNIQUE,
    trained_on_m2m_train BOOLEAN NOT NULL,
    parameters BIGINT NOT NULL,
    added_at TIMESTAMP NOT NULL,
    metadata_json VARCHAR NOT NULL,
    results_json VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS scores (
    submission_id VARCHAR NOT NULL REFERENCES submissions (submission_id),
    task VARCHAR NOT NULL,
    metric VARCHAR NOT NULL,
    metric_version VARCHAR NOT NULL,
    value DOUBLE NOT NULL CHECK (isfinite(value)),
    dataset_name VARCHAR NOT NULL,
    dataset_version VARCHAR NOT NULL,
    split VARCHAR NOT NULL,
    harness_version VARCHAR NOT NULL,
    PRIMARY KEY (submission_id, task, metric)
);
"""


@dataclass(frozen=True)
class ScoreRow:
    """One re-scored number: ``metric`` of ``task`` at ``metric_version``."""

    task: str
    metric: str
    metric_version: str
    value: float


@dataclass(frozen=True)
class Entry:
    """A stored submission as the site builder reads it."""

    submission_id: str
    model_name: str
    dataset_name: str
    dataset_version: str
    dataset_hash: str
    split: str
    harness_version: str
    results_schema: str
    trained_on_m2m_train: bool
    parameters: int
    added_at: datetime
    metadata: dict[str, Any]
    results: dict[str, Any]
    scores: tuple[ScoreRow, ...]

    @property
    def table_key(self) -> tuple[str, str, str]:
        return (self.dataset_name, self.dataset_version, self.split)


def default_root() -> Path:
    """``leaderboard/`` of the current directory (the repository root when run from there)."""
    return Path("leaderboard")


class Store:
    """The duckdb database under ``root``; opened per use (``with Store(root) as s: ...``)."""

    def __init__(self, root: str | Path | None = None, *, read_only: bool = False):
        import duckdb

        self.root = Path(root) if root is not None else default_root()
        self.path = self.root / DB_FILE
        if read_only and not self.path.exists():
            raise SubmissionError(f"{self.path}: no leaderboard store yet; add a submission first")
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.Error as e:
            raise SubmissionError(f"{self.path}: cannot open the leaderboard store ({e})") from None
        if not read_only:
            self.con.execute(_SCHEMA)
            self.con.execute(
                "INSERT INTO store_info VALUES ('store_version', ?) ON CONFLICT DO NOTHING",
                [STORE_VERSION],
            )
        got = self.con.execute(
            "SELECT value FROM store_info WHERE key = 'store_version'"
        ).fetchone()
        if got is None or got[0] != STORE_VERSION:
            raise SubmissionError(
                f"{self.path}: store version {got[0] if got else None!r}; this m2m-bench reads {STORE_VERSION}"
            )

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ writing

    def add(
        self,
        *,
        submission_id: str,
        content_sha256: str,
        metadata: dict[str, Any],
        results: dict[str, Any],
        dataset: tuple[str, str, str, str],
        harness_version: str,
        results_schema: str,
        scores: Sequence[ScoreRow],
    ) -> int:
        """Store one submission and its scores in one transaction; returns the rows written.

        ``dataset`` is ``(name, version, split, content_hash)``. Raises
        :class:`SubmissionError` (and stores nothing) when the submission is already stored,
        when it has no score, or when a value is not finite.
        """
        import duckdb

        name, version, split, dhash = dataset
        if not scores:
            raise SubmissionError(f"{submission_id}: no scores to store")
        seen: set[tuple[str, str]] = set()
        for s in scores:
            if (s.task, s.metric) in seen:
                raise SubmissionError(
                    f"{submission_id}: metric {s.metric!r} of task {s.task!r} given twice"
                )
            seen.add((s.task, s.metric))
        dup = self.con.execute(
            "SELECT submission_id FROM submissions WHERE submission_id = ? OR content_sha256 = ?",
            [submission_id, content_sha256],
        ).fetchone()
        if dup:
            raise SubmissionError(
                f"{submission_id}: this submission is already stored (as {dup[0]!r})"
            )
        meta = metadata
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(
                "INSERT INTO submissions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    submission_id,
                    str(meta["model_name"]),
                    name,
                    version,
                    dhash,
                    split,
                    harness_version,
                    results_schema,
                    content_sha256,
                    bool(meta["trained_on_m2m_train"]),
                    int(meta["parameters"]),
                    datetime.now(UTC).replace(tzinfo=None),
                    json.dumps(meta, sort_keys=True, ensure_ascii=False, allow_nan=False),
                    json.dumps(results, sort_keys=True, ensure_ascii=False, allow_nan=False),
                ],
            )
            con.executemany(
                "INSERT INTO scores VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    [
                        submission_id,
                        s.task,
                        s.metric,
                        s.metric_version,
                        float(s.value),
                        name,
                        version,
                        split,
                        harness_version,
                    ]
                    for s in scores
                ],
            )
            con.execute("COMMIT")
        except (duckdb.Error, ValueError, TypeError, KeyError) as e:
            con.execute("ROLLBACK")
            raise SubmissionError(
                f"{submission_id}: not stored, nothing was written ({type(e).__name__}: {e})"
            ) from None
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return 1 + len(scores)

    def remove(self, submission_id: str) -> None:
        """Delete a submission and its scores (one transaction)."""
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("DELETE FROM scores WHERE submission_id = ?", [submission_id])
            n = con.execute(
                "DELETE FROM submissions WHERE submission_id = ? RETURNING 1", [submission_id]
            ).fetchall()
            if not n:
                raise SubmissionError(f"{submission_id}: no such submission in {self.path}")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    # ------------------------------------------------------------------ reading

    def count(self) -> tuple[int, int]:
        """(submissions, score rows) stored."""
        a = self.con.execute("SELECT count(*) FROM submissions").fetchone()[0]
        b = self.con.execute("SELECT count(*) FROM scores").fetchone()[0]
        return int(a), int(b)

    def entries(self) -> list[Entry]:
        """Every stored submission with its scores, oldest first."""
        subs = self.con.execute(
            "SELECT submission_id, model_name, dataset_name, dataset_version, dataset_hash, split, "
            "harness_version, results_schema, trained_on_m2m_train, parameters, added_at, "
            "metadata_json, results_json FROM submissions ORDER BY added_at, submission_id"
        ).fetchall()
        rows = self.con.execute(
            "SELECT submission_id, task, metric, metric_version, value FROM scores ORDER BY submission_id, task, metric"
        ).fetchall()
        by_id: dict[str, list[ScoreRow]] = {}
        for sid, task, metric, mv, value in rows:
            by_id.setdefault(sid, []).append(ScoreRow(task, metric, mv, float(value)))
        return [
            Entry(
                submission_id=s[0], model_name=s[1], dataset_name=s[2], dataset_version=s[3],
                dataset_hash=s[4], split=s[5], harness_version=s[6], results_schema=s[7],
                trained_on_m2m_train=bool(s[8]), parameters=int(s[9]), added_at=s[10],
                metadata=json.loads(s[11]), results=json.loads(s[12]), scores=tuple(by_id.get(s[0], ())),
            )
            for s in subs
        ]  # fmt: skip

    def ranking(
        self,
        dataset_name: str,
        dataset_version: str,
        split: str,
        task: str,
        metric: str,
        metric_version: str,
        *,
        higher_is_better: bool = True,
    ) -> list[tuple[str, str, float]]:
        """``(submission_id, model_name, value)`` best first, for one full ranking key only."""
        order = "DESC" if higher_is_better else "ASC"
        return [
            (r[0], r[1], float(r[2]))
            for r in self.con.execute(
                f"SELECT s.submission_id, m.model_name, s.value FROM scores s "
                f"JOIN submissions m USING (submission_id) "
                f"WHERE s.dataset_name = ? AND s.dataset_version = ? AND s.split = ? "
                f"AND s.task = ? AND s.metric = ? AND s.metric_version = ? "
                f"ORDER BY s.value {order}, m.added_at, s.submission_id",
                [dataset_name, dataset_version, split, task, metric, metric_version],
            ).fetchall()
        ]


def finite_rows(rows: Iterable[ScoreRow], where: str) -> list[ScoreRow]:
    """Rows whose value is a finite number; anything else is a :class:`SubmissionError`."""
    out = []
    for r in rows:
        if (
            isinstance(r.value, bool)
            or not isinstance(r.value, int | float)
            or not math.isfinite(r.value)
        ):
            raise SubmissionError(
                f"{where}: metric {r.metric!r} has a non-finite value {r.value!r}"
            )
        out.append(r)
    return out
