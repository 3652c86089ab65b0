"""Reading untrusted LLM answers: one JSON object out of free text, with size limits.

Models wrap JSON in prose or Markdown fences; :func:`extract_json` takes the first JSON
object of the answer (fences dropped), using ``json`` only (no ``eval``). Anything a stage
cannot use raises :class:`ParseError`, whose message is shown to the model on a retry and
recorded against the record when the retries run out.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

#: Longest answer parsed (characters); longer answers are malformed.
MAX_ANSWER_CHARS = 50_000
#: Deepest nesting accepted in an answer.
MAX_DEPTH = 8

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.S)


class ParseError(ValueError):
    """An LLM answer a stage cannot use; ``kind`` groups failures in the drop counts."""

    def __init__(self, message: str, kind: str = "malformed"):
        super().__init__(message)
        self.kind = kind


def _depth(obj: Any, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(obj, Mapping):
        return max([_depth(v, level + 1) for v in obj.values()] or [level + 1])
    if isinstance(obj, list):
        return max([_depth(v, level + 1) for v in obj] or [level + 1])
    return level


def extract_json(text: str) -> dict[str, Any]:
    """The first JSON object in ``text`` (inside a Markdown fence if there is one).

    Raises :class:`ParseError` (kind ``bad_json``) when there is none, it is too large or too
    deeply nested, or it holds NaN/Infinity.
    """
    if not isinstance(text, str) or not text.strip():
        raise ParseError("the answer is empty; reply with one JSON object", "bad_json")
    if len(text) > MAX_ANSWER_CHARS:
        raise ParseError(f"the answer is longer than {MAX_ANSWER_CHARS} characters", "bad_json")
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    decoder = json.JSONDecoder(parse_constant=_reject_constant)
    last_error = "no '{' found"
    for cand in candidates:
        start = cand.find("{")
        while start != -1:
            try:
                obj, _ = decoder.raw_decode(cand, start)
            except json.JSONDecodeError as e:
                last_error = f"{e.msg} at character {e.pos}"
            except ValueError as e:
                raise ParseError(str(e), "bad_json") from None
            else:
                if isinstance(obj, dict):
                    if _depth(obj) > MAX_DEPTH:
                        raise ParseError(f"the JSON is nested deeper than {MAX_DEPTH} levels", "bad_json")
                    return obj
            start = cand.find("{", start + 1)
    raise ParseError(f"no JSON object in the answer ({last_error})", "bad_json")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid JSON number")


def require_list(obj: Mapping[str, Any], key: str, max_items: int = 64) -> list[Any]:
    """``obj[key]`` as a list (kind ``missing_field`` when absent or of the wrong type)."""
    if key not in obj:
        raise ParseError(f'the JSON object has no "{key}" field', "missing_field")
    value = obj[key]
    if not isinstance(value, list):
        raise ParseError(f'"{key}" must be a list, got {type(value).__name__}', "missing_field")
    if len(value) > max_items:
        raise ParseError(f'"{key}" has {len(value)} items; at most {max_items} are allowed', "too_long")
    return value


def require_text(obj: Any, key: str, where: str, max_chars: int = 200) -> str:
    """A non-empty string field of an item (kind ``missing_field``)."""
    if not isinstance(obj, Mapping):
        raise ParseError(f"{where} must be an object, got {type(obj).__name__}", "missing_field")
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ParseError(f'{where} needs a non-empty string "{key}"', "missing_field")
    if len(value) > max_chars:
        raise ParseError(f'{where}: "{key}" is longer than {max_chars} characters', "too_long")
    return value.strip()


def require_unit(obj: Mapping[str, Any], key: str, where: str) -> float:
    """A number in [0, 1] (kind ``bad_score``)."""
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ParseError(f'{where} needs a number "{key}" between 0 and 1, got {value!r:.40}', "bad_score")
    if not 0.0 <= float(value) <= 1.0:
        raise ParseError(f'{where}: "{key}" must lie between 0 and 1, got {value}', "bad_score")
    return float(value)
