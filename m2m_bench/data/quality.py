"""Quality checks of an M2M version: the numbers a dataset card must prove.

Each check has one definition here, with its threshold in :data:`THRESHOLDS`
(``QUALITY_VERSION`` changes whenever a definition or threshold does):

- **schema**: share of records with no violation of M2M record v1; must be 1.
- **exact duplicates**: conversations equal after lower-casing and collapsing whitespace;
  ``exact_duplicate_conversations`` counts records beyond the first of each group; must be 0.
  ``repeated_action_share`` (records whose normalized action occurs more than once) is
  reported, not gated: one action can follow from many different conversations.
- **near duplicates**: cosine of MiniLM embeddings of conversations ``>= 0.95``;
  ``near_duplicate_share`` = records with at least one near duplicate elsewhere in the
  version / records (must be < 0.01), ``near_duplicate_train_test_pairs`` counts train-test
  pairs (must be 0).
- **latent intent**: per record, ``overlap = |L(action) & L(conversation)| / |L(action)|``
  with ``L`` the content lemmas of :func:`m2m_bench.metrics._text.content_lemmas` (the same
  definition KMR uses); the distribution is reported and its median must be < 0.4.
- **diversity**: distinct normalized skills (at least ``min_distinct_skills``, 1,500 from
  1.0.0 on), distinct action verbs (lemma of the first word after "a person" that is not an
  adverb), records and families per taxonomy domain, length distributions.
- **shared openings**: conversations whose first three words (lower-cased) equal another's;
  ``shared_opening_share`` must be < 0.02.
- **repeated long n-grams**: 8-word sequences (lower-cased words) found in more than one
  conversation; ``repeated_8gram_share`` = records containing one / records, must be < 0.02.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..schema import validate_records

QUALITY_VERSION = "1"
NEAR_DUP_COSINE = 0.95
NGRAM = 8
THRESHOLDS = {
    "schema_valid_share": ("==", 1.0),
    "exact_duplicate_conversations": ("==", 0),
    "near_duplicate_share": ("<", 0.01),
    "near_duplicate_train_test_pairs": ("==", 0),
    "latent_overlap_median": ("<", 0.4),
    "shared_opening_share": ("<", 0.02),
    "repeated_8gram_share": ("<", 0.02),
}

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
_WS = re.compile(r"\s+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _quantiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    a = np.asarray(values, dtype=float)
    qs = {"min": 0.0, "p10": 10, "p25": 25, "median": 50, "p75": 75, "p90": 90, "max": 100.0}
    return {k: round(float(np.percentile(a, q)), 4) for k, q in qs.items()} | {"mean": round(float(a.mean()), 4)}


def latent_overlap(action: str, conversation: str) -> float:
    """Share of the action's content lemmas that also occur in the conversation (0 if none)."""
    from ..metrics._text import content_lemmas

    act = content_lemmas(action)
    if not act:
        return 0.0
    return len(act & content_lemmas(conversation)) / len(act)


def action_verb(action: str) -> str | None:
    """Lemma of the first word after the subject "a person" that is not an ``-ly`` adverb."""
    from ..metrics._text import lemma

    words = _words(action)
    if words[:2] == ["a", "person"]:
        words = words[2:]
    for w in words:
        if not w.endswith("ly"):
            return lemma(w)
    return None


def near_duplicates(emb: np.ndarray, threshold: float = NEAR_DUP_COSINE, block: int = 1024) -> list[tuple[int, int, float]]:
    """All pairs ``i < j`` with ``emb[i] . emb[j] >= threshold`` (rows are unit vectors)."""
    pairs: list[tuple[int, int, float]] = []
    n = len(emb)
    for start in range(0, n, block):
        sims = emb[start : start + block] @ emb.T
        rows, cols = np.nonzero(sims >= threshold)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            i = start + r
            if i < c:
                pairs.append((i, c, round(float(sims[r, c]), 4)))
    return pairs


def _check(name: str, value: float) -> bool:
    op, bound = THRESHOLDS[name]
    return {"==": value == bound, "<": value < bound}[op]


def quality_report(
    splits: Mapping[str, list[dict]],
    meta: Mapping[str, Mapping[str, str]] | None = None,
    taxonomy: Mapping[str, Any] | None = None,
    encoder=None,
    min_distinct_skills: int = 0,
) -> dict[str, Any]:
    """Compute every check of the module docstring over ``splits`` (records as dicts).

    ``meta`` maps record id -> {"domain", "family"} (from the source files); ``taxonomy``
    is the parsed ``taxonomy.yaml`` for coverage; ``encoder`` defaults to MiniLM.
    """
    records = [(s, r) for s in splits for r in splits[s]]
    n = len(records)
    ids = [r["id"] for _, r in records]
    convs = [r["conversation"] for _, r in records]
    actions = [r["action"] for _, r in records]

    violations = validate_records([r for _, r in records], file="<version>")
    bad_ids = {v.record_id for v in violations}

    norm_conv = [_WS.sub(" ", c.strip().lower()) for c in convs]
    conv_counts = Counter(norm_conv)
    exact_dups = sum(c - 1 for c in conv_counts.values() if c > 1)
    norm_act = [_WS.sub(" ", a.strip().lower()) for a in actions]
    act_counts = Counter(norm_act)
    repeated_actions = sum(1 for a in norm_act if act_counts[a] > 1)

    if encoder is None:
        from ..encoders import get_encoder

        encoder = get_encoder()
    emb = encoder.encode(convs) if n else np.zeros((0, 1), dtype=np.float32)
    pairs = near_duplicates(emb)
    in_pair = {i for p in pairs for i in p[:2]}
    split_of = [s for s, _ in records]
    cross = [
        (ids[i], ids[j], sim)
        for i, j, sim in pairs
        if {split_of[i], split_of[j]} == {"train", "test"}
    ]

    overlaps = [latent_overlap(a, c) for a, c in zip(actions, convs, strict=True)]

    skills = Counter(s for _, r in records for s in r["skills"])
    verbs = Counter(v for v in map(action_verb, actions) if v)

    openings: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for rid, c in zip(ids, convs, strict=True):
        openings[tuple(_words(c)[:3])].append(rid)
    shared_open = {k: v for k, v in openings.items() if len(v) > 1}
    in_shared_open = sum(len(v) for v in shared_open.values())

    gram_owner: dict[tuple[str, ...], set[int]] = defaultdict(set)
    for i, c in enumerate(convs):
        w = _words(c)
        for k in range(len(w) - NGRAM + 1):
            gram_owner[tuple(w[k : k + NGRAM])].add(i)
    repeated_grams = {g: o for g, o in gram_owner.items() if len(o) > 1}
    in_repeated = {i for o in repeated_grams.values() for i in o}

    coverage: dict[str, Any] = {}
    if meta:
        per_domain: dict[str, Counter] = defaultdict(Counter)
        for rid in ids:
            m = meta.get(rid)
            if m:
                per_domain[m.get("domain", "?")][m.get("family", "?")] += 1
        tax_domains = (taxonomy or {}).get("domains", {})
        for d in sorted(set(per_domain) | set(tax_domains)):
            fams = per_domain.get(d, Counter())
            known = [f["slug"] for f in tax_domains.get(d, {}).get("families", [])]
            coverage[d] = {
                "records": sum(fams.values()),
                "families_used": len(fams),
                "taxonomy_families": len(known),
                "taxonomy_families_used": sum(1 for f in known if f in fams),
            }

    values = {
        "schema_valid_share": round(1 - len(bad_ids) / n, 6) if n else 0.0,
        "exact_duplicate_conversations": exact_dups,
        "near_duplicate_share": round(len(in_pair) / n, 6) if n else 0.0,
        "near_duplicate_train_test_pairs": len(cross),
        "latent_overlap_median": round(float(np.median(overlaps)), 4) if overlaps else 0.0,
        "shared_opening_share": round(in_shared_open / n, 6) if n else 0.0,
        "repeated_8gram_share": round(len(in_repeated) / n, 6) if n else 0.0,
    }
    checks = {k: {"value": v, "rule": f"{THRESHOLDS[k][0]} {THRESHOLDS[k][1]}", "pass": _check(k, v)} for k, v in values.items()}
    checks["distinct_skills"] = {
        "value": len(skills),
        "rule": f">= {min_distinct_skills}",
        "pass": len(skills) >= min_distinct_skills,
    }
    return {
        "quality_version": QUALITY_VERSION,
        "encoder": getattr(encoder, "name", str(encoder)),
        "records": n,
        "splits": {s: len(v) for s, v in splits.items()},
        "checks": checks,
        "passed": all(c["pass"] for c in checks.values()),
        "schema_violations": [str(v) for v in violations[:100]],
        "repeated_action_share": round(repeated_actions / n, 6) if n else 0.0,
        "near_duplicate_pairs": [
            {"a": ids[i], "b": ids[j], "cosine": s} for i, j, s in pairs[:200]
        ],
        "near_duplicate_train_test": [{"train_or_test": a, "other": b, "cosine": s} for a, b, s in cross[:200]],
        "latent_overlap": _quantiles(overlaps) | {
            "histogram": np.histogram(overlaps, bins=10, range=(0, 1))[0].tolist() if overlaps else []
        },
        "distinct_skills": len(skills),
        "top_skills": skills.most_common(30),
        "distinct_action_verbs": len(verbs),
        "top_action_verbs": verbs.most_common(30),
        "lengths": {
            "conversation_words": _quantiles([len(_words(c)) for c in convs]),
            "action_words": _quantiles([len(_words(a)) for a in actions]),
            "skills_per_record": _quantiles([len(r["skills"]) for _, r in records]),
        },
        "shared_openings": sorted(([" ".join(k), v] for k, v in shared_open.items()), key=lambda kv: -len(kv[1]))[:50],
        "repeated_8grams": sorted(([" ".join(g), sorted(ids[i] for i in o)] for g, o in repeated_grams.items()), key=lambda kv: -len(kv[1]))[:50],
        "coverage": coverage,
    }


def top_words(splits: Mapping[str, list[dict]], k: int = 50) -> list[tuple[str, int]]:
    """The ``k`` most frequent content words (lemmas) over conversations and actions."""
    from ..metrics._text import STOPWORDS, lemma

    counts: Counter = Counter()
    for recs in splits.values():
        for r in recs:
            for w in _words(r["conversation"] + " " + r["action"]):
                if w not in STOPWORDS and not w.isdigit() and len(w) > 2:
                    lw = lemma(w)
                    if lw not in STOPWORDS:
                        counts[lw] += 1
    return counts.most_common(k)


def render_figures(splits: Mapping[str, list[dict]], out_dir) -> dict[str, str]:
    """Write the card's figures: a word cloud of skills and a bar chart of the top 50 words."""
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from wordcloud import WordCloud

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    skills = Counter(s for recs in splits.values() for r in recs for s in r["skills"])
    cloud = WordCloud(width=1200, height=600, background_color="white", random_state=0, collocations=False)
    cloud.generate_from_frequencies(dict(skills))
    cloud.to_file(str(out / "skills_wordcloud.png"))

    words = top_words(splits, 50)
    fig, ax = plt.subplots(figsize=(12, 4.5), dpi=100)
    ax.bar([w for w, _ in words], [c for _, c in words], color="#4a7fb5")
    ax.set_ylabel("occurrences")
    ax.set_title("50 most frequent content words (conversations and actions)")
    ax.tick_params(axis="x", rotation=75, labelsize=8)
    fig.tight_layout()
    fig.savefig(out / "top50_words.png", metadata={"Software": None})
    plt.close(fig)
    return {"skills_wordcloud": "skills_wordcloud.png", "top50_words": "top50_words.png"}


def quality_markdown(report: dict[str, Any], figures_dir: str = "quality") -> str:
    """The quality section of a dataset card, rendered from :func:`quality_report`."""

    def q(d: dict[str, float]) -> str:
        return " / ".join(f"{d.get(k, 0):g}" for k in ("min", "p25", "median", "p75", "max"))

    checks = "\n".join(
        f"| `{k}` | {v['value']} | {v['rule']} | {'pass' if v['pass'] else 'FAIL'} |" for k, v in report["checks"].items()
    )
    lat, lengths = report["latent_overlap"], report["lengths"]
    verbs = ", ".join(f"{v} ({n})" for v, n in report["top_action_verbs"][:15])
    skills = ", ".join(f"{s} ({n})" for s, n in report["top_skills"][:15])
    parts = [
        f"## Quality report (quality v{report['quality_version']}, `{figures_dir}/report.json`)",
        "Computed by `m2m-bench data quality` (definitions in `m2m_bench/data/quality.py`).",
        "| check | value | rule | status |\n|---|---|---|---|\n" + checks,
        "\n".join(
            [
                f"- Records: {report['records']} ({', '.join(f'{s} {n}' for s, n in report['splits'].items())}).",
                f"- Repeated actions (one action text for several conversations): {report['repeated_action_share']:.2%} of records.",
                "- Latent intent, share of the action's content lemmas found in the conversation "
                f"(min / p25 / median / p75 / max): {q(lat)}; histogram over [0, 1] in tenths: {lat.get('histogram')}.",
                f"- Distinct skills: {report['distinct_skills']}; distinct action verbs: {report['distinct_action_verbs']}.",
                f"- Most frequent action verbs: {verbs}.",
                f"- Most frequent skills: {skills}.",
                f"- Lengths (min / p25 / median / p75 / max): conversation words {q(lengths['conversation_words'])}; "
                f"action words {q(lengths['action_words'])}; skills per record {q(lengths['skills_per_record'])}.",
            ]
        ),
    ]
    if report.get("coverage"):
        rows = "\n".join(
            f"| {d} | {v['records']} | {v['families_used']} | {v['taxonomy_families_used']} / {v['taxonomy_families']} |"
            for d, v in sorted(report["coverage"].items())
        )
        parts.append("Coverage of the scenario taxonomy:\n\n| domain | records | families used | taxonomy families used |\n|---|---|---|---|\n" + rows)
    parts.append(f"![Word cloud of skills]({figures_dir}/skills_wordcloud.png)\n\n![The 50 most frequent content words]({figures_dir}/top50_words.png)")
    return "\n\n".join(parts)
