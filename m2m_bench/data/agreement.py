"""Skill-set agreement between two annotations of the same records.

A dataset card reports how far two independent annotators agree on the skills of a record
(the authored skills against a second annotator's, or against the skills the ERA-CoT
summarization stage wrote blind). Per record, with ``A`` and ``B`` the two normalized skill
sets and ``M`` the number of matched pairs (one-to-one):

* exact Jaccard ``= |A ∩ B| / |A ∪ B|`` (``M`` = equal strings);
* soft Jaccard ``= M / (|A| + |B| - M)``, ``M`` the maximum matching of pairs whose MiniLM
  cosine is at least :data:`m2m_bench.metrics.skills.SOFT_THRESHOLD` (0.8).

These are the harness's ``skills.jaccard`` and ``skills.jaccard_soft`` (same formulas, same
matching code, :mod:`m2m_bench.metrics.skills`), applied to two annotations instead of a
prediction and a reference; the report gives their mean and quantiles over the records both
annotations cover.

Second-annotation files are JSON Lines, one object per record:
``{"id": "...", "skills": ["...", ...], "action": "a person ..." (optional), "annotator": "..."}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import M2MError
from ..schema import normalize_skills

AGREEMENT_VERSION = "1"
#: Largest annotation file read.
MAX_BYTES = 50_000_000


def read_annotations(path: str | Path) -> dict[str, dict[str, Any]]:
    """``{id: {"skills": [...], "action": str | None, "annotator": str}}`` from a JSON Lines
    file; a bad line is an error naming the file, line and field."""
    from ..construct.files import jsonl_objects

    path = Path(path)
    if path.is_file() and path.stat().st_size > MAX_BYTES:
        raise M2MError(f"{path}: larger than {MAX_BYTES} bytes")
    out: dict[str, dict[str, Any]] = {}
    for n, obj in jsonl_objects(path):
        where = f"{path}:{n}"
        rid = obj.get("id")
        if not isinstance(rid, str) or not rid:
            raise M2MError(f"{where}: field 'id' must be a non-empty string")
        if rid in out:
            raise M2MError(f"{where}: record {rid!r}: annotated twice")
        raw = obj.get("skills")
        if not isinstance(raw, list) or not raw or not all(isinstance(s, str) for s in raw):
            raise M2MError(
                f"{where}: record {rid!r}: field 'skills' must be a non-empty list of strings"
            )
        skills = normalize_skills(raw)
        if not skills:
            raise M2MError(
                f"{where}: record {rid!r}: field 'skills' has no skill after normalization"
            )
        action = obj.get("action")
        if action is not None and not isinstance(action, str):
            raise M2MError(f"{where}: record {rid!r}: field 'action' must be a string")
        out[rid] = {"skills": skills, "action": action, "annotator": str(obj.get("annotator", ""))}
    return out


def _quantiles(values: Sequence[float]) -> dict[str, float]:
    a = np.asarray(values, dtype=float)
    if not len(a):
        return {}
    return {
        "mean": round(float(a.mean()), 4),
        "p25": round(float(np.percentile(a, 25)), 4),
        "median": round(float(np.median(a)), 4),
        "p75": round(float(np.percentile(a, 75)), 4),
    }


def skill_agreement(
    pairs: Sequence[tuple[Sequence[str], Sequence[str]]], encoder: Any = None
) -> dict[str, Any]:
    """Exact and soft skill-set Jaccard over ``(A, B)`` pairs (formulas in the module docstring)."""
    from ..metrics.skills import SOFT_THRESHOLD, _prf, max_matching

    pairs = [(normalize_skills(a), normalize_skills(b)) for a, b in pairs]
    if not pairs:
        return {"version": AGREEMENT_VERSION, "records": 0}
    if encoder is None:
        from ..encoders import get_encoder

        encoder = get_encoder()
    vocab = sorted({s for a, b in pairs for s in (*a, *b)})
    index = {s: i for i, s in enumerate(vocab)}
    emb = encoder.encode(vocab)
    exact, soft, same = [], [], 0
    for a, b in pairs:
        m_exact = len(set(a) & set(b))
        exact.append(_prf(m_exact, len(a), len(b))[2])
        sims = emb[[index[s] for s in a]] @ emb[[index[s] for s in b]].T
        soft.append(_prf(max_matching(sims >= SOFT_THRESHOLD), len(a), len(b))[2])
        same += set(a) == set(b)
    return {
        "version": AGREEMENT_VERSION,
        "records": len(pairs),
        "soft_threshold": SOFT_THRESHOLD,
        "jaccard_exact": _quantiles(exact),
        "jaccard_soft": _quantiles(soft),
        "identical_sets_share": round(same / len(pairs), 4),
    }


def compare(
    first: Mapping[str, Sequence[str]], second: Mapping[str, Sequence[str]], encoder: Any = None
) -> dict[str, Any]:
    """:func:`skill_agreement` over the ids both ``{id: skills}`` maps hold."""
    common = sorted(set(first) & set(second))
    return skill_agreement([(first[i], second[i]) for i in common], encoder=encoder)


def agreement_markdown(results: Mapping[str, Mapping[str, Any]]) -> str:
    """The card's agreement table: one row per ``name -> skill_agreement(...)`` result."""
    if not results:
        return ""
    lines = [
        "### Skill annotation agreement",
        "",
        "Skill-set Jaccard between two annotations of the same records (exact strings; soft: "
        "one-to-one matches at MiniLM cosine >= 0.8, the harness's `skills.jaccard_soft`).",
        "",
        "| annotations compared | records | Jaccard exact (mean / median) | Jaccard soft (mean / median) | identical sets |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        if not r.get("records"):
            continue
        e, s = r["jaccard_exact"], r["jaccard_soft"]
        lines.append(
            f"| {name} | {r['records']} | {e['mean']:.3f} / {e['median']:.3f} | {s['mean']:.3f} / {s['median']:.3f} "
            f"| {r['identical_sets_share']:.1%} |"
        )
    return "\n".join(lines) + "\n"


def agreement_results(
    released: Mapping[str, Sequence[str]],
    summaries: Mapping[str, Sequence[str]],
    second: Mapping[str, Mapping[str, Sequence[str]]],
    encoder: Any = None,
) -> dict[str, Any]:
    """The card's comparisons: released skills against the blind ERA-CoT summaries and against
    each second annotation (``{file name: {id: skills}}``), and each second annotation against
    the summaries."""
    results: dict[str, Any] = {}
    if summaries:
        results["authored vs ERA-CoT summarization (blind)"] = compare(released, summaries, encoder)
    for name, skills in second.items():
        results[f"authored vs second annotation ({name})"] = compare(released, skills, encoder)
        if summaries:
            results[f"second annotation ({name}) vs ERA-CoT summarization"] = compare(skills, summaries, encoder)
    return results


def version_agreement(folder: str | Path, splits: Mapping[str, list[dict]], encoder: Any = None) -> dict[str, Any]:
    """:func:`agreement_results` of a version folder: its released skills, the blind summaries
    (``construct/summaries.jsonl``) and the second annotations (``annotations/*.jsonl``)."""
    folder = Path(folder)
    released = {r["id"]: r["skills"] for recs in splits.values() for r in recs}
    summ_path = folder / "construct" / "summaries.jsonl"
    summ = {i: a["skills"] for i, a in read_annotations(summ_path).items()} if summ_path.is_file() else {}
    second = {
        f.name: {i: a["skills"] for i, a in read_annotations(f).items()}
        for f in sorted((folder / "annotations").glob("*.jsonl"))
    }
    return agreement_results(released, summ, second, encoder)
