"""The record every input adapter yields, the adapter registry and the ``KIND:PATH`` spec."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...data._manifest import sha256_file
from ...errors import M2MError
from .. import files

#: Longest conversation accepted from an input (characters).
MAX_CONVERSATION_CHARS = 20_000
#: Largest single input file read (bytes).
MAX_INPUT_BYTES = 1024**3


class InputError(M2MError):
    """An input file that cannot be read as its kind says; the message names file, record, field."""


@dataclass(frozen=True)
class SourceRecord:
    """One dialogue to annotate, with its provenance.

    ``split``, ``action`` and ``skills`` are set when the source already has them (the team's
    authored records): the pipeline keeps them instead of asking the LLM.
    """

    id: str
    conversation: str
    source: Mapping[str, str]
    split: str | None = None
    action: str | None = None
    skills: tuple[str, ...] | None = None
    #: Facts about the record that are not M2M fields (the authored ``domain`` and ``family``).
    meta: Mapping[str, str] = field(default_factory=dict)

    @property
    def preset(self) -> bool:
        return self.action is not None and self.skills is not None

    def as_dict(self) -> dict[str, Any]:
        """The record as a dict: M2M fields it has, ``split`` when known, and its ``meta``."""
        out: dict[str, Any] = {"id": self.id, "conversation": self.conversation, "source": dict(self.source)}
        if self.preset:
            out["action"], out["skills"] = self.action, list(self.skills or ())
        if self.split is not None:
            out["split"] = self.split
        out.update(self.meta)
        return out

    def key(self) -> str:
        """Content hash of what the stages read (changes when the input record changes)."""
        payload = {
            "id": self.id,
            "conversation": self.conversation,
            "action": self.action,
            "skills": list(self.skills) if self.skills is not None else None,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


Reader = Callable[[Path], Iterator[SourceRecord]]


@dataclass(frozen=True)
class SourceKind:
    name: str
    read: Reader
    help: str
    #: The files a path stands for (hashed into pipeline.yaml so rebuilds check their input).
    files: Callable[[Path], list[Path]]


_KINDS: dict[str, SourceKind] = {}


def _single_file(path: Path) -> list[Path]:
    return [path]


def register_source(name: str, help: str, files: Callable[[Path], list[Path]] = _single_file) -> Callable[[Reader], Reader]:
    """Register ``read(path) -> Iterator[SourceRecord]`` as input kind ``name``."""

    def deco(fn: Reader) -> Reader:
        _KINDS[name] = SourceKind(name, fn, help, files)
        return fn

    return deco


def source_kinds() -> dict[str, SourceKind]:
    from . import authored, humanml3d, jsonl, kitml, llava  # noqa: F401  (registration)

    return dict(sorted(_KINDS.items()))


def get_adapter(kind: str) -> Callable[[str | Path], Iterator[dict[str, Any]]]:
    """``read(path)`` yielding the records of input kind ``kind`` as dicts (:meth:`SourceRecord.as_dict`)."""
    kinds = source_kinds()
    if kind not in kinds:
        raise M2MError(f"unknown input kind {kind!r}; known: {', '.join(kinds)}")

    def read(path: str | Path) -> Iterator[dict[str, Any]]:
        for rec in kinds[kind].read(Path(path)):
            yield rec.as_dict()

    return read


@dataclass(frozen=True)
class InputSpec:
    """``--input KIND:PATH``."""

    kind: str
    path: Path

    @classmethod
    def parse(cls, text: str) -> InputSpec:
        kind, sep, path = text.partition(":")
        kinds = source_kinds()
        if not sep or not path:
            raise M2MError(f"--input {text!r}: expected KIND:PATH with KIND one of {', '.join(kinds)}")
        if kind not in kinds:
            raise M2MError(f"--input {text!r}: unknown kind {kind!r}; known: {', '.join(kinds)}")
        return cls(kind, Path(path))

    def __str__(self) -> str:
        return f"{self.kind}:{self.path}"

    def files(self) -> list[Path]:
        if not self.path.exists():
            raise InputError(f"{self.path}: no such file or folder (--input {self})")
        return source_kinds()[self.kind].files(self.path)

    def sha256(self) -> str:
        """sha256 over ``relpath \\0 sha256(file)`` lines of the files the input reads."""
        h = hashlib.sha256()
        base = self.path if self.path.is_dir() else self.path.parent
        for f in self.files():
            fh = sha256_file(f)
            h.update(f"{f.relative_to(base).as_posix()}\0{fh}\n".encode())
        return h.hexdigest()

    def read(self) -> Iterator[SourceRecord]:
        if not self.path.exists():
            raise InputError(f"{self.path}: no such file or folder (--input {self})")
        yield from source_kinds()[self.kind].read(self.path)


def check_size(path: Path) -> None:
    if path.stat().st_size > MAX_INPUT_BYTES:
        raise InputError(f"{path}: larger than {MAX_INPUT_BYTES} bytes")


def clean_conversation(text: Any, where: str) -> str:
    """A non-empty conversation string within :data:`MAX_CONVERSATION_CHARS` (``where`` names
    the file, record and field in errors)."""
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{where}: must be a non-empty string, got {text!r:.60}")
    text = text.strip()
    if len(text) > MAX_CONVERSATION_CHARS:
        raise InputError(f"{where}: longer than {MAX_CONVERSATION_CHARS} characters")
    return text


def render_turns(turns: Any, where: str) -> str:
    """A list of chat turns as ``Speaker: text`` lines.

    Turns are ``{"from"|"role"|"speaker": ..., "value"|"content"|"text": ...}``; LLaVA's
    ``human``/``gpt`` become ``User``/``Assistant`` and its ``<image>`` token is removed.
    """
    names = {"human": "User", "user": "User", "gpt": "Assistant", "assistant": "Assistant", "system": "System"}
    if not isinstance(turns, list) or not turns:
        raise InputError(f"{where}: must be a non-empty list of turns or a string")
    lines = []
    for i, t in enumerate(turns):
        if not isinstance(t, Mapping):
            raise InputError(f"{where}[{i}]: a turn must be an object, got {type(t).__name__}")
        who = next((t[k] for k in ("from", "role", "speaker") if isinstance(t.get(k), str)), None)
        text = next((t[k] for k in ("value", "content", "text") if isinstance(t.get(k), str)), None)
        if who is None or text is None:
            raise InputError(f"{where}[{i}]: a turn needs a speaker (from/role/speaker) and text (value/content/text)")
        text = text.replace("<image>", "").strip()
        if text:
            lines.append(f"{names.get(who.lower(), who)}: {text}")
    return clean_conversation("\n".join(lines), where)


def jsonl_objects(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` of a JSON Lines input; a bad line is an :class:`InputError`."""
    return files.jsonl_objects(path, error=InputError)


def read_json(path: Path) -> Any:
    check_size(path)
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: not valid UTF-8 JSON ({e})") from None


def split_files(folder: Path, names: Mapping[str, str]) -> dict[str, str]:
    """``{item id: split}`` from one-id-per-line files (``train.txt`` ...) in ``folder``."""
    out: dict[str, str] = {}
    for fname, split in names.items():
        p = folder / fname
        if p.is_file():
            for line in p.read_text(encoding="utf-8").split():
                out.setdefault(line.strip(), split)
    return out
