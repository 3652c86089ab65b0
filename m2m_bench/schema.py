"""The M2M record, defined once: pyarrow schema, normalization and validator.

Every reader and writer of M2M data (the loaders, the version writer, the ERA-CoT pipeline,
the leaderboard) goes through this module. A change to any definition here is a new
``SCHEMA_VERSION``.

M2M record v1
-------------
``id``            string, unique across all splits of a dataset version.
``conversation``  non-empty text: the dialogue or scene the action is inferred from.
``action``        one sentence: the physical action a person would take.
``skills``        non-empty list of motion skills, each a short verb phrase normalized by
                  :func:`normalize_skill` (lower-case, trimmed, single spaces), no duplicates.
``source``        provenance of the conversation: ``{corpus, source_id, license}``.
``era_cot``       optional ERA-CoT annotations (Motion-R1 §3.1.3):
                  ``entities``  [{text, type, votes}]    kept by self-consistency vote,
                  ``explicit``  [{head, relation, tail, votes}]  stated relations,
                  ``implicit``  [{head, relation, tail, score}]  inferred relations kept
                                because ``score >= threshold`` (the paper's eq. 2),
                  ``threshold`` the discrimination threshold v_th in [0, 1].
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

SCHEMA_VERSION = "1"

#: Longest skill phrase accepted, in words; skills are short verb phrases.
MAX_SKILL_WORDS = 8
#: Longest skill phrase accepted, in characters.
MAX_SKILL_CHARS = 80

_ENTITY = pa.struct([("text", pa.string()), ("type", pa.string()), ("votes", pa.int32())])
_EXPLICIT = pa.struct(
    [("head", pa.string()), ("relation", pa.string()), ("tail", pa.string()), ("votes", pa.int32())]
)
_IMPLICIT = pa.struct(
    [("head", pa.string()), ("relation", pa.string()), ("tail", pa.string()), ("score", pa.float64())]
)
ERA_COT_TYPE = pa.struct(
    [
        ("entities", pa.list_(_ENTITY)),
        ("explicit", pa.list_(_EXPLICIT)),
        ("implicit", pa.list_(_IMPLICIT)),
        ("threshold", pa.float64()),
    ]
)
SOURCE_TYPE = pa.struct(
    [("corpus", pa.string()), ("source_id", pa.string()), ("license", pa.string())]
)

#: The M2M record v1 as a pyarrow schema (the column order of every parquet file we write).
M2M_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("conversation", pa.string(), nullable=False),
        pa.field("action", pa.string(), nullable=False),
        pa.field("skills", pa.list_(pa.string()), nullable=False),
        pa.field("source", SOURCE_TYPE, nullable=False),
        pa.field("era_cot", ERA_COT_TYPE, nullable=True),
    ],
    metadata={"m2m_schema_version": SCHEMA_VERSION},
)

REQUIRED_FIELDS = ("id", "conversation", "action", "skills", "source")
OPTIONAL_FIELDS = ("era_cot",)

_WS = re.compile(r"\s+")
# A sentence boundary inside the text: terminal punctuation, space, then a capital or digit.
_INNER_BOUNDARY = re.compile(r"[.!?][\"')\]]?\s+[A-Z0-9]")


def normalize_skill(skill: str) -> str:
    """Normalize a skill phrase: ``lower(collapse_whitespace(strip(s)))`` minus trailing ``.,;:!?``.

    ``normalize_skill("  Kick  the Door. ") == "kick the door"``.
    """
    s = _WS.sub(" ", skill.strip()).lower()
    return s.rstrip(".,;:!? ").strip()


def normalize_skills(skills: Iterable[str]) -> list[str]:
    """Normalize every skill and drop empty ones and later duplicates, keeping first-seen order."""
    out: list[str] = []
    seen: set[str] = set()
    for s in skills:
        n = normalize_skill(s)
        if n and n not in seen:
            seen.add(n)
            out.append(n)
    return out


@dataclass(frozen=True)
class Violation:
    """One problem with one field of one record (``record_id`` is ``None`` for file-level ones)."""

    file: str
    record_id: str | None
    field: str
    message: str

    def __str__(self) -> str:
        rec = f"record {self.record_id!r}" if self.record_id is not None else "file"
        return f"{self.file}: {rec}: field {self.field!r}: {self.message}"


class ValidationError(ValueError):
    """Raised by writers when records violate the schema; carries every violation."""

    def __init__(self, violations: list[Violation]):
        self.violations = violations
        head = "\n".join(f"  {v}" for v in violations[:50])
        more = f"\n  ... and {len(violations) - 50} more" if len(violations) > 50 else ""
        super().__init__(f"{len(violations)} schema violation(s):\n{head}{more}")


def _is_text(x: Any) -> bool:
    return isinstance(x, str) and x.strip() != ""


def _check_str_fields(
    obj: Any, keys: tuple[str, ...], where: str, add
) -> None:
    if not isinstance(obj, Mapping):
        add(where, f"must be an object with keys {list(keys)}, got {type(obj).__name__}")
        return
    for k in keys:
        if k not in obj or obj[k] is None:
            add(f"{where}.{k}", "is missing")
        elif not _is_text(obj[k]):
            add(f"{where}.{k}", f"must be a non-empty string, got {obj[k]!r:.60}")


def _check_count(value: Any, where: str, add) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        add(where, f"must be a non-negative integer, got {value!r}")


def _check_unit(value: Any, where: str, add) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        add(where, f"must be a finite number, got {value!r}")
        return False
    if not 0.0 <= float(value) <= 1.0:
        add(where, f"must lie in [0, 1], got {value!r}")
        return False
    return True


def _check_era_cot(era: Any, add) -> None:
    if not isinstance(era, Mapping):
        add("era_cot", f"must be an object or null, got {type(era).__name__}")
        return
    for key in ("entities", "explicit", "implicit", "threshold"):
        if key not in era or era[key] is None:
            add(f"era_cot.{key}", "is missing")
    threshold_ok = "threshold" in era and era["threshold"] is not None and _check_unit(
        era["threshold"], "era_cot.threshold", add
    )
    lists = {
        "entities": (("text", "type"), "votes"),
        "explicit": (("head", "relation", "tail"), "votes"),
        "implicit": (("head", "relation", "tail"), "score"),
    }
    for key, (text_keys, num_key) in lists.items():
        items = era.get(key)
        if items is None:
            continue
        if not isinstance(items, list):
            add(f"era_cot.{key}", f"must be a list, got {type(items).__name__}")
            continue
        for i, item in enumerate(items):
            where = f"era_cot.{key}[{i}]"
            _check_str_fields(item, text_keys, where, add)
            if not isinstance(item, Mapping):
                continue
            if num_key == "votes":
                _check_count(item.get("votes"), f"{where}.votes", add)
            elif _check_unit(item.get("score"), f"{where}.score", add) and threshold_ok:
                if float(item["score"]) < float(era["threshold"]):
                    add(
                        f"{where}.score",
                        f"{item['score']} is below the threshold {era['threshold']}: "
                        "discrimination keeps only score >= threshold",
                    )


def validate_record(record: Any, file: str = "<records>", index: int | None = None) -> list[Violation]:
    """Every violation of M2M record v1 in one record (empty list when valid)."""
    out: list[Violation] = []
    rid = None
    if isinstance(record, Mapping) and isinstance(record.get("id"), str):
        rid = record["id"]
    label = rid if rid is not None else (f"#{index}" if index is not None else None)

    def add(field: str, message: str) -> None:
        out.append(Violation(file, label, field, message))

    if not isinstance(record, Mapping):
        add("<record>", f"must be an object, got {type(record).__name__}")
        return out
    for key in REQUIRED_FIELDS:
        if key not in record or record[key] is None:
            add(key, "is missing")
    unknown = sorted(set(record) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS))
    for key in unknown:
        add(key, "is not a field of M2M record v1")

    if "id" in record and record["id"] is not None and not _is_text(record["id"]):
        add("id", f"must be a non-empty string, got {record['id']!r:.60}")
    for key in ("conversation", "action"):
        v = record.get(key)
        if v is not None and not _is_text(v):
            add(key, f"must be a non-empty string, got {v!r:.60}")
    action = record.get("action")
    if _is_text(action):
        a = action.strip()
        if "\n" in a or "\r" in a:
            add("action", "must be one sentence on one line")
        elif _INNER_BOUNDARY.search(a):
            add("action", f"must be one sentence, found a sentence boundary in {a!r:.80}")

    skills = record.get("skills")
    if skills is not None:
        if not isinstance(skills, list):
            add("skills", f"must be a list of strings, got {type(skills).__name__}")
        elif not skills:
            add("skills", "must not be empty")
        else:
            seen: set[str] = set()
            for i, s in enumerate(skills):
                where = f"skills[{i}]"
                if not _is_text(s):
                    add(where, f"must be a non-empty string, got {s!r:.60}")
                    continue
                if s != normalize_skill(s):
                    add(where, f"{s!r} is not normalized (expected {normalize_skill(s)!r})")
                if len(s.split()) > MAX_SKILL_WORDS or len(s) > MAX_SKILL_CHARS:
                    add(where, f"{s!r:.60} is longer than {MAX_SKILL_WORDS} words / {MAX_SKILL_CHARS} chars")
                if s in seen:
                    add(where, f"duplicate skill {s!r}")
                seen.add(s)

    if record.get("source") is not None:
        _check_str_fields(record["source"], ("corpus", "source_id", "license"), "source", add)
    if record.get("era_cot") is not None:
        _check_era_cot(record["era_cot"], add)
    return out


def validate_records(
    records: Iterable[Any], file: str = "<records>", seen_ids: dict[str, str] | None = None
) -> list[Violation]:
    """Validate records and the uniqueness of their ids; report every violation.

    ``seen_ids`` maps ids already seen (e.g. in other splits of the same version) to the file
    they came from, so duplicates across files are caught; it is updated in place.
    """
    seen = seen_ids if seen_ids is not None else {}
    out: list[Violation] = []
    for i, rec in enumerate(records):
        out.extend(validate_record(rec, file=file, index=i))
        rid = rec.get("id") if isinstance(rec, Mapping) else None
        if isinstance(rid, str) and rid:
            if rid in seen:
                where = "this file" if seen[rid] == file else seen[rid]
                out.append(Violation(file, rid, "id", f"duplicate id (also in {where})"))
            else:
                seen[rid] = file
    return out


def check_table_schema(
    table: pa.Table | pa.Schema, file: str, expected: pa.Schema = M2M_SCHEMA
) -> list[Violation]:
    """File-level violations: columns missing, extra, or of the wrong arrow type."""
    schema = table if isinstance(table, pa.Schema) else table.schema
    out = []
    for f in expected:
        if f.name not in schema.names:
            out.append(Violation(file, None, f.name, "column is missing"))
        elif not schema.field(f.name).type.equals(f.type):
            out.append(
                Violation(file, None, f.name, f"column has type {schema.field(f.name).type}, expected {f.type}")
            )
    for name in schema.names:
        if name not in expected.names:
            out.append(Violation(file, None, name, "column is not part of the dataset's schema"))
    return out


def to_table(records: list[Mapping[str, Any]]) -> pa.Table:
    """Records (already validated) as an arrow table in the canonical column order."""
    rows = [{k: r.get(k) for k in M2M_SCHEMA.names} for r in records]
    return pa.Table.from_pylist(rows, schema=M2M_SCHEMA)
