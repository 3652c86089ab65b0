"""Shared bits of ``m2m-bench submit`` and ``m2m-bench leaderboard``: scoring options, score tables."""

from __future__ import annotations

import argparse
from typing import Any


def add_scoring_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("scoring (the harness re-scores every submission)")
    g.add_argument(
        "--encoder",
        default=None,
        help="sentence encoder for SS/IC/soft skills (default: all-MiniLM-L6-v2)",
    )
    g.add_argument(
        "--judge-model",
        default=None,
        help="also score with an LLM judge served under this model name",
    )
    g.add_argument("--judge-base-url", default=None, help="OpenAI-compatible endpoint of the judge")
    g.add_argument(
        "--judge-api-key-env",
        default="OPENAI_API_KEY",
        help="environment variable holding the judge's key",
    )
    g.add_argument(
        "--judge-rubric",
        default=None,
        help="judge rubric version (default: the harness's current one)",
    )


def scoring_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "encoder": args.encoder,
        "judge_model": args.judge_model,
        "judge_base_url": args.judge_base_url,
        "judge_api_key_env": args.judge_api_key_env,
        "judge_rubric": args.judge_rubric,
    }


def print_scores(scored) -> None:
    """A table of re-scored metrics, grouped by task."""
    from rich.console import Console
    from rich.table import Table

    from ._columns import Column

    sub = scored.submission
    ds = sub.metadata.dataset
    on = f"{ds.name} {ds.version} {ds.split}" if ds is not None else "motion episodes"
    table = Table(
        title=f"{sub.metadata.model_name} on {on} (harness {scored.harness_version})",
        title_justify="left",
    )
    for col in ("task", "metric", "version", "value"):
        table.add_column(col, justify="right" if col == "value" else "left")
    for r in scored.rows:
        c = Column(r.task, r.metric, r.metric_version)
        arrow = "↑" if c.higher_is_better else "↓"
        table.add_row(r.task, f"{r.metric} {arrow}", r.metric_version, f"{r.value:.4f}")
    Console(highlight=False).print(table)
