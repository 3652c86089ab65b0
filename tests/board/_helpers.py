"""Helpers for the leaderboard tests: metadata, predictions and submission folders."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from m2m_bench.response import render_response

VERSION = "0.0.1"


def metadata_for(manifest: dict, **overrides) -> dict:
    meta = {
        "format_version": 1,
        "model_name": "Test model",
        "model_revision": "rev-1",
        "model_url": "https://example.org/test-model",
        "parameters": 1000,
        "training_data": "none",
        "trained_on_m2m_train": False,
        "contact": "tester <tester@example.org>",
        "method": "oracle",
        "dataset": {
            "name": "m2m",
            "version": manifest["version"],
            "split": "test",
            "content_hash": manifest["content_hash"],
        },
        "predictions": "predictions.jsonl",
    }
    meta.update(overrides)
    return meta


def predictions_lines(records: list[dict], quality: str = "exact") -> list[dict]:
    """``{"id", "output"}`` lines: the reference answers (``exact``) or a half-wrong variant."""
    out = []
    for i, r in enumerate(records):
        if quality == "exact" or i % 2 == 0:
            text = render_response(r["action"], r["skills"], think="the reference")
        else:
            text = render_response("a person sits down on a chair.", ["sit down"])
        out.append({"id": r["id"], "output": text})
    return out


def write_submission(
    folder: Path, meta: dict, lines: list[dict] | None = None, raw: bytes | None = None
) -> Path:
    """A submission folder with ``metadata.json`` and the predictions (``lines`` or ``raw`` bytes)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metadata.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    if raw is None:
        raw = "".join(json.dumps(line) + "\n" for line in (lines or [])).encode()
    (folder / meta.get("predictions", "predictions.jsonl")).write_bytes(raw)
    return folder


DT = 1 / 30


def motion_episode(steps: int, fell: bool, foot_speed: float) -> dict[str, np.ndarray]:
    """One episode whose metrics are known by hand: constant speed, feet down, 1 cm penetration."""
    t = np.arange(steps) * DT
    body = np.zeros((steps, 15, 3))
    body[:, :, 0] = (foot_speed * t)[:, None]  # every body moves along x at a constant speed
    body[:, :, 2] = 0.5
    contact = np.zeros((steps, 15), dtype=bool)
    contact[:, [11, 14]] = True  # both feet on the floor the whole time
    return {
        "qpos": np.zeros((steps, 35)),
        "qvel": np.zeros((steps, 34)),
        "body_pos": body,
        "floor_contact": contact,
        "penetration": np.full(steps, 0.01),
        "fell": np.array(fell),
    }


def motion_npz(episodes: list[dict], **extra) -> bytes:
    """Episodes as the ``.npz`` a submission carries (``extra`` arrays override or add keys)."""
    arrays = {"dt": np.array(DT), **extra}
    for i, ep in enumerate(episodes):
        arrays.update({f"ep{i}_{k}": v for k, v in ep.items()})
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()
