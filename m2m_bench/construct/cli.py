"""``m2m-bench construct``: build a dataset version with the ERA-CoT pipeline.

Exit status: 0 done; 1 a rebuild whose content hash differs; 2 an error (from the
``m2m-bench`` wrapper); 3 batch requests were written and wait for answers.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import M2MError
from .backends import export_requests, get_backend, import_responses
from .cache import CallCache
from .config import ConstructConfig, parse_ratios, parse_set
from .llm import LLM
from .pipeline import Build, build
from .sources import source_kinds
from .stages import STAGE_ORDER

EXIT_PENDING = 3


def default_cache() -> Path:
    """``<m2m-bench cache>/construct/calls.sqlite`` (``$M2M_BENCH_CACHE`` or ``~/.cache/m2m-bench``)."""
    from ..models.smollm2 import cache_root

    return cache_root() / "construct" / "calls.sqlite"


def build_parser() -> argparse.ArgumentParser:
    kinds = ", ".join(source_kinds())
    p = argparse.ArgumentParser(
        prog="m2m-bench construct",
        description="Turn a dialogue corpus into a validated M2M dataset version with the ERA-CoT "
        "pipeline (entities, explicit and implicit relations, discrimination, skill summarization).",
        epilog="Docs: docs/construct.md. Exit status 3: batch requests were written and wait for answers.",
    )
    io = p.add_argument_group("input and output")
    io.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="KIND:PATH",
        help=f"an input corpus; KIND is one of {kinds} (repeatable)",
    )
    io.add_argument("--out", type=Path, help="the datasets root to write into (e.g. datasets)")
    io.add_argument("--name", default="m2m", help="dataset name (default m2m)")
    io.add_argument("--version", help="the new version, MAJOR.MINOR.PATCH")
    io.add_argument(
        "--changelog", help="changelog entry of the new version (text, or a markdown file)"
    )
    io.add_argument("--card", help="markdown file placed at the top of the dataset card")
    io.add_argument(
        "--scenario-taxonomy",
        help="scenario taxonomy YAML (domains and families) for coverage in the quality report",
    )
    io.add_argument("--limit", type=int, help="use only the first N input records")
    io.add_argument(
        "--split-ratios",
        default="train=0.8,validation=0.1,test=0.1",
        help="shares of the splits given to records without one (by scenario family)",
    )
    io.add_argument(
        "--pin-splits",
        metavar="PATH",
        help="fix the split of the records it names: a JSON {id: split} file or a released version folder",
    )
    io.add_argument(
        "--splits-out",
        type=Path,
        metavar="FILE",
        help="write the split of every input record as JSON {id: split} and stop (no stages)",
    )
    io.add_argument(
        "--annotations",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="a second, independent skill annotation (JSONL id/skills) to ship and compare (repeatable)",
    )
    io.add_argument(
        "--min-distinct-skills",
        type=int,
        default=0,
        help="floor of the quality report's distinct-skills check (1.0.0: 1500)",
    )
    io.add_argument(
        "--no-ship-calls",
        action="store_true",
        help="do not put construct/calls.jsonl.gz in the version",
    )

    st = p.add_argument_group("stages")
    st.add_argument(
        "--stages",
        default=None,
        help=f"comma-separated subset of {','.join(STAGE_ORDER)}, or 'none' for records that bring their own action and skills (default: all but taxonomy)",
    )
    st.add_argument(
        "--samples",
        type=int,
        help="self-consistency samples for entities/explicit/implicit (default 3)",
    )
    st.add_argument(
        "--temperature", type=float, help="sampling temperature of those stages (default 0.7)"
    )
    st.add_argument("--max-tokens", type=int, help="answer token limit of every stage")
    st.add_argument(
        "--max-attempts",
        type=int,
        default=3,
        help="answers per sample before it counts as failed (default 3)",
    )
    st.add_argument("--seed", type=int, default=0, help="base seed; sample s uses seed+s")
    st.add_argument(
        "--threshold",
        type=float,
        default=0.5,
        help="discrimination threshold v_th: keep V >= v_th (default 0.5)",
    )
    st.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="STAGE.KEY=VALUE",
        help="override a stage option, e.g. implicit.max_candidates=5",
    )
    st.add_argument(
        "--taxonomy", help="taxonomy YAML to read (or to write, with the taxonomy stage)"
    )
    st.add_argument(
        "--annotate",
        metavar="FILE",
        help="run the ERA-CoT stages only on the records whose ids FILE lists (one per line)",
    )
    st.add_argument(
        "--resume",
        action="store_true",
        help="reuse stored stage results of earlier runs (calls are always cached)",
    )

    be = p.add_argument_group("LLM backend")
    be.add_argument("--backend", choices=("openai", "hf", "batch"), help="where answers come from")
    be.add_argument(
        "--model", default="", help="model name (openai, batch) or folder / 'smollm2' (hf)"
    )
    be.add_argument(
        "--base-url", help="OpenAI-compatible endpoint (default $OPENAI_BASE_URL or api.openai.com)"
    )
    be.add_argument(
        "--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the API key"
    )
    be.add_argument(
        "--concurrency", type=int, default=4, help="requests in flight at once (openai)"
    )
    be.add_argument("--rpm", type=float, help="at most this many requests per minute (openai)")
    be.add_argument(
        "--max-retries", type=int, default=6, help="retries on timeouts, 429 and 5xx (openai)"
    )
    be.add_argument("--timeout", type=float, default=120.0, help="seconds per request (openai)")
    be.add_argument(
        "--price-in",
        type=float,
        default=0.0,
        help="USD per million prompt tokens, for the cost total",
    )
    be.add_argument(
        "--price-out", type=float, default=0.0, help="USD per million completion tokens"
    )
    be.add_argument(
        "--extra-body", help="JSON object sent with every request (enters the cache key)"
    )
    be.add_argument("--device", default="auto", help="device of the hf backend")
    be.add_argument("--batch-size", type=int, default=4, help="generation batch of the hf backend")
    be.add_argument("--cache", type=Path, help=f"the call cache (default {default_cache()})")

    bt = p.add_argument_group("batch files and review")
    bt.add_argument(
        "--batch-import",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="import answers (OpenAI Batch API output or {custom_id, content} lines) before running",
    )
    bt.add_argument(
        "--import-calls",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="load request+answer pairs (a version's construct/calls.jsonl.gz, or --export-calls of another cache) before running",
    )
    bt.add_argument(
        "--export-calls",
        type=Path,
        metavar="FILE",
        help="write every answered call of --cache as gzipped JSON Lines (to merge annotators' caches) and stop",
    )
    bt.add_argument(
        "--batch-export", type=Path, help="where pending requests go (default next to the cache)"
    )
    bt.add_argument(
        "--review-export",
        type=Path,
        metavar="FILE",
        help="write the records for review (.jsonl or .csv) instead of a version",
    )
    bt.add_argument(
        "--review-import",
        type=Path,
        metavar="FILE",
        help="apply a reviewed file before writing the version",
    )
    bt.add_argument(
        "--rebuild",
        type=Path,
        metavar="VERSION_DIR",
        help="rebuild that version from its cache alone and compare content hashes",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def config_from_args(args: argparse.Namespace) -> ConstructConfig:
    extra_body = None
    if args.extra_body:
        try:
            extra_body = json.loads(args.extra_body)
        except json.JSONDecodeError as e:
            raise M2MError(f"--extra-body: not valid JSON ({e})") from None
        if not isinstance(extra_body, dict):
            raise M2MError("--extra-body must be a JSON object")
    if args.stages is not None and args.stages.strip().lower() == "none":
        stages: list[str] | None = []  # records bring their own action and skills
    else:
        stages = [s.strip() for s in args.stages.split(",") if s.strip()] if args.stages else None
    kw: dict[str, Any] = {} if stages is None else {"stages": stages}
    return ConstructConfig(
        inputs=list(args.input),
        samples=args.samples,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        max_attempts=args.max_attempts,
        seed=args.seed,
        threshold=args.threshold,
        extra_body=extra_body,
        overrides=parse_set(args.set),
        taxonomy=args.taxonomy,
        limit=args.limit,
        split_ratios=parse_ratios(args.split_ratios),
        pin_splits=args.pin_splits,
        annotate=args.annotate,
        **kw,
    )


def print_summary(b: Build, seconds: float, out: Any = None) -> None:
    """A table of calls, cache hits, failures, tokens and time per stage."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="m2m-bench construct", show_lines=False)
    for col in (
        "stage",
        "records",
        "ok",
        "skipped",
        "failed",
        "reused",
        "calls",
        "cache hits",
        "retries",
        "pending",
        "tokens in",
        "tokens out",
        "cost $",
        "time s",
    ):
        table.add_column(col, justify="left" if col == "stage" else "right")
    total = b.total
    for name, r in b.reports.items():
        s = r.stats
        table.add_row(
            name, str(r.records), str(r.ok), str(r.skipped), str(r.failed), str(r.reused), str(s.calls), str(s.cache_hits),
            str(r.retries), str(s.pending), str(s.prompt_tokens), str(s.completion_tokens), f"{s.cost:.4f}", f"{r.seconds:.1f}",
        )  # fmt: skip
    table.add_row(
        "total", str(len(b.items)), "", "", str(sum(r.failed for r in b.reports.values())), "", str(total.calls),
        str(total.cache_hits), str(sum(r.retries for r in b.reports.values())), str(total.pending),
        str(total.prompt_tokens), str(total.completion_tokens), f"{total.cost:.4f}", f"{seconds:.1f}",
    )  # fmt: skip
    Console(file=out or sys.stderr, width=160).print(table)


def _backend(args: argparse.Namespace):
    if not args.backend:
        raise M2MError("--backend is required (openai, hf or batch)")
    return get_backend(
        args.backend,
        args.model,
        base_url=args.base_url,
        api_key_env=args.api_key_env,
        concurrency=args.concurrency,
        rpm=args.rpm,
        max_retries=args.max_retries,
        timeout=args.timeout,
        price_in=args.price_in,
        price_out=args.price_out,
        device=args.device,
        batch_size=args.batch_size,
    )


def _rebuild(args: argparse.Namespace) -> int:
    from .output import rebuild

    if not args.out or not args.version:
        raise M2MError("--rebuild needs --out and --version (where the rebuilt copy goes)")
    r = rebuild(args.rebuild, root=args.out, version=args.version, cache=args.cache, inputs=args.input or None,
                progress=not args.no_progress)  # fmt: skip
    verdict = "matches" if r.matches else "DIFFERS from"
    print(
        f"rebuilt {r.written.folder}: content hash {r.written.content_hash} {verdict} {args.rebuild} ({r.original_hash})"
    )
    return 0 if r.matches else 1


def _splits_out(args: argparse.Namespace) -> int:
    """Assign splits to the inputs (pins kept) and write them; no stage runs."""
    from collections import Counter

    from .output import record_splits
    from .pipeline import load_records
    from .selection import write_pins

    config = config_from_args(args)
    records, _ = load_records(config)
    split = record_splits(config, records)
    write_pins(args.splits_out, split)
    print(
        f"wrote the splits of {len(split)} record(s) to {args.splits_out}: {dict(sorted(Counter(split.values()).items()))}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.rebuild:
        return _rebuild(args)
    cache_path = args.cache or default_cache()
    with CallCache(cache_path) as cache:
        for f in args.import_calls:
            print(f"imported {cache.import_calls(f)} call(s) from {f}")
        if args.export_calls:
            keys = cache.keys()
            args.export_calls.parent.mkdir(parents=True, exist_ok=True)
            args.export_calls.write_bytes(cache.export_calls(keys))
            print(f"exported {len(keys)} call(s) of {cache_path} to {args.export_calls}")
            return 0
        for f in args.batch_import:
            rep = import_responses(cache, f)
            print(
                f"imported {rep.imported} answer(s) from {f} ({rep.already} already there, {len(rep.errors)} failed request(s))"
            )
            for e in rep.errors[:20]:
                print(f"  {e}", file=sys.stderr)
        if not args.input:
            if args.batch_import:
                return 0
            raise M2MError("--input is required (KIND:PATH)")
        if args.splits_out:
            return _splits_out(args)
        if not args.review_export and (not args.out or not args.version):
            raise M2MError("--out and --version are required (or --review-export FILE)")
        config = config_from_args(args)
        backend = _backend(args)
        t0 = time.monotonic()
        try:
            b = build(
                config, LLM(backend, cache), resume=args.resume, progress=not args.no_progress
            )
        finally:
            backend.close()
        print_summary(b, time.monotonic() - t0)
        if b.blocked:
            path = (
                args.batch_export or cache_path.parent / "batch" / f"requests-{b.llm.run_id}.jsonl"
            )
            n = export_requests(cache, sorted(b.llm.pending), path)
            print(
                f"{n} request(s) for {len(b.blocked)} record(s) wait for answers: {path}\n"
                f"Answer them (OpenAI Batch API or by hand), then rerun the same command with "
                f"--batch-import ANSWERS.jsonl --resume."
            )
            return EXIT_PENDING
        from .output import assemble, finalize
        from .review import export_review

        if args.review_export:
            splits, drops = assemble(b)
            n = export_review(splits, args.review_export)
            print(
                f"wrote {n} record(s) for review to {args.review_export} ({len(drops)} dropped or unannotated)"
            )
            return 0
        w = finalize(
            b,
            root=args.out,
            version=args.version,
            name=args.name,
            changelog=Path(args.changelog).read_text(encoding="utf-8")
            if args.changelog and Path(args.changelog).is_file()
            else args.changelog,
            review_file=args.review_import,
            ship_calls=not args.no_ship_calls,
            card_intro=Path(args.card).read_text(encoding="utf-8") if args.card else None,
            taxonomy_file=args.scenario_taxonomy,
            annotation_files=args.annotations,
            min_distinct_skills=args.min_distinct_skills,
        )
        dropped = sum(1 for d in w.drops if d["outcome"] == "dropped")
        verb = "wrote" if w.written else "already written, identical:"
        print(
            f"{verb} {w.folder}: {sum(w.splits.values())} record(s) {w.splits}, {dropped} dropped, content hash {w.content_hash}"
        )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
