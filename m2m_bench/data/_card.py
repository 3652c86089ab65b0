"""The dataset card (``README.md`` with YAML front matter, Hugging Face Hub layout)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml


def size_category(n: int) -> str:
    """The Hub's size bucket for ``n`` records."""
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return label
    return "n>1M"


def config_entries(splits: list[str], era_cot_splits: list[str]) -> list[dict[str, Any]]:
    """``configs`` of the card: ``default`` over ``data/``, ``era_cot`` over ``era_cot/``."""
    configs: list[dict[str, Any]] = [
        {
            "config_name": "default",
            "default": True,
            "data_files": [{"split": s, "path": f"data/{s}-*.parquet"} for s in splits],
        }
    ]
    if era_cot_splits:
        configs.append(
            {
                "config_name": "era_cot",
                "data_files": [{"split": s, "path": f"era_cot/{s}-*.parquet"} for s in era_cot_splits],
            }
        )
    return configs


def render_card(
    meta: Mapping[str, Any], num_records: int, splits: list[str], era_cot_splits: list[str], body: str
) -> str:
    front = dict(meta)
    front["size_categories"] = [size_category(num_records)]
    front["configs"] = config_entries(splits, era_cot_splits)
    header = yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=100)
    return f"---\n{header}---\n\n{body.strip()}\n"


def read_card_meta(text: str) -> dict[str, Any]:
    """The YAML front matter of a card."""
    if not text.startswith("---\n"):
        return {}
    end = text.find("\n---", 4)
    return yaml.safe_load(text[4:end]) or {}
