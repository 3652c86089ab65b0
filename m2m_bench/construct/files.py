"""JSON Lines in and out, for every file the pipeline reads or writes (inputs, batch answers,
review files, shipped calls): size limits, and errors that name the file and line."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import M2MError

#: Largest JSON Lines file read (bytes, compressed size for ``.gz``).
MAX_FILE_BYTES = 2 * 1024**3
#: Longest line read (bytes).
MAX_LINE_BYTES = 8 * 1024 * 1024


def jsonl_objects(path: str | Path, error: type[M2MError] = M2MError) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each non-blank line of a JSON Lines file (``.gz`` too).

    A line that is too long, not UTF-8 JSON or not an object raises ``error`` naming the file
    and line.
    """
    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: no such file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise error(f"{path}: larger than {MAX_FILE_BYTES} bytes")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            for n, raw in enumerate(f, start=1):
                if not raw.strip():
                    continue
                if len(raw) > MAX_LINE_BYTES:
                    raise error(f"{path}: line {n}: longer than {MAX_LINE_BYTES} bytes")
                try:
                    obj = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError) as e:
                    raise error(f"{path}: line {n}: not valid UTF-8 JSON ({e})") from None
                if not isinstance(obj, dict):
                    raise error(f"{path}: line {n}: must be a JSON object")
                yield n, obj
    except (OSError, EOFError) as e:  # unreadable or truncated .gz
        raise error(f"{path}: cannot read ({e})") from None


def jsonl_text(rows: Iterable[Mapping[str, Any]]) -> str:
    """Rows as JSON Lines with sorted keys (deterministic bytes)."""
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
