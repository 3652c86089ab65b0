"""The summary tables printed at the end of a run, shaped like Motion-R1's tables.

Table 1 (action generation: SS, KMR, IC, CPS), Table 2 (skills: Jaccard, precision, recall,
plus our soft variants and R_skill), a format table, a judge table, and Table 4 (GSM8K
accuracy, strict and flexible match). One row per model; several results files can be put in
one table with :func:`render_tables`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: Column order and headers per task (columns not listed follow in their own order).
COLUMNS: dict[str, list[tuple[str, str]]] = {
    "action": [("ss", "SS"), ("kmr", "KMR"), ("ic", "IC"), ("cps", "CPS")],
    "skills": [
        ("jaccard", "Jaccard"),
        ("precision", "Precision"),
        ("recall", "Recall"),
        ("jaccard_soft", "Jaccard~"),
        ("precision_soft", "Precision~"),
        ("recall_soft", "Recall~"),
        ("r_skill", "R_skill"),
    ],
    "format": [("valid", "Valid XML"), ("tree_sim", "Tree sim"), ("r_format", "R_format")],
    "judge": [
        ("rationality", "Rationality"),
        ("relevance", "Relevance"),
        ("rationality_win", "Rationality win"),
        ("relevance_win", "Relevance win"),
        ("failures", "Failures"),
    ],
    "gsm8k": [("strict-match", "strict-match"), ("flexible-extract", "flexible-extract")],
}

TITLES = {
    "action": "Action generation (shape of Motion-R1 Table 1)",
    "skills": "Skills generation (shape of Motion-R1 Table 2; ~ = soft match)",
    "format": "Response format",
    "judge": "LLM judge",
    "gsm8k": "GSM8K accuracy, lm-eval 5-shot (shape of Motion-R1 Table 4)",
}


def _split_column(col: str) -> tuple[str, str]:
    """``"judge.relevance[m|rubric-v1]"`` -> ``("relevance", "m|rubric-v1")``."""
    base, _, ident = col.partition("[")
    name = base.split(".", 1)[1] if "." in base else base
    return name, ident.rstrip("]")


def _fmt(v: Any, name: str) -> str:
    if v is None:
        return "-"
    if name == "failures":
        return str(int(v))
    return f"{float(v):.4f}"


def task_columns(task: str, summaries: Sequence[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """``(column key, header, identity)`` in display order for the task over all summaries."""
    seen: list[str] = []
    for s in summaries:
        for col in s:
            if col not in seen:
                seen.append(col)
    order = {n: i for i, (n, _) in enumerate(COLUMNS.get(task, []))}
    headers = dict(COLUMNS.get(task, []))
    out = []
    for col in seen:
        name, ident = _split_column(col)
        out.append((col, headers.get(name, name), ident))
    out.sort(key=lambda c: (order.get(_split_column(c[0])[0], len(order)), c[0]))
    return out


def build_tables(results: Sequence[dict[str, Any]]) -> list[Any]:
    """Rich tables, one per task present in any of ``results``."""
    from rich.markup import escape
    from rich.table import Table

    tasks: list[str] = []
    for r in results:
        for t in r["summary"]:
            if t not in tasks:
                tasks.append(t)
    tables = []
    for task in tasks:
        rows = [(r, r["summary"][task]) for r in results if task in r["summary"]]
        cols = task_columns(task, [s for _, s in rows])
        idents = sorted({i for _, _, i in cols if i})
        title = TITLES.get(task, task)
        if idents:
            title += f" [{'; '.join(idents)}]"
        first = rows[0][0]["config"]
        if task == "gsm8k":
            ds = first.get("gsm8k") or {}
            caption = f"GSM8K {ds.get('dataset_version', '')} test, n={rows[0][0].get('gsm8k', {}).get('n', '?')}"
        else:
            d = first["dataset"]
            caption = f"{d['name']} {d['version']} {d['split']}, n={d['n']}"
        table = Table(title=escape(title), caption=escape(caption), title_justify="left")
        table.add_column("Model", style="bold")
        for _, header, _ in cols:
            table.add_column(escape(header), justify="right")
        for r, summary in rows:
            name = escape(r["config"]["model"]["name"])
            table.add_row(name, *(_fmt(summary.get(col), _split_column(col)[0]) for col, _, _ in cols))
        tables.append(table)
    return tables


def render_tables(results: Sequence[dict[str, Any]], console: Any = None) -> None:
    """Print the tables of ``results`` (a list of results dicts) to ``console`` (stdout)."""
    from rich.console import Console

    console = console or Console(width=max(120, Console().width))
    for t in build_tables(results):
        console.print(t)
        console.print()


def markdown_tables(results: Sequence[dict[str, Any]]) -> str:
    """The same tables as GitHub markdown (for READMEs and leaderboards)."""
    out: list[str] = []
    for task in dict.fromkeys(t for r in results for t in r["summary"]):
        rows = [(r, r["summary"][task]) for r in results if task in r["summary"]]
        cols = task_columns(task, [s for _, s in rows])
        out.append(f"**{TITLES.get(task, task)}**\n")
        out.append("| Model | " + " | ".join(h for _, h, _ in cols) + " |")
        out.append("|---|" + "---:|" * len(cols))
        for r, s in rows:
            vals = " | ".join(_fmt(s.get(c), _split_column(c)[0]) for c, _, _ in cols)
            out.append(f"| {r['config']['model']['name']} | {vals} |")
        out.append("")
    return "\n".join(out)
