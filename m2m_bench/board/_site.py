"""The static leaderboard site: ``index.html`` plus each entry's metadata and results JSON.

:func:`build_site` writes, into the output folder (``leaderboard/site/`` by default)::

    index.html                        the board: one sortable table per dataset version and
                                      split, then its plots; CSS, JS and SVG are inline
    leaderboard.json                  the same tables as data
    entries/<submission_id>/metadata.json
    entries/<submission_id>/results.json

Nothing is fetched at view time: the page opens from disk (``file://``) and can be published
as-is (GitHub Pages, a static Hugging Face Space). A Content-Security-Policy forbids any
outside resource. Every text that came from a submission is HTML-escaped.

Tables are keyed by ``(dataset name, dataset version, split)``; their columns by
``(task, metric, metric version)`` (:mod:`._columns`), so no table and no column mixes
dataset or metric versions. Rows are sorted by the primary metric (CPS when present); clicking
a column header sorts by it (best first, a second click reverses), with missing values last.
"""

from __future__ import annotations

import html
import json
import shutil
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import _plots
from ._columns import PRIMARY, Column, group_order, metric_doc, metric_order
from ._store import Entry

SITE_FORMAT_VERSION = "1"


def _esc(s: object) -> str:
    return html.escape(str(s), quote=True)


def _fmt(v: float | None) -> str:
    if v is None:
        return "–"
    a = abs(v)
    if a != 0 and (a >= 1e4 or a < 1e-3):
        return f"{v:.3g}"
    return f"{v:.3f}" if a < 10 else f"{v:.2f}"


def _params(n: int) -> str:
    for unit, size in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return str(n)


def columns_for(entries: list[Entry]) -> list[Column]:
    """The columns of one table (see the module docstring): by group, then in the harness's
    metric order (its registry), then by name and version."""
    versions: dict[tuple[str, str], set[str]] = defaultdict(set)
    for e in entries:
        for s in e.scores:
            versions[(s.task, s.metric)].add(s.metric_version)
    cols = [
        Column(task, metric, v, versioned=len(vs) > 1)
        for (task, metric), vs in versions.items()
        for v in sorted(vs)
    ]
    return sorted(
        cols,
        key=lambda c: (group_order(c.task), c.task, metric_order(c.metric), c.metric, c.version),
    )


def _value(e: Entry, c: Column) -> float | None:
    for s in e.scores:
        if s.task == c.task and s.metric == c.metric and s.metric_version == c.version:
            return s.value
    return None


def _primary(cols: list[Column]) -> Column | None:
    for name in PRIMARY:
        for c in cols:
            if c.metric == name:
                return c
    return cols[0] if cols else None


def _sorted_entries(entries: list[Entry], col: Column | None) -> list[Entry]:
    if col is None:
        return list(entries)
    sign = -1 if col.higher_is_better else 1

    def key(e: Entry):
        v = _value(e, col)
        return (v is None, sign * v if v is not None else 0.0, e.model_name.lower())

    return sorted(entries, key=key)


def _table_id(key: tuple[str, str, str]) -> str:
    return "board-" + "-".join(k.replace(".", "_") for k in key)


def _table_html(key: tuple[str, str, str], entries: list[Entry], cols: list[Column]) -> str:
    primary = _primary(cols)
    rows = _sorted_entries(entries, primary)
    tid = _table_id(key)
    groups: list[tuple[str, int]] = []
    for c in cols:
        if groups and groups[-1][0] == c.group:
            groups[-1] = (c.group, groups[-1][1] + 1)
        else:
            groups.append((c.group, 1))
    head1 = ['<th colspan="4" class="grp"></th>']
    head1 += [f'<th colspan="{n}" class="grp">{_esc(g)}</th>' for g, n in groups]
    head1.append('<th class="grp"></th>')

    def th(label: str, key_: str, kind: str, better: str, title: str, active: bool = False) -> str:
        aria = (
            f' aria-sort="{"descending" if better == "higher" else "ascending"}"' if active else ""
        )
        return (
            f'<th scope="col" data-key="{_esc(key_)}" data-type="{kind}" data-better="{better}"'
            f' title="{_esc(title)}"{aria}><button type="button">{_esc(label)}</button></th>'
        )

    head2 = [
        '<th scope="col" class="rank">#</th>',
        th("Model", "model", "text", "lower", "model name (click to sort)"),
        th("Params", "params", "num", "lower", "parameter count"),
        '<th scope="col" title="trained on the M2M train split">M2M train</th>',
    ]
    for c in cols:
        doc = metric_doc(c.metric)
        title = f"{c.metric} (metric version {c.version}); {'higher' if c.higher_is_better else 'lower'} is better"
        if doc:
            title += ". " + doc
        head2.append(
            th(
                c.label,
                c.key,
                "num",
                "higher" if c.higher_is_better else "lower",
                title,
                c is primary,
            )
        )
    head2.append('<th scope="col">Files</th>')

    body = []
    for i, e in enumerate(rows, start=1):
        meta = e.metadata
        url = meta.get("model_url")
        name = _esc(e.model_name)
        if url:
            name = f'<a href="{_esc(url)}" rel="noopener nofollow">{name}</a>'
        sub = " · ".join(
            _esc(x)
            for x in (meta.get("method"), (meta.get("divergence") or "").upper() or None)
            if x
        )
        cells = [
            f'<td class="rank">{i}</td>',
            f'<td class="model" data-value="{_esc(e.model_name.lower())}">{name}'
            + (f'<span class="sub">{sub}</span>' if sub else "")
            + "</td>",
            f'<td class="num" data-value="{e.parameters}">{_params(e.parameters)}</td>',
            f'<td class="flag">{"yes" if e.trained_on_m2m_train else "no"}</td>',
        ]
        for c in cols:
            v = _value(e, c)
            cells.append(
                f'<td class="num" data-value="{"" if v is None else repr(float(v))}">{_fmt(v)}</td>'
            )
        base = f"entries/{_esc(e.submission_id)}"
        cells.append(
            f'<td class="files"><a href="{base}/metadata.json">metadata</a> · '
            f'<a href="{base}/results.json">results</a></td>'
        )
        body.append(f'<tr data-id="{_esc(e.submission_id)}">' + "".join(cells) + "</tr>")
    return (
        f'<table class="board" id="{tid}">\n<thead><tr>{"".join(head1)}</tr>\n<tr>{"".join(head2)}</tr></thead>\n'
        f"<tbody>\n{chr(10).join(body)}\n</tbody></table>"
    )


def _plots_html(key: tuple[str, str, str], entries: list[Entry], cols: list[Column]) -> str:
    salt = "-".join(key)
    parts: list[str] = []
    for c in cols:
        pts = [(e.model_name, _value(e, c)) for e in entries]
        pts = [(n, v) for n, v in pts if v is not None]
        if not pts:
            continue
        parts.append(
            '<figure class="bar">'
            + _plots.bar_chart(
                [p[0] for p in pts], [p[1] for p in pts], title=f"{c.group}: {c.label}",
                higher_is_better=c.higher_is_better, salt=f"{salt}-{c.key}",
            )
            + "</figure>"
        )  # fmt: skip
    extra: list[str] = []
    ss = [c for c in cols if c.metric == "action.ss"]
    jac = [c for c in cols if c.metric == "skills.jaccard"]
    if ss and jac:
        x_col, y_col = ss[-1], jac[-1]
        pts = [(e.model_name, _value(e, x_col), _value(e, y_col)) for e in entries]
        pts = [p for p in pts if p[1] is not None and p[2] is not None]
        if pts:
            extra.append(
                '<figure class="wide">'
                + _plots.scatter(
                    [p[0] for p in pts], [p[1] for p in pts], [p[2] for p in pts],
                    xlabel=f"SS (action.ss v{x_col.version})", ylabel=f"skill Jaccard (skills.jaccard v{y_col.version})",
                    title="Semantic similarity vs skill Jaccard", salt=f"{salt}-scatter",
                )
                + "</figure>"
            )  # fmt: skip
    by_div = {d: [e for e in entries if e.metadata.get("divergence") == d] for d in ("kl", "js")}
    if by_div["kl"] and by_div["js"]:
        groups = {}
        for d in ("kl", "js"):
            for e in by_div[d]:
                groups[f"{e.model_name} ({d.upper()})"] = {
                    c.key: v for c in cols if (v := _value(e, c)) is not None
                }
        shared = [c for c in cols if all(c.key in g for g in groups.values())]
        if shared:
            extra.append(
                '<figure class="wide">'
                + _plots.paired_bars(
                    groups,
                    [(c.key, c.label) for c in shared],
                    title="GRPO: JS vs KL divergence",
                    salt=f"{salt}-jskl",
                )
                + "</figure>"
            )
    if not parts and not extra:
        return ""
    return (
        '<div class="plots">' + "".join(extra) + "</div>"
        + '<details class="bars" open><summary>Bar chart per metric</summary><div class="plots">'
        + "".join(parts) + "</div></details>"
    )  # fmt: skip


_CSS = """
:root { --fg:#1d232b; --muted:#5d6773; --line:#d8dde3; --head:#f3f5f8; --accent:#3b6fb6; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
       margin: 0 auto; padding: 1.2rem 1.5rem 3rem; max-width: 1800px; background: #fff; }
h1 { font-size: 1.6rem; margin: 0 0 .2rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .3rem; }
p.lead, p.meta { color: var(--muted); margin: .2rem 0 .6rem; }
.scroll { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; }
table.board { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
table.board th, table.board td { padding: .35rem .45rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
table.board thead th { background: var(--head); font-weight: 600; text-align: center; position: sticky; top: 0; }
table.board th.grp { font-size: .78rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted);
                     border-left: 1px solid var(--line); }
table.board th button { all: unset; cursor: pointer; }
table.board th button:focus-visible { outline: 2px solid var(--accent); }
table.board th[aria-sort] { color: var(--accent); }
table.board th[aria-sort="descending"] button::after { content: " ▼"; font-size: .7em; }
table.board th[aria-sort="ascending"] button::after { content: " ▲"; font-size: .7em; }
table.board td.num { text-align: right; }
table.board td.rank { color: var(--muted); text-align: right; }
table.board td.model { white-space: normal; min-width: 12rem; max-width: 20rem; }
table.board td.model .sub { display: block; color: var(--muted); font-size: .78rem; }
table.board td.files { font-size: .8rem; }
table.board tbody tr:hover { background: #f8fafc; }
a { color: var(--accent); }
.plots { display: flex; flex-wrap: wrap; gap: .8rem 1.2rem; margin: .8rem 0; }
.plots figure { margin: 0; }
.plots svg.plot { max-width: 100%; height: auto; }
details.bars summary { cursor: pointer; color: var(--muted); margin-top: .6rem; }
footer { margin-top: 3rem; color: var(--muted); font-size: .85rem; }
code { background: var(--head); padding: 0 .25rem; border-radius: 3px; }
"""

# Sorting: numbers numerically, text by locale; empty cells always last; the rank column
# is renumbered after each sort. A header's first click sorts best-first.
_JS = """
(function () {
  function cellValue(row, idx) { return row.cells[idx].getAttribute('data-value'); }
  function sortTable(table, th) {
    var idx = Array.prototype.indexOf.call(th.parentNode.cells, th);
    var numeric = th.getAttribute('data-type') === 'num';
    var current = th.getAttribute('aria-sort');
    var dir;
    if (current) { dir = current === 'descending' ? 'ascending' : 'descending'; }
    else { dir = th.getAttribute('data-better') === 'higher' ? 'descending' : 'ascending'; }
    var sign = dir === 'descending' ? -1 : 1;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.forEach(function (r, i) { r._pos = i; });
    rows.sort(function (a, b) {
      var va = cellValue(a, idx), vb = cellValue(b, idx);
      var ea = va === null || va === '', eb = vb === null || vb === '';
      if (ea || eb) { return ea === eb ? a._pos - b._pos : (ea ? 1 : -1); }
      var c = numeric ? (parseFloat(va) - parseFloat(vb)) : va.localeCompare(vb);
      return c !== 0 ? sign * c : a._pos - b._pos;
    });
    rows.forEach(function (r, i) { r.cells[0].textContent = String(i + 1); body.appendChild(r); });
    Array.prototype.forEach.call(th.parentNode.cells, function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', dir);
  }
  document.querySelectorAll('table.board').forEach(function (table) {
    table.querySelectorAll('th[data-key]').forEach(function (th) {
      th.querySelector('button').addEventListener('click', function () { sortTable(table, th); });
    });
  });
  window.m2mSortTable = sortTable;
})();
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


def _heading(key: tuple[str, str, str]) -> str:
    dname, dversion, split = key
    if dname == "motion":
        return f"Motion controllers — physical metrics (version {_esc(dversion)})"
    return f"{_esc(dname)} {_esc(dversion)} — {_esc(split)} split"


def group_entries(entries: list[Entry]) -> dict[tuple[str, str, str], list[Entry]]:
    """Entries by table key ``(dataset name, dataset version, split)``, newest version first."""
    from ..data._semver import is_version, version_key

    by: dict[tuple[str, str, str], list[Entry]] = defaultdict(list)
    for e in entries:
        by[e.table_key].append(e)

    keys = sorted(by, key=lambda k: (k[2] != "test", k[2]))
    keys.sort(
        key=lambda k: (is_version(k[1]), version_key(k[1]) if is_version(k[1]) else k[1]),
        reverse=True,
    )
    keys.sort(key=lambda k: k[0])
    return {k: by[k] for k in keys}


def build_site(entries: list[Entry], out: str | Path, *, title: str = "M2M leaderboard") -> Path:
    """Write the site for ``entries`` into ``out`` (replacing a previous build); returns index.html."""
    out = Path(out)
    tables = group_entries(entries)
    tmp = out.with_name(out.name + ".tmp-build")
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "entries").mkdir(parents=True)
    data: dict[str, Any] = {"site_format_version": SITE_FORMAT_VERSION, "tables": []}
    sections = []
    nav = []
    for key, group in tables.items():
        cols = columns_for(group)
        tid = _table_id(key)
        dname, dversion, split = key
        hashes = sorted({e.dataset_hash for e in group})
        harness = sorted({e.harness_version for e in group})
        nav.append(f'<a href="#{tid}-section">{_esc(dname)} {_esc(dversion)} · {_esc(split)}</a>')
        sections.append(
            f'<section id="{tid}-section" data-dataset="{_esc(dname)}" data-version="{_esc(dversion)}" data-split="{_esc(split)}">'
            f"<h2>{_heading(key)}</h2>"
            f'<p class="meta">{len(group)} entr{"y" if len(group) == 1 else "ies"} · '
            + (
                f"content hash <code>{_esc(hashes[0][:16])}…</code> · "
                if hashes[0]
                else "recomputed from the submitted episodes with sim.metrics · "
            )
            + f"harness {_esc(', '.join(harness))} · click a column to sort</p>"
            f'<div class="scroll">{_table_html(key, group, cols)}</div>'
            f"{_plots_html(key, group, cols)}</section>"
        )
        data["tables"].append(
            {
                "dataset": dname, "version": dversion, "split": split, "content_hash": hashes[0],
                "columns": [{"key": c.key, "task": c.task, "metric": c.metric, "metric_version": c.version,
                             "label": c.label, "higher_is_better": c.higher_is_better} for c in cols],
                "rows": [{"submission_id": e.submission_id, "model_name": e.model_name,
                          "harness_version": e.harness_version,
                          "values": {c.key: _value(e, c) for c in cols}} for e in _sorted_entries(group, _primary(cols))],
            }
        )  # fmt: skip
    for e in entries:
        d = tmp / "entries" / e.submission_id
        d.mkdir(parents=True)
        (d / "metadata.json").write_text(
            json.dumps(e.metadata, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        (d / "results.json").write_text(
            json.dumps(e.results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    built = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = "\n".join(sections) if sections else '<p class="lead">No submissions yet.</p>'
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<title>{_esc(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<header>
<h1>{_esc(title)}</h1>
<p class="lead">Motion2Motion (M2M): from a conversation to the physical action and motion skills it calls for.
Every number below was recomputed by the m2m-bench harness from the submitted predictions; self-reported
scores are never shown. Tables never mix dataset versions, and a column never mixes metric versions.</p>
<p class="meta">{len(entries)} submission{"" if len(entries) == 1 else "s"} · built {built} ·
<a href="leaderboard.json">leaderboard.json</a>{" · " + " · ".join(nav) if nav else ""}</p>
</header>
<main>
{body}
</main>
<footer>Submit with <code>m2m-bench submit PATH</code> (validate and preview scores), then
<code>m2m-bench leaderboard add PATH</code>; see <code>leaderboard/README.md</code> in the m2m-bench repository.</footer>
<script>{_JS}</script>
</body>
</html>
"""
    (tmp / "index.html").write_text(page, encoding="utf-8")
    (tmp / "leaderboard.json").write_text(
        json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8"
    )
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return out / "index.html"
