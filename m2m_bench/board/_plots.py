"""The board's plots, drawn with matplotlib into inline SVG (no pyplot, no files, no server).

* :func:`bar_chart`: one metric, one bar per entry, best on top;
* :func:`scatter`: two metrics against each other, one labelled point per entry (SS against
  skill Jaccard on the board);
* :func:`paired_bars`: entries grouped by a label (GRPO with a KL vs a JS divergence) over
  several metrics.

Every function returns an ``<svg>`` element as text, without the XML prolog, ready to paste
into HTML. Output is deterministic (fixed hash salt, no date), so rebuilding an unchanged
board gives identical files.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import matplotlib

PALETTE = ("#3b6fb6", "#d9822b", "#3f9c5a", "#b9464b", "#7c5cb3", "#8c6d46", "#c2649f", "#6f7b87")
_PROLOG = re.compile(r"^.*?(?=<svg)", re.S)


def _svg(fig, salt: str, title: str) -> str:
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": salt, "svg.fonttype": "none"}):
        fig.savefig(
            buf, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight"
        )
    svg = _PROLOG.sub("", buf.getvalue(), count=1)
    # Accessible name, and a size that follows the page width.
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{_attr(title)}" class="plot" ', 1)
    return svg


def _attr(s: str) -> str:
    return s.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=96)
    fig.patch.set_alpha(0)
    return fig


def _short(label: str, n: int = 34) -> str:
    return label if len(label) <= n else label[: n - 1] + "…"


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    higher_is_better: bool = True,
    salt: str = "bar",
) -> str:
    """Horizontal bars of one metric, best entry on top."""
    pairs = sorted(zip(labels, values, strict=True), key=lambda p: p[1], reverse=higher_is_better)
    fig = _figure(4.6, 0.5 + 0.32 * max(1, len(pairs)))
    ax = fig.add_subplot()
    names = [_short(p[0]) for p in pairs][::-1]
    vals = [p[1] for p in pairs][::-1]
    ax.barh(
        range(len(vals)), vals, color=[PALETTE[i % len(PALETTE)] for i in range(len(vals))][::-1]
    )
    ax.set_yticks(range(len(vals)), names, fontsize=8)
    ax.set_title(title + ("" if higher_is_better else " (lower is better)"), fontsize=9, loc="left")
    for i, v in enumerate(vals):
        ax.annotate(
            f"{v:.3g}", (v, i), xytext=(3, 0), textcoords="offset points", va="center", fontsize=7
        )
    lo = min(0.0, min(vals, default=0.0))
    hi = max(vals, default=1.0)
    ax.set_xlim(lo, hi * 1.18 if hi > 0 else 1.0)
    ax.tick_params(axis="x", labelsize=7)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return _svg(fig, salt, title)


def scatter(
    labels: Sequence[str],
    xs: Sequence[float],
    ys: Sequence[float],
    *,
    xlabel: str,
    ylabel: str,
    title: str,
    salt: str = "scatter",
) -> str:
    """One labelled point per entry."""
    fig = _figure(4.8, 3.6)
    ax = fig.add_subplot()
    for i, (lab, x, y) in enumerate(zip(labels, xs, ys, strict=True)):
        ax.scatter([x], [y], s=36, color=PALETTE[i % len(PALETTE)], zorder=3)
        ax.annotate(_short(lab, 28), (x, y), xytext=(4, 4), textcoords="offset points", fontsize=7)
    for axis, vals in ((ax.set_xlim, xs), (ax.set_ylim, ys)):
        lo, hi = min(0.0, min(vals, default=0.0)), max(vals, default=1.0)
        hi = hi if hi > lo else lo + 1.0
        pad = 0.06 * (hi - lo)
        axis(lo - pad, hi + pad)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.set_title(title, fontsize=9, loc="left")
    ax.tick_params(labelsize=7)
    ax.grid(True, alpha=0.3, zorder=0)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return _svg(fig, salt, title)


def paired_bars(
    groups: dict[str, dict[str, float]],
    metrics: Sequence[tuple[str, str]],
    *,
    title: str,
    salt: str = "paired",
) -> str:
    """Grouped bars: for each metric ``(key, label)``, one bar per group (e.g. ``{"GRPO (KL)": {...}}``)."""
    import numpy as np

    names = list(groups)
    fig = _figure(min(9.0, 1.2 + 0.75 * len(metrics) * max(1, len(names)) * 0.6), 3.0)
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(names))
    x = np.arange(len(metrics))
    for i, g in enumerate(names):
        vals = [groups[g].get(k, float("nan")) for k, _ in metrics]
        ax.bar(
            x + (i - (len(names) - 1) / 2) * width,
            vals,
            width,
            label=_short(g, 30),
            color=PALETTE[i % len(PALETTE)],
        )
    ax.set_xticks(x, [lab for _, lab in metrics], fontsize=7, rotation=30, ha="right")
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title(title, fontsize=9, loc="left")
    ax.legend(fontsize=7, frameon=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return _svg(fig, salt, title)
