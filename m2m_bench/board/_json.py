"""Strict JSON for untrusted files: no NaN/Infinity, no duplicate keys, bounded nesting."""

from __future__ import annotations

import json
from typing import Any

from ._errors import SubmissionError

#: Containers nested deeper than this are refused (plain ``json`` would recurse further).
MAX_JSON_DEPTH = 32


class _Reject(ValueError):
    pass


def _no_constants(name: str) -> Any:
    raise _Reject(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    import math

    value = float(text)
    if not math.isfinite(value):
        raise _Reject(f"number {text[:40]} is out of the range of a double")
    return value


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _Reject(f"duplicate key {k!r}")
        out[k] = v
    return out


def _depth_ok(text: str, limit: int) -> bool:
    depth = 0
    in_str = esc = False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def loads_strict(data: bytes | str, where: str) -> Any:
    """Parse JSON text from an untrusted file; :class:`SubmissionError` naming ``where`` on any fault.

    Refused on top of what :func:`json.loads` refuses: ``NaN``/``Infinity`` tokens and numbers
    too large for a double (``1e999``), a key given
    twice in one object, and nesting deeper than :data:`MAX_JSON_DEPTH`.
    """
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise SubmissionError(
                f"{where}: not valid UTF-8 ({e.reason} at byte {e.start})"
            ) from None
    if not _depth_ok(data, MAX_JSON_DEPTH):
        raise SubmissionError(
            f"{where}: not valid JSON (nested deeper than {MAX_JSON_DEPTH} levels)"
        )
    try:
        return json.loads(
            data, parse_constant=_no_constants, parse_float=_finite_float, object_pairs_hook=_pairs
        )
    except _Reject as e:
        raise SubmissionError(f"{where}: not valid JSON ({e})") from None
    except json.JSONDecodeError as e:
        raise SubmissionError(
            f"{where}: not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})"
        ) from None
    except RecursionError:
        raise SubmissionError(f"{where}: not valid JSON (nested too deeply)") from None
