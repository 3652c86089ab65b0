"""What each shipped dataset is: its arrow schema, record validator and card defaults."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from .. import schema as m2m_schema
from ..schema import Violation

Validator = Callable[[Mapping[str, list[dict]], Mapping[str, str]], list[Violation]]


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    schema: pa.Schema
    #: ``validate(records_by_split, file_by_split) -> violations`` over a whole version.
    validate: Validator
    card: dict[str, Any] = field(default_factory=dict)
    #: A config of records that carry ERA-CoT annotations (M2M only).
    era_cot_config: bool = False


def _validate_m2m(splits: Mapping[str, list[dict]], files: Mapping[str, str]) -> list[Violation]:
    seen: dict[str, str] = {}
    out: list[Violation] = []
    for split, records in splits.items():
        out += m2m_schema.validate_records(records, file=files.get(split, split), seen_ids=seen)
    return out


GSM8K_SCHEMA = pa.schema(
    [pa.field("question", pa.string(), nullable=False), pa.field("answer", pa.string(), nullable=False)]
)


def _validate_gsm8k(splits: Mapping[str, list[dict]], files: Mapping[str, str]) -> list[Violation]:
    out = []
    for split, records in splits.items():
        f = files.get(split, split)
        for i, r in enumerate(records):
            for key in ("question", "answer"):
                v = r.get(key) if isinstance(r, Mapping) else None
                if not isinstance(v, str) or not v.strip():
                    out.append(Violation(f, f"#{i}", key, "must be a non-empty string"))
            ans = r.get("answer") if isinstance(r, Mapping) else None
            if isinstance(ans, str) and "####" not in ans:
                out.append(Violation(f, f"#{i}", "answer", "must end with '#### <number>'"))
    return out


SPECS: dict[str, DatasetSpec] = {
    "m2m": DatasetSpec(
        name="m2m",
        schema=m2m_schema.M2M_SCHEMA,
        validate=_validate_m2m,
        era_cot_config=True,
        card={
            "pretty_name": "Motion2Motion open (M2M-open)",
            "license": "cc-by-4.0",
            "language": ["en"],
            "task_categories": ["text-generation"],
            "tags": ["motion", "latent-intent", "reasoning", "humanoid", "m2m-bench"],
        },
    ),
    "gsm8k": DatasetSpec(
        name="gsm8k",
        schema=GSM8K_SCHEMA,
        validate=_validate_gsm8k,
        card={
            "pretty_name": "GSM8K (m2m-bench packaged copy)",
            "license": "mit",
            "language": ["en"],
            "task_categories": ["text-generation"],
            "tags": ["math", "word-problems"],
        },
    ),
}


def get_spec(name: str) -> DatasetSpec:
    try:
        return SPECS[name]
    except KeyError:
        from ..errors import DatasetNotFound

        raise DatasetNotFound(f"no dataset spec for {name!r}; known: {', '.join(SPECS)}") from None
