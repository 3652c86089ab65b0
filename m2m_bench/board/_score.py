"""Re-scoring a validated submission with the harness, and storing the result.

:func:`score_submission` writes the predictions to a private temporary file and runs
``m2m_bench.evaluate`` on it, exactly as a user would::

    python -m m2m_bench.evaluate --model predictions:<tmp>/predictions.jsonl \\
        --tasks action,skills,format[,judge] --dataset NAME --version X.Y.Z --split SPLIT

The harness's results JSON (schema ``m2m-bench-results``) is kept whole, with a ``board``
section added (submission id, content hash, GSM8K and motion results). Each value of its
``summary`` becomes a :class:`~._store.ScoreRow` whose version is the metric's version from
``config.versions`` joined with the task version (``"1+task1"``), so a change of either
starts a new column. Values that are ``None`` (a metric undefined for every record) are not
stored; a non-finite value is an error.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._errors import SubmissionError
from ._store import ScoreRow, Store, finite_rows
from ._validate import ValidatedSubmission

#: Tasks every submission is scored on; ``judge`` is added when a judge is configured.
TASKS = ("action", "skills", "format")


@dataclass
class ScoredSubmission:
    submission: ValidatedSubmission
    results: dict[str, Any]
    rows: list[ScoreRow]
    harness_version: str
    results_schema: str
    extras: dict[str, Any] = field(default_factory=dict)


def harness_rows(results: dict[str, Any], where: str) -> list[ScoreRow]:
    """Score rows from a harness results dict (``summary`` + ``config.versions``)."""
    versions = results.get("config", {}).get("versions", {})
    rows: list[ScoreRow] = []
    for task, table in results.get("summary", {}).items():
        if task == "gsm8k":
            continue  # GSM8K of a submission is scored from its own file (_gsm8k.py)
        tv = versions.get(task, {})
        for column, value in table.items():
            if value is None:
                continue
            mv = tv.get("metrics", {}).get(column)
            if mv is None:
                raise SubmissionError(
                    f"{where}: the harness reported {column!r} without a metric version"
                )
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
            ):
                raise SubmissionError(
                    f"{where}: the harness reported a non-finite {column!r} = {value!r}"
                )
            rows.append(ScoreRow(task, column, f"{mv}+task{tv.get('task', '?')}", float(value)))
    return rows


def _evaluate_argv(
    pred_file: Path, out_dir: Path, sub: ValidatedSubmission, opts: dict[str, Any]
) -> list[str]:
    ds = sub.metadata.dataset
    tasks = list(TASKS)
    argv = ["--model", f"predictions:{pred_file}", "--dataset", ds.name, "--version", ds.version,
            "--split", ds.split, "--output-dir", str(out_dir), "--no-cache"]  # fmt: skip
    if opts.get("encoder"):
        argv += ["--encoder", opts["encoder"]]
    if opts.get("judge_model"):
        tasks.append("judge")
        argv += [
            "--judge-model",
            opts["judge_model"],
            "--judge-api-key-env",
            opts.get("judge_api_key_env") or "OPENAI_API_KEY",
        ]
        if opts.get("judge_base_url"):
            argv += ["--judge-base-url", opts["judge_base_url"]]
    elif opts.get("judge_base_url"):
        raise SubmissionError("--judge-base-url needs --judge-model")
    if not opts.get("progress", True):
        argv.append("--no-progress")
    return ["--tasks", ",".join(tasks), *argv]


def score_submission(sub: ValidatedSubmission, **opts: Any) -> ScoredSubmission:
    """Re-score ``sub`` with the harness (options: ``encoder``, ``judge_model``,
    ``judge_base_url``, ``judge_api_key_env``, ``progress``)."""
    if opts.get("judge_rubric"):
        from ..metrics.judge import RUBRIC_V1

        if opts["judge_rubric"] != RUBRIC_V1.version:
            raise SubmissionError(
                f"--judge-rubric {opts['judge_rubric']!r}: the harness judges with {RUBRIC_V1.version!r}"
            )
    where = str(sub.files.source)
    if sub.metadata.predictions is None:
        results, rows, harness_version, schema_version = _motion_only_results()
    else:
        results, rows = _run_harness(sub, opts, where)
        harness_version = str(results["environment"]["packages"].get("m2m-bench") or "?")
        schema_version = str(results["schema_version"])
    # The harness's part is kept as written (its config_hash covers it); config.model.spec names
    # the private temporary copy of the predictions, whose sha256 is config.model.revision.
    board: dict[str, Any] = {
        "submission_id": sub.submission_id,
        "content_sha256": sub.content_sha256,
        "predictions_file": sub.metadata.predictions,
    }
    if "gsm8k" in sub.extras:
        from ._gsm8k import score_gsm8k

        g_rows, g_res = score_gsm8k(sub.extras["gsm8k"])
        rows += g_rows
        board["gsm8k"] = {
            k: g_res[k]
            for k in ("metrics", "n", "task", "task_version", "runner_version", "dataset")
        }
    if "motion" in sub.extras:
        from ._motion import score_motion

        m_rows, m_res = score_motion(sub.extras["motion"])
        rows += m_rows
        board["motion"] = m_res
    results["board"] = board
    return ScoredSubmission(sub, results, finite_rows(rows, where), harness_version, schema_version)


def _run_harness(
    sub: ValidatedSubmission, opts: dict[str, Any], where: str
) -> tuple[dict[str, Any], list[ScoreRow]]:
    from .. import evaluate
    from .._results import SCHEMA, SCHEMA_VERSION

    with tempfile.TemporaryDirectory(prefix="m2m-board-") as tmp:
        pred = Path(tmp) / "predictions.jsonl"
        pred.write_bytes(sub.files.files[sub.metadata.predictions])
        args = evaluate.build_parser().parse_args(
            _evaluate_argv(pred, Path(tmp) / "results", sub, opts)
        )
        results, _ = evaluate.run(args)
    if results.get("schema") != SCHEMA or results.get("schema_version") != SCHEMA_VERSION:
        raise SubmissionError(
            f"{where}: unexpected harness results schema {results.get('schema_version')!r}"
        )
    ds = sub.metadata.dataset
    cfg = results["config"]["dataset"]
    if (
        cfg["content_hash"] != ds.content_hash
        or cfg["n"] != len(sub.split_ids)
        or cfg["split"] != ds.split
    ):
        raise SubmissionError(
            f"{where}: the harness scored different data than the submission names"
        )
    return results, harness_rows(results, where)


#: Results of a motion-only submission (no harness run): this schema, plus the ``board`` section.
MOTION_RESULTS_SCHEMA = "m2m-bench-board-motion"


def _motion_only_results() -> tuple[dict[str, Any], list[ScoreRow], str, str]:
    from .. import __version__
    from .._results import environment, now_iso

    results = {
        "schema": MOTION_RESULTS_SCHEMA,
        "schema_version": "1",
        "created": now_iso(),
        "environment": environment(),
    }
    return results, [], __version__, "motion-1"


def table_dataset(scored: ScoredSubmission) -> tuple[str, str, str, str]:
    """``(name, version, split, content hash)`` of the table an entry belongs to.

    M2M entries: the scored dataset version and split. Motion-only entries (controllers) form
    their own table per physical-metrics version: ``("motion", "<metrics version>", "episodes", "")``.
    """
    ds = scored.submission.metadata.dataset
    if ds is not None:
        return (ds.name, ds.version, ds.split, ds.content_hash)
    from ._motion import metrics_version

    return ("motion", metrics_version(), "episodes", "")


def store_scored(store: Store, scored: ScoredSubmission) -> int:
    """Store a scored submission (one transaction); returns the rows written."""
    sub = scored.submission
    return store.add(
        submission_id=sub.submission_id,
        content_sha256=sub.content_sha256,
        metadata=sub.metadata.raw,
        results=scored.results,
        dataset=table_dataset(scored),
        harness_version=scored.harness_version,
        results_schema=scored.results_schema,
        scores=scored.rows,
    )
