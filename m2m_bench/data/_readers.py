"""Reading record files safely for validation: parquet, JSON Lines, version folders.

Readers never raise on bad content: they return the records they could read plus a
:class:`~m2m_bench.schema.Violation` for everything they could not.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..schema import M2M_SCHEMA, Violation, check_table_schema

#: Largest JSON Lines file read for validation (bytes) and longest line.
MAX_JSONL_BYTES = 512 * 1024 * 1024
MAX_LINE_BYTES = 1024 * 1024


def read_jsonl(path: Path, strip_keys: tuple[str, ...] = ()) -> tuple[list[dict], list[Violation]]:
    """Records of a JSON Lines file; each bad line becomes a violation naming its line number."""
    out: list[dict] = []
    bad: list[Violation] = []
    if path.stat().st_size > MAX_JSONL_BYTES:
        return [], [Violation(str(path), None, "<file>", f"larger than {MAX_JSONL_BYTES} bytes")]
    with open(path, "rb") as f:
        for n, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            if len(raw) > MAX_LINE_BYTES:
                bad.append(Violation(str(path), f"line {n}", "<line>", f"longer than {MAX_LINE_BYTES} bytes"))
                continue
            try:
                obj = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                bad.append(Violation(str(path), f"line {n}", "<line>", f"not valid UTF-8 JSON: {e}"))
                continue
            if isinstance(obj, dict):
                for k in strip_keys:
                    obj.pop(k, None)
            out.append(obj)
    return out, bad


def read_parquet(path: Path, expected: pa.Schema | None = M2M_SCHEMA) -> tuple[list[dict], list[Violation]]:
    """Records of a parquet file plus file-level schema violations (bad files do not raise)."""
    try:
        table = pq.read_table(path)
    except Exception as e:  # noqa: BLE001 - any arrow error is a property of the file
        return [], [Violation(str(path), None, "<file>", f"not a readable parquet file: {e}")]
    problems = check_table_schema(table, str(path), expected) if expected is not None else []
    return table.to_pylist(), problems
