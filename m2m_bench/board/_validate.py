"""Validating a submission before anything is scored or stored.

:func:`validate_submission` reads the folder or archive (:mod:`._files`), then checks, in
this order, stopping at the first problem with a message naming the file, line, record id and
field:

1. ``metadata.json`` is present, within :attr:`Limits.max_metadata_bytes`, strict JSON (no
   ``NaN``, no duplicate keys) and follows :data:`._metadata.FIELDS`;
2. the files it names are present (other files, such as a README or a controller's weights,
   are carried along but never parsed: :attr:`ValidatedSubmission.ignored`);
3. the dataset is a released version of a known dataset, its content hash is the one
   submitted, and the split exists;
4. the predictions JSONL: UTF-8, one strict-JSON object per line with a non-empty string
   ``id`` and a string ``output`` of at most :data:`MAX_OUTPUT_CHARS` characters (other keys
   are refused); no output declares a document type or an entity (an "XML bomb"); every id of
   the split appears exactly once and no other id appears.
5. optional GSM8K predictions and motion episodes, by their own modules. A motion-only
   submission (a motion controller: no ``predictions``, no ``dataset``) skips 3 and 4.

The harness re-reads the predictions when it scores them; the checks here exist so that a
submitter sees every reason for a refusal, phrased for the submission, before scoring starts.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._errors import SubmissionError
from ._files import Limits, SubmissionFiles, read_submission_files
from ._json import loads_strict
from ._metadata import METADATA_FILE, Metadata, parse_metadata

#: Longest accepted output (characters); the response parser reads no further either.
MAX_OUTPUT_CHARS = 100_000
#: A document type, entity, element, attribute-list or notation declaration.
XML_DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)\b", re.IGNORECASE)
_PRED_KEYS = frozenset({"id", "output"})


@dataclass
class ValidatedSubmission:
    """A submission that passed every check; ``predictions`` maps each split id to its output
    (empty for a motion-only submission)."""

    files: SubmissionFiles
    metadata: Metadata
    predictions: dict[str, str]
    split_ids: list[str]
    ignored: list[str] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def content_sha256(self) -> str:
        """sha256 over metadata.json and the named files (name, length, bytes, in name order)."""
        h = hashlib.sha256()
        for name in sorted([METADATA_FILE, *self.metadata.files()]):
            data = self.files.files[name]
            h.update(f"{name}\n{len(data)}\n".encode())
            h.update(data)
        return h.hexdigest()

    @property
    def submission_id(self) -> str:
        """``<slug of the model name>-<first 10 hex digits of content_sha256>``."""
        slug = (
            re.sub(r"[^a-z0-9]+", "-", self.metadata.model_name.lower()).strip("-")[:48] or "model"
        )
        return f"{slug}-{self.content_sha256[:10]}"


def _dataset_check(meta: Metadata, where: str) -> list[str]:
    from .. import data as m2m_data
    from ..errors import DatasetNotFound

    ds = meta.dataset
    try:
        versions = m2m_data.list_versions(ds.name)
    except DatasetNotFound as e:
        raise SubmissionError(f"{where}: field 'dataset.name': {e}") from None
    if ds.version not in versions:
        raise SubmissionError(
            f"{where}: field 'dataset.version': {ds.name} {ds.version!r} is not a released version "
            f"(released: {', '.join(versions) or 'none'})"
        )
    manifest = m2m_data.dataset_info(ds.name, ds.version)
    if ds.content_hash != manifest["content_hash"]:
        raise SubmissionError(
            f"{where}: field 'dataset.content_hash' {ds.content_hash[:16]}... does not match "
            f"{ds.name} {ds.version} ({manifest['content_hash'][:16]}...): the predictions were made "
            "for different data"
        )
    if ds.split not in manifest["splits"]:
        raise SubmissionError(
            f"{where}: field 'dataset.split': {ds.name} {ds.version} has no split {ds.split!r} "
            f"(splits: {', '.join(manifest['splits'])})"
        )
    split = m2m_data.load_dataset(ds.name, ds.version, split=ds.split)
    return [str(i) for i in split["id"]]


def _shown(ids: list[str]) -> str:
    more = f" and {len(ids) - 5} more" if len(ids) > 5 else ""
    return ", ".join(repr(i) for i in ids[:5]) + more


def read_predictions_strict(
    data: bytes, where: str, max_output_chars: int = MAX_OUTPUT_CHARS
) -> dict[str, str]:
    """``{id: output}`` from predictions JSONL bytes, checked line by line (rules in the module docstring)."""
    out: dict[str, str] = {}
    first: dict[str, int] = {}
    for lineno, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        here = f"{where}: line {lineno}"
        obj = loads_strict(raw, here)
        if not isinstance(obj, dict):
            raise SubmissionError(
                f'{here}: expected an object {{"id": ..., "output": ...}}, got {type(obj).__name__}'
            )
        extra = sorted(set(obj) - _PRED_KEYS)
        if extra:
            raise SubmissionError(
                f"{here}: unknown field(s) {', '.join(map(repr, extra))}; a line holds 'id' and 'output'"
            )
        rid = obj.get("id")
        if not isinstance(rid, str) or not rid.strip():
            raise SubmissionError(f"{here}: field 'id' must be a non-empty string, got {rid!r:.60}")
        if "output" not in obj:
            raise SubmissionError(f"{here}: record {rid!r}: field 'output' is missing")
        output = obj["output"]
        if not isinstance(output, str):
            raise SubmissionError(
                f"{here}: record {rid!r}: field 'output' must be a string, got {type(output).__name__}"
            )
        if len(output) > max_output_chars:
            raise SubmissionError(
                f"{here}: record {rid!r}: field 'output' has {len(output)} characters; at most {max_output_chars}"
            )
        m = XML_DECLARATION.search(output)
        if m:
            raise SubmissionError(
                f"{here}: record {rid!r}: field 'output' holds an XML <!{m.group(1).upper()} declaration; "
                'document types and entities are refused (entity-expansion "XML bomb")'
            )
        if rid in out:
            raise SubmissionError(
                f"{here}: record {rid!r}: field 'id': duplicate id (first on line {first[rid]})"
            )
        out[rid] = output
        first[rid] = lineno
    if not out:
        raise SubmissionError(
            f'{where}: no predictions (expected one {{"id", "output"}} object per line)'
        )
    return out


def check_ids(
    predictions: dict[str, str], split_ids: list[str], where: str, split_label: str
) -> None:
    """Every id of the split exactly once (duplicates are caught while reading), and no other id."""
    known = set(split_ids)
    missing = [i for i in split_ids if i not in predictions]
    extra = [i for i in predictions if i not in known]
    if missing:
        raise SubmissionError(
            f"{where}: field 'id': {len(missing)} record(s) of {split_label} have no prediction: {_shown(missing)}"
        )
    if extra:
        raise SubmissionError(
            f"{where}: field 'id': {len(extra)} id(s) are not in {split_label}: {_shown(extra)}"
        )


def validate_submission(path: str | Path, limits: Limits | None = None) -> ValidatedSubmission:
    """Read and check a submission folder or archive; :class:`SubmissionError` on the first problem."""
    limits = limits or Limits()
    files = read_submission_files(path, limits)
    mwhere = files.where(METADATA_FILE)
    raw = files.files.get(METADATA_FILE)
    if raw is None:
        raise SubmissionError(
            f"{files.source}: no {METADATA_FILE} (found: {', '.join(sorted(files.files))})"
        )
    if len(raw) > limits.max_metadata_bytes:
        raise SubmissionError(
            f"{mwhere}: {len(raw)} bytes is over the {limits.max_metadata_bytes}-byte limit"
        )
    meta = parse_metadata(loads_strict(raw, mwhere), mwhere)

    named = meta.files()
    for key, name in (
        ("predictions", meta.predictions),
        ("gsm8k", meta.gsm8k),
        ("motion", meta.motion),
    ):
        if name and name not in files.files:
            raise SubmissionError(
                f"{mwhere}: field {key!r} names {name!r}, which is not in the submission"
            )
    # Other files (a README, a controller's weights) are carried along but never parsed.
    ignored = sorted(set(files.files) - {METADATA_FILE, *named})

    if meta.predictions is None:  # a motion-only submission
        sub = ValidatedSubmission(files, meta, {}, [], ignored=ignored)
    else:
        split_ids = _dataset_check(meta, mwhere)
        pwhere = files.where(meta.predictions)
        preds = read_predictions_strict(files.files[meta.predictions], pwhere)
        ds = meta.dataset
        check_ids(preds, split_ids, pwhere, f"{ds.name} {ds.version} {ds.split}")
        sub = ValidatedSubmission(files, meta, preds, split_ids, ignored=ignored)
    if meta.gsm8k:
        from ._gsm8k import validate_gsm8k

        sub.extras["gsm8k"] = validate_gsm8k(files.files[meta.gsm8k], files.where(meta.gsm8k))
    if meta.motion:
        from ._motion import validate_motion

        sub.extras["motion"] = validate_motion(
            files.files[meta.motion], files.where(meta.motion), limits
        )
    return sub
