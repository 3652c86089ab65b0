"""``m2m-bench leaderboard add PATH... | build | list | remove ID``: the leaderboard's store and site.

* ``add PATH...``   validate each submission, re-score it with the harness and store it in
                    ``<root>/leaderboard.duckdb`` (one transaction per submission; a refused
                    submission stores nothing);
* ``build``         write the static site (``<root>/site`` unless ``--out``);
* ``list``          print the stored submissions;
* ``remove ID``     delete one submission and its scores.

``--root`` (default ``leaderboard``, relative to the current directory) holds the store.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .board._cli import add_scoring_args, print_scores, scoring_options


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--root",
        default="leaderboard",
        help="folder holding leaderboard.duckdb (default: leaderboard)",
    )
    p = argparse.ArgumentParser(
        prog="m2m-bench leaderboard",
        description="Add re-scored submissions to the M2M leaderboard store and build its static site.",
    )
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("add", parents=[common], help="validate, re-score and store submissions")
    a.add_argument("paths", nargs="+", help="submission folders or archives")
    add_scoring_args(a)
    b = sub.add_parser("build", parents=[common], help="write the static site")
    b.add_argument("--out", default=None, help="output folder (default: <root>/site)")
    b.add_argument("--title", default="M2M leaderboard", help="page title")
    sub.add_parser("list", parents=[common], help="list stored submissions")
    r = sub.add_parser("remove", parents=[common], help="delete a stored submission")
    r.add_argument("submission_id")
    return p


def _add(args: argparse.Namespace) -> int:
    from .board import Store, SubmissionError, validate_submission
    from .board._score import score_submission, store_scored

    failed = 0
    opts = scoring_options(args)
    for path in args.paths:
        try:
            sub = validate_submission(path)
            scored = score_submission(sub, **opts)
            with Store(args.root) as store:
                store_scored(store, scored)
        except SubmissionError as e:
            print(f"error: {e}", file=sys.stderr)
            failed += 1
            continue
        print_scores(scored)
        print(f"added {sub.submission_id} to {Path(args.root) / 'leaderboard.duckdb'}")
    if failed:
        print(
            f"{failed} of {len(args.paths)} submission(s) refused; nothing was stored for them",
            file=sys.stderr,
        )
        return 2
    return 0


def _build(args: argparse.Namespace) -> int:
    from .board import Store, build_site

    with Store(args.root, read_only=True) as store:
        entries = store.entries()
    out = Path(args.out) if args.out else Path(args.root) / "site"
    index = build_site(entries, out, title=args.title)
    print(f"wrote {index} ({len(entries)} submission(s))")
    return 0


def _list(args: argparse.Namespace) -> int:
    from .board import Store
    from .board._columns import PRIMARY

    with Store(args.root, read_only=True) as store:
        entries = store.entries()
    if not entries:
        print("no submissions")
        return 0
    print(f"{'submission id':<44} {'dataset':<18} {'harness':<10} {'primary':>10}  model")
    for e in entries:
        prim = next(
            (
                f"{s.metric.split('.', 1)[1]}={s.value:.3f}"
                for name in PRIMARY
                for s in e.scores
                if s.metric == name
            ),
            "",
        )
        print(f"{e.submission_id:<44} {e.dataset_name + ' ' + e.dataset_version + ' ' + e.split:<18} "
              f"{e.harness_version:<10} {prim:>10}  {e.model_name}")  # fmt: skip
    return 0


def _remove(args: argparse.Namespace) -> int:
    from .board import Store

    with Store(args.root) as store:
        store.remove(args.submission_id)
    print(f"removed {args.submission_id}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return {"add": _add, "build": _build, "list": _list, "remove": _remove}[args.command](args)


if __name__ == "__main__":
    from .cli import run_main

    sys.exit(run_main(main, None))
