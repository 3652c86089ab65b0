"""The duckdb store: one transaction per submission, and rankings that never mix versions."""

from __future__ import annotations

import duckdb
import pytest

from m2m_bench.board import ScoreRow, Store, SubmissionError, build_site
from m2m_bench.board._site import columns_for

META = {"model_name": "m", "trained_on_m2m_train": False, "parameters": 10}


def _add(
    store: Store,
    sid: str,
    rows: list[ScoreRow],
    version: str = "0.1.0",
    harness: str = "0.1.0",
    name: str | None = None,
):
    return store.add(
        submission_id=sid,
        content_sha256="sha-" + sid,
        metadata={**META, "model_name": name or sid},
        results={"id": sid},
        dataset=("m2m", version, "test", "h" * 64),
        harness_version=harness,
        results_schema="1",
        scores=rows,
    )


def test_a_failing_submission_leaves_the_store_untouched(tmp_path):
    with Store(tmp_path) as s:
        assert _add(s, "a", [ScoreRow("action", "action.ss", "1", 0.4)]) == 2
        before = s.count()
        # The second row breaks the CHECK constraint after the submission row was inserted:
        # the transaction rolls back, so neither the submission nor its first score stays.
        bad = [
            ScoreRow("action", "action.ss", "1", 0.5),
            ScoreRow("action", "action.kmr", "1", float("nan")),
        ]
        with pytest.raises(SubmissionError, match="b: not stored, nothing was written"):
            _add(s, "b", bad)
        assert s.count() == before == (1, 1)
        with pytest.raises(SubmissionError, match="already stored"):
            _add(s, "a", [ScoreRow("action", "action.ss", "1", 0.9)])
        with pytest.raises(SubmissionError, match="given twice"):
            _add(s, "c", [ScoreRow("action", "action.ss", "1", 0.5)] * 2)
        assert s.count() == (1, 1)
    # The database is a plain duckdb file anyone can query.
    con = duckdb.connect(str(tmp_path / "leaderboard.duckdb"), read_only=True)
    assert con.execute(
        "SELECT submission_id, metric, value, dataset_version, harness_version FROM scores"
    ).fetchall() == [("a", "action.ss", 0.4, "0.1.0", "0.1.0")]
    con.close()


def test_rankings_and_columns_never_mix_dataset_or_metric_versions(tmp_path):
    with Store(tmp_path) as s:
        _add(s, "old-metric", [ScoreRow("action", "action.ss", "1", 0.9)])
        _add(s, "new-metric", [ScoreRow("action", "action.ss", "2", 0.5)])
        _add(s, "new-metric-2", [ScoreRow("action", "action.ss", "2", 0.7)])
        _add(s, "other-data", [ScoreRow("action", "action.ss", "2", 0.99)], version="0.2.0")
        assert [r[0] for r in s.ranking("m2m", "0.1.0", "test", "action", "action.ss", "2")] == [
            "new-metric-2",
            "new-metric",
        ]
        assert [r[0] for r in s.ranking("m2m", "0.1.0", "test", "action", "action.ss", "1")] == [
            "old-metric"
        ]
        assert [r[0] for r in s.ranking("m2m", "0.2.0", "test", "action", "action.ss", "2")] == [
            "other-data"
        ]
        entries = s.entries()
    v010 = [e for e in entries if e.dataset_version == "0.1.0"]
    cols = columns_for(v010)
    assert [(c.metric, c.version, c.label) for c in cols] == [
        ("action.ss", "1", "SS v1"),
        ("action.ss", "2", "SS v2"),
    ]
    index = build_site(entries, tmp_path / "site")
    html = index.read_text()
    # One table per dataset version, newest first; metric versions in separate columns.
    assert html.index('id="board-m2m-0_2_0-test"') < html.index('id="board-m2m-0_1_0-test"')
    assert 'data-key="action|action.ss|1"' in html and 'data-key="action|action.ss|2"' in html


def test_read_only_store_must_exist(tmp_path):
    with pytest.raises(SubmissionError, match="no leaderboard store yet"):
        Store(tmp_path / "nothing", read_only=True)
