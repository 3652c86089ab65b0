"""``predictions:<file.jsonl>``: score outputs produced elsewhere.

The file holds one JSON object per line, ``{"id": "<record id>", "output": "<raw model text>"}``
(other keys are ignored; blank lines are skipped). It is untrusted input, read defensively:
at most :data:`MAX_FILE_BYTES` in all, :data:`MAX_LINE_BYTES` per line and
:data:`MAX_OUTPUT_CHARS` per output; UTF-8 only; plain ``json`` parsing (no pickle, no eval).
Every problem is reported with the file, line and field at fault. Ids must be unique and
belong to the evaluated split; every evaluated record needs a prediction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..errors import M2MError
from ._base import Messages, Model, ModelLoadError, register
from ._fingerprint import file_sha256

MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_LINE_BYTES = 1024 * 1024
MAX_OUTPUT_CHARS = 100_000


class PredictionsError(M2MError):
    """A predictions file that cannot be scored (names the file, line and field)."""


def read_predictions(
    path: str | Path,
    *,
    max_file_bytes: int = MAX_FILE_BYTES,
    max_line_bytes: int = MAX_LINE_BYTES,
    max_output_chars: int = MAX_OUTPUT_CHARS,
) -> dict[str, str]:
    """``{id: output}`` from a predictions JSONL file (format and limits in the module docstring)."""
    p = Path(path).expanduser()
    if not p.exists():
        raise PredictionsError(f"{p}: no such predictions file")
    if not p.is_file():
        raise PredictionsError(f"{p}: is not a file")
    size = p.stat().st_size
    if size > max_file_bytes:
        raise PredictionsError(f"{p}: {size} bytes is over the {max_file_bytes}-byte limit for a predictions file")
    out: dict[str, str] = {}
    first_line: dict[str, int] = {}
    with open(p, "rb") as f:
        lineno = 0
        while True:
            raw = f.readline(max_line_bytes + 1)
            if not raw:
                break
            lineno += 1
            if len(raw) > max_line_bytes:
                raise PredictionsError(f"{p}: line {lineno}: longer than the {max_line_bytes}-byte limit per line")
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise PredictionsError(f"{p}: line {lineno}: not valid UTF-8 ({e.reason} at byte {e.start})") from None
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except (json.JSONDecodeError, RecursionError) as e:
                msg = e.msg if isinstance(e, json.JSONDecodeError) else "nested too deeply"
                raise PredictionsError(f"{p}: line {lineno}: not valid JSON ({msg})") from None
            if not isinstance(obj, dict):
                raise PredictionsError(
                    f"{p}: line {lineno}: expected an object {{\"id\": ..., \"output\": ...}}, got {type(obj).__name__}"
                )
            rid, output = obj.get("id"), obj.get("output")
            if "id" not in obj:
                raise PredictionsError(f"{p}: line {lineno}: field 'id' is missing")
            if not isinstance(rid, str) or not rid.strip():
                raise PredictionsError(f"{p}: line {lineno}: field 'id' must be a non-empty string, got {rid!r:.60}")
            if "output" not in obj:
                raise PredictionsError(f"{p}: line {lineno}: record {rid!r}: field 'output' is missing")
            if not isinstance(output, str):
                raise PredictionsError(
                    f"{p}: line {lineno}: record {rid!r}: field 'output' must be a string, got {type(output).__name__}"
                )
            if len(output) > max_output_chars:
                raise PredictionsError(
                    f"{p}: line {lineno}: record {rid!r}: field 'output' has {len(output)} characters, "
                    f"over the {max_output_chars} limit"
                )
            if rid in out:
                raise PredictionsError(
                    f"{p}: line {lineno}: record {rid!r}: field 'id': duplicate id (first on line {first_line[rid]})"
                )
            out[rid] = output
            first_line[rid] = lineno
    if not out:
        raise PredictionsError(f"{p}: empty predictions file (no {{\"id\", \"output\"}} lines)")
    return out


class PredictionsModel(Model):
    """Stored outputs looked up by record id."""

    kind = "predictions"
    cacheable = False
    can_generate = False

    def __init__(self, path: str, **_: Any) -> None:
        self.path = Path(path).expanduser()
        self.outputs = read_predictions(self.path)
        self.spec = f"predictions:{self.path}"
        self.name = self.path.stem
        self.revision = "sha256:" + file_sha256(self.path)[:16]

    def check_ids(self, split_ids: Iterable[str], split_label: str = "the split") -> None:
        """Raise unless every prediction id belongs to ``split_ids``."""
        known = set(split_ids)
        extra = [i for i in self.outputs if i not in known]
        if extra:
            shown = ", ".join(repr(i) for i in extra[:5])
            more = f" and {len(extra) - 5} more" if len(extra) > 5 else ""
            raise PredictionsError(
                f"{self.path}: field 'id': {len(extra)} prediction id(s) are not in {split_label}: {shown}{more}"
            )

    def predict(self, records: Sequence[dict], batch: Sequence[Messages], **gen: Any) -> list[str]:
        missing = [r["id"] for r in records if r["id"] not in self.outputs]
        if missing:
            shown = ", ".join(repr(i) for i in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise PredictionsError(
                f"{self.path}: {len(missing)} evaluated record(s) have no prediction: {shown}{more}"
            )
        return [self.outputs[r["id"]] for r in records]

    def generate(self, batch: Sequence[Messages], **gen: Any) -> list[str]:
        raise M2MError(f"{self.spec}: stored predictions cannot answer new prompts (e.g. GSM8K)")

    def info(self) -> dict[str, Any]:
        return {"file": str(self.path.resolve()), "num_predictions": len(self.outputs)}


@register("predictions", "predictions:<file.jsonl>: stored {id, output} lines")
def load_predictions(rest: str, **options: Any) -> Model:
    """predictions:<file.jsonl>: stored {id, output} lines."""
    if not rest.strip():
        raise ModelLoadError("predictions: needs a file, e.g. predictions:outputs.jsonl")
    return PredictionsModel(rest)
