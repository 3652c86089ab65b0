"""Content fingerprints of local model folders and files (the ``revision`` of a local model).

``folder_fingerprint(dir) = sha256( for f in sorted(files): relpath(f) + "\\0" + sha256(f) + "\\n" )``
over the files that define a model (weights, configs, tokenizer, chat template); other files
(READMEs, images, training logs) are left out. Hashing a large file costs a read of it, so
each file's digest is memoized in ``<cache>/fingerprints.json`` keyed by path, size and mtime.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

_MODEL_SUFFIXES = (".safetensors", ".bin", ".json", ".model", ".jinja", ".txt", ".gguf", ".tiktoken", ".py")
_SKIP_NAMES = {"README.md", "m2m_bench_source.json", "trainer_state.json", "training_args.bin"}
_LOCK = threading.Lock()


def _memo_path() -> Path:
    from .smollm2 import cache_root

    return cache_root() / "fingerprints.json"


def _load_memo() -> dict[str, str]:
    p = _memo_path()
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _save_memo(memo: dict[str, str]) -> None:
    p = _memo_path()
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(memo, sort_keys=True), encoding="utf-8")
        os.replace(tmp, p)
    except OSError:
        pass  # a memo is an optimisation only


def file_sha256(path: str | Path, memo: dict[str, str] | None = None) -> str:
    """sha256 of a file's bytes (memoized by absolute path, size and mtime when ``memo`` given)."""
    p = Path(path).resolve()
    st = p.stat()
    key = f"{p}|{st.st_size}|{st.st_mtime_ns}"
    if memo is not None and key in memo:
        return memo[key]
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    digest = h.hexdigest()
    if memo is not None:
        memo[key] = digest
    return digest


def folder_fingerprint(folder: str | Path) -> str:
    """The content fingerprint of a model folder (formula in the module docstring)."""
    root = Path(folder).resolve()
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.suffix in _MODEL_SUFFIXES
        and p.name not in _SKIP_NAMES
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    with _LOCK:
        memo = _load_memo()
        n = len(memo)
        h = hashlib.sha256()
        for p in files:
            h.update(f"{p.relative_to(root).as_posix()}\0{file_sha256(p, memo)}\n".encode())
        if len(memo) != n:
            _save_memo(memo)
    return h.hexdigest()
