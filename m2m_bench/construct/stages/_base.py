"""What an ERA-CoT stage is: a prompt template with a version, a parser and a reducer.

A stage turns one work item (a dialogue plus the results of earlier stages) into chat
messages (:meth:`Stage.messages`), parses each sampled answer (:meth:`Stage.parse`, raising
:class:`~m2m_bench.construct.parsing.ParseError` for anything unusable, which triggers a
retry) and combines the parsed samples into the stage's result (:meth:`Stage.reduce`,
raising :class:`StageFailure` when there is nothing to keep). The pipeline does the calling,
retrying, caching and bookkeeping (:mod:`m2m_bench.construct.pipeline`).

Prompts are :class:`string.Template` texts (``$name`` placeholders), so JSON examples need no
escaping. A changed prompt or parser gets a new ``version``; both enter the stage signature.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from string import Template
from typing import Any, ClassVar

from ..sources import SourceRecord

SYSTEM = (
    "You annotate dialogues for a dataset about the physical actions people take. "
    "Answer with one JSON object and nothing else."
)
#: How every per-record prompt opens: the dialogue, fenced so its text cannot pass for instructions.
DIALOGUE = 'Dialogue:\n"""\n$conversation\n"""\n'
REPAIR = "Your answer could not be used: $error. Answer again with only the JSON object in the requested format."


class StageFailure(Exception):
    """A stage produced nothing usable for a record; ``kind`` is the drop reason."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass
class Item:
    """One record on its way through the stages."""

    record: SourceRecord
    #: stage name -> ``{"status": "ok"|"skipped"|"failed", "value", "kind", "message",
    #: "samples", "errors", "calls"}``
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: ``active``; ``blocked`` (waiting for batch answers); ``dropped``; ``unannotated`` (an
    #: ERA-CoT stage failed on a record that keeps its own action and skills).
    state: str = "active"
    #: ``(stage, kind, message)`` of the failure that dropped or unannotated the record.
    reason: tuple[str, str, str] | None = None

    @property
    def id(self) -> str:
        return self.record.id

    def value(self, stage: str, default: Any = None) -> Any:
        res = self.results.get(stage)
        if res is None or res["status"] == "failed":
            return default
        return res["value"]


@dataclass(frozen=True)
class StageParams:
    """Decoding and stage options after defaults and ``--set`` overrides."""

    samples: int
    temperature: float
    top_p: float
    max_tokens: int
    seed: int
    max_attempts: int
    #: Stage-specific options (``threshold``, ``max_candidates``) and ``extra_body``.
    options: Mapping[str, Any] = field(default_factory=dict)

    def request_params(self, sample: int) -> dict[str, Any]:
        """The decoding parameters of sample ``sample`` (its seed is ``seed + sample``)."""
        p: dict[str, Any] = {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "seed": self.seed + sample,
        }
        if self.options.get("extra_body"):
            p["extra_body"] = dict(self.options["extra_body"])
        return p

    def as_dict(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
            "max_attempts": self.max_attempts,
            **{k: v for k, v in self.options.items()},
        }


class Stage:
    """Base class of the per-record stages (and of the corpus-level taxonomy stage)."""

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    system: ClassVar[str] = SYSTEM
    template: ClassVar[str] = ""
    #: Defaults that ``--samples``/``--set`` may override (``options`` are stage-specific).
    defaults: ClassVar[dict[str, Any]] = {}
    #: Samples are fixed for stages whose answers cannot be voted on.
    fixed_samples: ClassVar[int | None] = None

    def fields(self, item: Item, ctx: Any) -> dict[str, str] | None:
        """Template values for ``item``, or ``None`` when there is nothing to ask."""
        raise NotImplementedError

    def messages(self, item: Item, ctx: Any) -> list[dict[str, str]] | None:
        values = self.fields(item, ctx)
        if values is None:
            return None
        return [
            {"role": "system", "content": self.system},
            {"role": "user", "content": Template(self.template).substitute(values)},
        ]

    def empty(self, item: Item, ctx: Any) -> Any:
        """The result value when :meth:`fields` returned ``None`` (nothing to ask)."""
        return []

    def parse(self, text: str, item: Item, ctx: Any) -> Any:
        raise NotImplementedError

    def reduce(self, item: Item, samples: Sequence[Any | None], params: StageParams, ctx: Any) -> Any:
        raise NotImplementedError

    def prompt_text(self) -> str:
        return f"[system]\n{self.system}\n[user]\n{self.template}\n[repair]\n{REPAIR}"

    def prompt_sha256(self) -> str:
        return hashlib.sha256(self.prompt_text().encode("utf-8")).hexdigest()


def repair_message(error: str) -> dict[str, str]:
    """The user turn appended after an unusable answer."""
    return {"role": "user", "content": Template(REPAIR).substitute(error=error)}


def as_json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def entity_list(item: Item) -> list[str]:
    return [e["text"] for e in item.value("entities", [])]


def relation_lines(relations: Sequence[Mapping[str, Any]]) -> str:
    """``- head | relation | tail`` lines (``(none)`` for an empty list)."""
    if not relations:
        return "(none)"
    return "\n".join(f"- {r['head']} | {r['relation']} | {r['tail']}" for r in relations)
