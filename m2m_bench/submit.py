"""``m2m-bench submit PATH``: validate a leaderboard submission locally and show its scores.

Checks the folder or archive exactly as ``m2m-bench leaderboard add`` will (format, sizes,
safe parsing, every id of the split exactly once, dataset version and content hash), re-scores
the predictions with the harness and prints the numbers the board will show. Nothing is
stored. Exit status 0 when the submission is accepted, 2 with one clear message when not.
"""

from __future__ import annotations

import argparse
import json
import sys

from .board._cli import add_scoring_args, print_scores, scoring_options


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="m2m-bench submit",
        description="Validate a leaderboard submission (folder, .zip or .tar.gz) and print the scores it will get.",
    )
    p.add_argument("path", help="submission folder or archive (metadata.json + predictions JSONL)")
    p.add_argument(
        "--json", action="store_true", help="print the scores as JSON instead of a table"
    )
    p.add_argument(
        "--validate-only", action="store_true", help="check the submission without scoring it"
    )
    add_scoring_args(p)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .board import validate_submission
    from .board._score import score_submission

    sub = validate_submission(args.path)
    meta = sub.metadata
    ds = meta.dataset
    what = (
        f"{len(sub.predictions)} predictions for {ds.name} {ds.version} {ds.split}"
        if ds is not None
        else "motion episodes only"
    )
    print(f"valid: {sub.files.source} ({what}, submission id {sub.submission_id})", file=sys.stderr)
    if sub.ignored:
        print(f"not read (carried along): {', '.join(sub.ignored)}", file=sys.stderr)
    if args.validate_only:
        return 0
    scored = score_submission(sub, **scoring_options(args))
    if args.json:
        print(json.dumps({"submission_id": sub.submission_id, "harness_version": scored.harness_version,
                          "scores": [r.__dict__ for r in scored.rows]}, indent=2))  # fmt: skip
    else:
        print_scores(scored)
        print(
            f"\nOK: `m2m-bench leaderboard add {args.path}` will store these scores as {sub.submission_id}."
        )
    return 0


if __name__ == "__main__":
    from .cli import run_main

    sys.exit(run_main(main, None))
