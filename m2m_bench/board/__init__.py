"""The M2M leaderboard: submissions validated, re-scored by the harness, stored, and published.

Pieces, each in its own module:

* :mod:`._files` reads a submission folder or archive into memory, refusing path tricks,
  links and oversized members (:class:`Limits`);
* :mod:`._metadata` defines ``metadata.json`` (:data:`FIELDS`);
* :mod:`._validate` checks a submission against a released dataset version;
* :mod:`._score` re-scores its predictions with the harness (``m2m_bench.evaluate``);
* :mod:`._store` keeps submissions and scores in duckdb (``leaderboard/leaderboard.duckdb``);
* :mod:`._site` and :mod:`._plots` write the static site.

The commands are ``m2m-bench submit PATH`` (:mod:`m2m_bench.submit`) and ``m2m-bench
leaderboard add|build|list`` (:mod:`m2m_bench.leaderboard`). The user guide is
``docs/leaderboard.md``.
"""

from __future__ import annotations

from ._errors import SubmissionError
from ._files import Limits, SubmissionFiles, read_submission_files
from ._metadata import FIELDS, FORMAT_VERSION, METADATA_FILE, Metadata, parse_metadata
from ._site import build_site
from ._store import Entry, ScoreRow, Store
from ._validate import ValidatedSubmission, validate_submission

__all__ = [
    "FIELDS",
    "FORMAT_VERSION",
    "METADATA_FILE",
    "Entry",
    "Limits",
    "Metadata",
    "ScoreRow",
    "Store",
    "SubmissionError",
    "SubmissionFiles",
    "ValidatedSubmission",
    "build_site",
    "parse_metadata",
    "read_submission_files",
    "validate_submission",
]
