"""The submission metadata file (``metadata.json``), format version 1: its fields and checks.

A submission folder or archive holds ``metadata.json`` and the files it names::

    {
      "format_version": 1,
      "model_name": "SmolLM2-135M-Instruct zero-shot",
      "model_revision": "gguf-sha256:b179c9523d0e6a0f+conv1",
      "model_url": "https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct",
      "parameters": 134515008,
      "training_data": "SmolLM2 pre-training and instruction data; nothing from M2M",
      "trained_on_m2m_train": false,
      "contact": "m2m-bench team <https://github.com/...>",
      "method": "zero-shot",
      "divergence": null,
      "dataset": {"name": "m2m", "version": "0.1.0", "split": "test",
                  "content_hash": "2ea59308...c139c1"},
      "predictions": "predictions.jsonl",
      "gsm8k": null,
      "motion": null,
      "notes": "free text"
    }

:data:`FIELDS` lists every field with its rule; unknown fields are refused, so a typo never
passes silently. Self-reported scores have no field at all: the leaderboard computes every
number it shows. A motion-only submission (a motion controller) has ``"predictions": null``,
no ``dataset`` and no ``gsm8k``, and names its ``motion`` file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ._errors import SubmissionError

METADATA_FILE = "metadata.json"
FORMAT_VERSION = 1
#: Splits a submission may be scored on (each gets its own table).
RANKED_SPLITS = ("test", "validation")
#: Largest accepted parameter count (10 trillion).
MAX_PARAMETERS = 10**13
DIVERGENCES = ("kl", "js")

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_URL = re.compile(r"^https?://[^\s<>\"']+$")
_MEMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")

#: field -> (required, one-line rule). The single description of the format; docs quote it.
FIELDS: dict[str, tuple[bool, str]] = {
    "format_version": (True, f"integer, must be {FORMAT_VERSION}"),
    "model_name": (True, "string, 1-120 characters: the name shown on the board"),
    "model_revision": (
        False,
        "string up to 200 characters: commit, tag or checksum of the weights",
    ),
    "model_url": (
        False,
        "http(s) URL up to 500 characters (model_revision or model_url is required)",
    ),
    "parameters": (True, f"integer, 1 to {MAX_PARAMETERS}: the model's parameter count"),
    "training_data": (
        True,
        "string, 1-2000 characters: the data the model was trained or tuned on",
    ),
    "trained_on_m2m_train": (True, "true or false: whether any M2M train record was used"),
    "contact": (True, "string, 1-200 characters: a name with an e-mail address or URL"),
    "method": (False, "string up to 60 characters, e.g. zero-shot, retrieval, SFT, GRPO"),
    "divergence": (False, '"kl", "js" or null: the policy-regularizing divergence of a GRPO run'),
    "dataset": (
        True,
        "object {name, version, split, content_hash} naming the scored dataset version "
        "(absent in a motion-only submission)",
    ),
    "predictions": (
        True,
        'member name of the predictions JSONL ({"id", "output"} per line); '
        "null in a motion-only submission",
    ),
    "gsm8k": (False, "member name of GSM8K predictions JSONL, or null"),
    "motion": (False, "member name of motion episodes (.npz), or null"),
    "notes": (False, "string up to 2000 characters"),
}
DATASET_FIELDS: dict[str, str] = {
    "name": "dataset name, e.g. m2m",
    "version": "released version X.Y.Z",
    "split": f"one of {', '.join(RANKED_SPLITS)}",
    "content_hash": "the version's content hash (64 lowercase hex digits, `m2m-bench data info`)",
}


@dataclass(frozen=True)
class DatasetRef:
    name: str
    version: str
    split: str
    content_hash: str


@dataclass(frozen=True)
class Metadata:
    """A checked ``metadata.json``; ``raw`` is the parsed object as submitted."""

    model_name: str
    model_revision: str | None
    model_url: str | None
    parameters: int
    training_data: str
    trained_on_m2m_train: bool
    contact: str
    method: str | None
    divergence: str | None
    dataset: DatasetRef | None  # None: a motion-only submission
    predictions: str | None
    gsm8k: str | None
    motion: str | None
    notes: str | None
    raw: dict[str, Any]

    def files(self) -> list[str]:
        """The member files this metadata names."""
        return [f for f in (self.predictions, self.gsm8k, self.motion) if f]


def _text(
    obj: dict, key: str, where: str, max_len: int, required: bool, min_len: int = 1
) -> str | None:
    v = obj.get(key)
    if v is None:
        if required:
            raise SubmissionError(
                f"{where}: field {key!r} is missing ({FIELDS.get(key, (0, ''))[1] or DATASET_FIELDS.get(key, '')})"
            )
        return None
    if not isinstance(v, str):
        raise SubmissionError(f"{where}: field {key!r} must be a string, got {type(v).__name__}")
    s = v.strip()
    if len(s) < min_len:
        raise SubmissionError(f"{where}: field {key!r} is empty")
    if len(s) > max_len:
        raise SubmissionError(
            f"{where}: field {key!r} has {len(s)} characters; at most {max_len} are allowed"
        )
    if _CONTROL.search(s):
        raise SubmissionError(f"{where}: field {key!r} holds control characters")
    return s


def _member(obj: dict, key: str, where: str, required: bool) -> str | None:
    v = _text(obj, key, where, 200, required)
    if v is None:
        return None
    if not _MEMBER.match(v) or ".." in v.split("/"):
        raise SubmissionError(
            f"{where}: field {key!r} = {v!r} must be a relative file name inside the submission "
            "(letters, digits, '.', '_', '-', '/' between folders)"
        )
    return v


def _dataset(obj: dict, where: str) -> DatasetRef:
    ds = obj.get("dataset")
    if not isinstance(ds, dict):
        raise SubmissionError(
            f"{where}: field 'dataset' must be an object {{name, version, split, content_hash}}"
        )
    dwhere = f"{where}: field 'dataset'"
    extra = sorted(set(ds) - set(DATASET_FIELDS))
    if extra:
        raise SubmissionError(f"{dwhere}: unknown field(s) {', '.join(map(repr, extra))}")
    dname = _text(ds, "name", dwhere, 100, True)
    dversion = _text(ds, "version", dwhere, 40, True)
    dsplit = _text(ds, "split", dwhere, 40, True)
    dhash = _text(ds, "content_hash", dwhere, 64, True)
    if dsplit not in RANKED_SPLITS:
        raise SubmissionError(
            f"{dwhere}: split {dsplit!r} is not ranked; use one of {', '.join(RANKED_SPLITS)}"
        )
    if not _HEX64.match(dhash or ""):
        raise SubmissionError(f"{dwhere}: content_hash {dhash!r} is not 64 lowercase hex digits")

    return DatasetRef(dname, dversion, dsplit, dhash)


def parse_metadata(obj: Any, where: str) -> Metadata:
    """Check a parsed ``metadata.json`` against :data:`FIELDS`; raise :class:`SubmissionError`."""
    if not isinstance(obj, dict):
        raise SubmissionError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    unknown = sorted(set(obj) - set(FIELDS))
    if unknown:
        raise SubmissionError(
            f"{where}: unknown field(s) {', '.join(map(repr, unknown))}; known: {', '.join(FIELDS)}"
        )
    fv = obj.get("format_version")
    if fv is None:
        raise SubmissionError(
            f"{where}: field 'format_version' is missing (must be {FORMAT_VERSION})"
        )
    if type(fv) is not int or fv != FORMAT_VERSION:
        raise SubmissionError(
            f"{where}: field 'format_version' is {fv!r}; this m2m-bench reads {FORMAT_VERSION}"
        )

    params = obj.get("parameters")
    if params is None:
        raise SubmissionError(f"{where}: field 'parameters' is missing ({FIELDS['parameters'][1]})")
    if isinstance(params, float) and params.is_integer():
        params = int(params)
    if type(params) is not int:
        raise SubmissionError(f"{where}: field 'parameters' must be an integer, got {params!r}")
    if not 1 <= params <= MAX_PARAMETERS:
        raise SubmissionError(
            f"{where}: field 'parameters' = {params} is out of range (1 to {MAX_PARAMETERS})"
        )

    trained = obj.get("trained_on_m2m_train")
    if not isinstance(trained, bool):
        raise SubmissionError(
            f"{where}: field 'trained_on_m2m_train' must be true or false, got {trained!r}"
        )

    url = _text(obj, "model_url", where, 500, False)
    if url is not None and not _URL.match(url):
        raise SubmissionError(f"{where}: field 'model_url' = {url!r} is not an http(s) URL")
    revision = _text(obj, "model_revision", where, 200, False)
    if revision is None and url is None:
        raise SubmissionError(
            f"{where}: give 'model_revision' or 'model_url' (what exactly was evaluated)"
        )

    div = obj.get("divergence")
    if div is not None and div not in DIVERGENCES:
        raise SubmissionError(
            f"{where}: field 'divergence' = {div!r}; expected one of {', '.join(DIVERGENCES)} or null"
        )

    motion_only = obj.get("predictions") is None and obj.get("motion") is not None
    if motion_only:
        if obj.get("dataset") is not None or obj.get("gsm8k") is not None:
            raise SubmissionError(
                f"{where}: a motion-only submission (no 'predictions') has no 'dataset' or 'gsm8k'"
            )
        dataset = None
    else:
        dataset = _dataset(obj, where)
    meta = Metadata(
        model_name=_text(obj, "model_name", where, 120, True),
        model_revision=revision,
        model_url=url,
        parameters=params,
        training_data=_text(obj, "training_data", where, 2000, True),
        trained_on_m2m_train=trained,
        contact=_text(obj, "contact", where, 200, True),
        method=_text(obj, "method", where, 60, False),
        divergence=div,
        dataset=dataset,
        predictions=_member(obj, "predictions", where, not motion_only),
        gsm8k=_member(obj, "gsm8k", where, False),
        motion=_member(obj, "motion", where, False),
        notes=_text(obj, "notes", where, 2000, False, min_len=0),
        raw=obj,
    )
    names = meta.files()
    if len(set(names)) != len(names):
        raise SubmissionError(
            f"{where}: 'predictions', 'gsm8k' and 'motion' must name different files"
        )
    if METADATA_FILE in names:
        raise SubmissionError(f"{where}: a data file cannot be {METADATA_FILE}")
    return meta
