"""Stage 0 (optional): propose a taxonomy of conversational elements from a corpus sample.

Motion-R1 (§3.1.2) has an LLM propose a taxonomy that experts then refine. Here the stage
asks for entity types and relation types over ``sample_size`` dialogues (the ones with the
smallest ``sha256(id)``, so the sample does not depend on input order) and writes an
editable YAML file::

    version: 1
    entity_types:
      - {name: person, description: a human who speaks or is spoken about}
    relation_types:
      - {name: holds, description: ...}

Later stages read that file: the entity stage accepts only its entity types, and relation
types are offered as suggestions. When the file already exists (edited by a person), the
stage does not run and the file is used as it is. Without a file the built-in
:data:`DEFAULT_TAXONOMY` applies.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ...errors import M2MError
from ..parsing import ParseError, extract_json, require_list, require_text
from ..voting import words
from ._base import Item, Stage, StageFailure, StageParams


def type_name(text: str) -> str:
    """``"Body part" -> "body_part"``: the words of a type name joined by ``_``."""
    return "_".join(words(text.replace("_", " ")))


@dataclass(frozen=True)
class Taxonomy:
    """Entity and relation types as ``((name, description), ...)``."""

    entity_types: tuple[tuple[str, str], ...]
    relation_types: tuple[tuple[str, str], ...] = ()

    @property
    def entity_names(self) -> list[str]:
        return [n for n, _ in self.entity_types]

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "entity_types": [{"name": n, "description": d} for n, d in self.entity_types],
            "relation_types": [{"name": n, "description": d} for n, d in self.relation_types],
        }

    def sha256(self) -> str:
        return hashlib.sha256(json.dumps(self.as_dict(), sort_keys=True).encode()).hexdigest()

    def dump(self) -> str:
        head = (
            "# ERA-CoT taxonomy of conversational elements (m2m-bench construct).\n"
            "# Edit freely: the entity stage accepts only these entity types; relation types are\n"
            "# suggestions shown to the model. Rerun the pipeline after editing.\n"
        )
        return head + yaml.safe_dump(self.as_dict(), sort_keys=False, allow_unicode=True, width=100)


DEFAULT_TAXONOMY = Taxonomy(
    entity_types=(
        ("person", "a human who speaks, is addressed or is mentioned"),
        ("object", "a thing that can be moved, held, used or operated"),
        ("place", "a location, surface, room or part of the surroundings"),
        ("body_part", "a part of a person's or animal's body"),
        ("animal", "a non-human living creature"),
        ("vehicle", "something that transports people or goods"),
        ("hazard", "a source of danger such as fire, water, traffic or a fall"),
        ("other", "anything else that matters for what a person would physically do"),
    ),
    relation_types=(
        ("holds", "a person holds or carries an object"),
        ("located at", "something is at, on, in or near a place or object"),
        ("moves toward", "something moves toward a place, object or person"),
        ("needs", "a person needs an object or another person's help"),
        ("blocks", "something is in the way of something else"),
        ("threatens", "a hazard endangers a person or object"),
    ),
)


def _types(raw: Any, where: str) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    items = list(raw.items()) if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        raise M2MError(f"{where}: must be a list of types")
    out: list[tuple[str, str]] = []
    for i, t in enumerate(items):
        if isinstance(t, str):
            name, desc = t, ""
        elif isinstance(t, tuple) and len(t) == 2:
            name, desc = str(t[0]), str(t[1] or "")
        elif isinstance(t, dict) and isinstance(t.get("name"), str):
            name, desc = t["name"], str(t.get("description") or "")
        else:
            raise M2MError(f"{where}[{i}]: a type is a name or {{name, description}}")
        if not type_name(name):
            raise M2MError(f"{where}[{i}]: empty type name")
        out.append((name.strip(), desc.strip()))
    return tuple(out)


def taxonomy_from_dict(data: Any, where: str = "taxonomy") -> Taxonomy:
    """A :class:`Taxonomy` from its YAML/JSON form (``entity_types`` required).

    Types may be written as names, ``{name, description}`` objects or a ``name: description``
    mapping. Entity type names are normalized with :func:`type_name`.
    """
    if not isinstance(data, dict) or not data.get("entity_types"):
        raise M2MError(f"{where}: field 'entity_types' is missing (a taxonomy lists entity types)")
    ents = tuple((type_name(n), d) for n, d in _types(data["entity_types"], f"{where}: field 'entity_types'"))
    if len({n for n, _ in ents}) != len(ents):
        raise M2MError(f"{where}: field 'entity_types' names a type twice")
    return Taxonomy(ents, _types(data.get("relation_types"), f"{where}: field 'relation_types'"))


def load_taxonomy(path: str | Path) -> Taxonomy:
    """Read a taxonomy YAML file (format in the module docstring and :func:`taxonomy_from_dict`)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise M2MError(f"{path}: cannot read the taxonomy ({e})") from None
    return taxonomy_from_dict(data, str(path))


def corpus_sample(records: Sequence[Any], size: int) -> list[Any]:
    """The ``size`` records with the smallest ``sha256(id)`` (independent of input order)."""
    return sorted(records, key=lambda r: hashlib.sha256(r.id.encode()).hexdigest())[:size]


class TaxonomyStage(Stage):
    name = "taxonomy"
    version = "1"
    template = """Here are $n dialogues from one corpus:

$dialogues

Propose a taxonomy of the elements these dialogues talk about that matter for what a person would physically do.
Give 4 to 12 entity types and 3 to 12 relation types, each with a short description.
Reply with JSON only, in this format: {"entity_types": [{"name": "person", "description": "..."}], "relation_types": [{"name": "holds", "description": "..."}]}"""
    defaults = {"samples": 1, "temperature": 0.0, "max_tokens": 700, "options": {"sample_size": 20, "max_chars": 600}}
    fixed_samples = 1

    def fields(self, item: Item, ctx: Any) -> dict[str, str]:
        dialogues = ctx.corpus
        return {
            "n": str(len(dialogues)),
            "dialogues": "\n\n".join(f"[{i + 1}]\n{d}" for i, d in enumerate(dialogues)),
        }

    def parse(self, text: str, item: Item, ctx: Any) -> Taxonomy:
        obj = extract_json(text)
        ents = require_list(obj, "entity_types", 40)
        rels = require_list(obj, "relation_types", 40) if "relation_types" in obj else []
        e_types = tuple((type_name(require_text(t, "name", f"entity_types[{i}]", 60)), str(t.get("description", ""))[:200]) for i, t in enumerate(ents))
        r_types = tuple((require_text(t, "name", f"relation_types[{i}]", 60), str(t.get("description", ""))[:200]) for i, t in enumerate(rels))
        first: dict[str, str] = {}
        for n, d in e_types:
            first.setdefault(n, d)  # a repeated name keeps its first description
        if len(first) < 2:
            raise ParseError("give at least two different entity types", "missing_field")
        return Taxonomy(tuple(first.items()), r_types)

    def reduce(self, item: Item, samples: Sequence[Taxonomy | None], params: StageParams, ctx: Any) -> dict[str, Any]:
        for s in samples:
            if s is not None:
                return s.as_dict()
        raise StageFailure("failed", "no usable taxonomy was proposed")
