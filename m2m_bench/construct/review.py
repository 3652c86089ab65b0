"""The human-in-the-loop round trip (Motion-R1 §3.1.2): export records, import corrections.

``--review-export FILE`` writes one row per record that would be released, as JSON Lines
(``.jsonl``) or CSV (``.csv``), for a person or any annotation tool to edit:

===============  ===========================================================================
``id``           the record (read-only)
``conversation`` the dialogue (read-only)
``action``       editable: one sentence
``skills``       editable: a list (CSV: ``|``-separated); normalized on import
``entities``     editable: ``[{text, type, votes}]`` (CSV: JSON text)
``explicit``     editable: ``[{head, relation, tail, votes}]`` (CSV: JSON text)
``implicit``     editable: ``[{head, relation, tail, score}]`` (CSV: JSON text), scores >= threshold
``threshold``    the discrimination threshold (read-only)
``drop``         ``true`` removes the record from the version
``note``         free text, kept in the diff
``base``         fingerprint of the record as exported (do not edit)
===============  ===========================================================================

``--review-import FILE`` applies the rows to the same build: rows may be left out or left
unchanged; a row whose ``base`` no longer matches (the build changed since the export) or
whose edit makes an invalid record is an error naming the file, line and field. Every change
is recorded as ``{id, field, before, after, note}`` in ``construct/review_diff.jsonl`` of the
version, with the applied rows in ``construct/review.jsonl`` so a rebuild re-applies them
(:func:`m2m_bench.construct.output.finalize`).
"""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import M2MError
from ..schema import normalize_skills, validate_record
from .cache import canonical
from .files import jsonl_objects

EDITABLE = ("action", "skills", "entities", "explicit", "implicit")
COLUMNS = ("id", "conversation", "action", "skills", "entities", "explicit", "implicit", "threshold", "drop", "note", "base")
#: Largest review file read (bytes).
MAX_REVIEW_BYTES = 256 * 1024 * 1024


def fingerprint(record: Mapping[str, Any]) -> str:
    """``sha256(canonical_json({action, skills, era_cot}))[:16]`` of a record."""
    payload = {k: record.get(k) for k in ("action", "skills", "era_cot")}
    return hashlib.sha256(canonical(payload).encode()).hexdigest()[:16]


def review_row(record: Mapping[str, Any]) -> dict[str, Any]:
    era = record.get("era_cot") or {}
    return {
        "id": record["id"],
        "conversation": record["conversation"],
        "action": record["action"],
        "skills": list(record["skills"]),
        "entities": era.get("entities"),
        "explicit": era.get("explicit"),
        "implicit": era.get("implicit"),
        "threshold": era.get("threshold"),
        "drop": False,
        "note": "",
        "base": fingerprint(record),
    }


def export_review(splits: Mapping[str, list[dict]], path: str | Path) -> int:
    """Write the review file (format by suffix: ``.csv`` or JSON Lines); returns the row count."""
    path = Path(path)
    rows = [review_row(r) for s in sorted(splits) for r in splits[s]]
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".csv":
        with open(path, "w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, fieldnames=COLUMNS)
            w.writeheader()
            for row in rows:
                w.writerow(_to_csv(row))
    else:
        with open(path, "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return len(rows)


def _to_csv(row: Mapping[str, Any]) -> dict[str, str]:
    out = dict(row)
    out["skills"] = " | ".join(row["skills"])
    for k in ("entities", "explicit", "implicit"):
        out[k] = "" if row[k] is None else json.dumps(row[k], ensure_ascii=False)
    out["threshold"] = "" if row["threshold"] is None else str(row["threshold"])
    out["drop"] = "true" if row["drop"] else "false"
    return out


def _from_csv(row: Mapping[str, str], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {"id": row.get("id"), "note": row.get("note") or "", "base": row.get("base")}
    if row.get("action") is not None:
        out["action"] = row["action"]
    if row.get("skills") is not None:
        out["skills"] = [s for s in (p.strip() for p in row["skills"].split("|")) if s]
    for k in ("entities", "explicit", "implicit"):
        text = row.get(k)
        if text is None:
            continue
        try:
            out[k] = json.loads(text) if text.strip() else None
        except json.JSONDecodeError as e:
            raise M2MError(f"{where}: field '{k}': not valid JSON ({e})") from None
    out["drop"] = (row.get("drop") or "").strip().lower() in ("true", "1", "yes", "x")
    threshold = (row.get("threshold") or "").strip()
    try:
        out["threshold"] = float(threshold) if threshold else None
    except ValueError:
        raise M2MError(f"{where}: field 'threshold': not a number") from None
    return out


def load_review(path: str | Path) -> list[tuple[str, dict[str, Any]]]:
    """``[(where, row)]`` of a review file (``where`` = ``file: line N``)."""
    path = Path(path)
    if not path.is_file():
        raise M2MError(f"{path}: no such review file")
    if path.stat().st_size > MAX_REVIEW_BYTES:
        raise M2MError(f"{path}: larger than {MAX_REVIEW_BYTES} bytes")
    rows: list[tuple[str, dict[str, Any]]] = []
    if path.suffix.lower() == ".csv":
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as e:
            raise M2MError(f"{path}: not UTF-8 text ({e})") from None
        csv.field_size_limit(16 * 1024 * 1024)
        reader = csv.DictReader(io.StringIO(text))
        missing = [c for c in ("id", "base") if c not in (reader.fieldnames or [])]
        if missing:
            raise M2MError(f"{path}: CSV header lacks column(s) {missing}")
        for row in reader:
            where = f"{path}: line {reader.line_num}"
            rows.append((where, _from_csv(row, where)))
    else:
        rows = [(f"{path}: line {n}", obj) for n, obj in jsonl_objects(path)]
    return rows


def apply_review(
    splits: Mapping[str, list[dict]], rows: list[tuple[str, dict[str, Any]]]
) -> tuple[dict[str, list[dict]], list[dict[str, Any]], dict[str, Any]]:
    """Apply review rows; returns ``(new splits, diff, summary)`` (errors name file/line/field)."""
    where_of: dict[str, tuple[str, int]] = {}
    out = {s: [copy.deepcopy(r) for r in recs] for s, recs in splits.items()}
    for s, recs in out.items():
        for i, r in enumerate(recs):
            where_of[r["id"]] = (s, i)
    diff: list[dict[str, Any]] = []
    dropped: set[str] = set()
    seen: set[str] = set()
    for where, row in rows:
        rid = row.get("id")
        if not isinstance(rid, str) or rid not in where_of:
            raise M2MError(f"{where}: field 'id': {rid!r} is not a record of this build")
        if rid in seen:
            raise M2MError(f"{where}: field 'id': record {rid!r} is reviewed twice")
        seen.add(rid)
        s, i = where_of[rid]
        rec = out[s][i]
        if row.get("base") != fingerprint(rec):
            raise M2MError(
                f"{where}: field 'base': record {rid!r} changed since this review file was exported; "
                "export it again and carry the corrections over"
            )
        note = str(row.get("note") or "")
        if row.get("drop") is True:
            dropped.add(rid)
            diff.append({"id": rid, "field": "record", "before": "kept", "after": "dropped", "note": note})
            continue
        new = copy.deepcopy(rec)
        if "action" in row:
            new["action"] = " ".join(str(row["action"]).split())
        if "skills" in row:
            if not isinstance(row["skills"], list) or not all(isinstance(x, str) for x in row["skills"]):
                raise M2MError(f"{where}: field 'skills': must be a list of strings")
            new["skills"] = normalize_skills(row["skills"])
        era_edit = {k: row[k] for k in ("entities", "explicit", "implicit") if k in row}
        if len(era_edit) == 3 and all(v is None for v in era_edit.values()):
            new["era_cot"] = None  # null entities, explicit and implicit: no annotations
        elif era_edit:
            era = copy.deepcopy(rec.get("era_cot"))
            if era is None:
                threshold = row.get("threshold")
                if threshold is None:
                    raise M2MError(f"{where}: field 'threshold': needed to add ERA-CoT annotations to {rid!r}")
                era = {"entities": [], "explicit": [], "implicit": [], "threshold": threshold}
            for k, v in era_edit.items():
                era[k] = [] if v is None else v
            new["era_cot"] = era
        problems = validate_record(new, file=where)
        if problems:
            raise M2MError(f"{problems[0]} (after applying the review)")
        for field in ("action", "skills", "era_cot"):
            if new.get(field) != rec.get(field):
                diff.append({"id": rid, "field": field, "before": rec.get(field), "after": new.get(field), "note": note})
        out[s][i] = new
    final = {s: [r for r in recs if r["id"] not in dropped] for s, recs in out.items()}
    changed = Counter(d["field"] for d in diff if d["field"] != "record")
    summary = {
        "rows": len(rows),
        "changed_records": len({d["id"] for d in diff if d["field"] != "record"}),
        "changed_fields": dict(sorted(changed.items())),
        "dropped": len(dropped),
    }
    return {s: r for s, r in final.items() if r}, diff, summary
