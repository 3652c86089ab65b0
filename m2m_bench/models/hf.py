"""``hf:<folder or hub id>``: a transformers causal LM, prompted through its chat template.

Prompts are rendered with ``tokenizer.apply_chat_template(..., add_generation_prompt=True)``,
sorted by length and generated in left-padded batches of ``batch_size``. A ``response_prefix``
(assistant-turn prefill, :class:`m2m_bench.prompts.ResponsePrefix`) is appended to the rendered
prompt after the assistant header; the model continues it and each output is the prefix
followed by the decoded continuation. ``stop`` strings end generation (transformers
``stop_strings``); the output is cut before the first one found, or just after it with
``include_stop=True``.

A Hub id is only looked up in the local Hugging Face cache (runs are offline); its revision is
the cached snapshot's commit. A local folder's revision is a content fingerprint of its files
(:func:`m2m_bench.models._fingerprint.folder_fingerprint`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._base import Messages, Model, ModelLoadError, register
from ._fingerprint import folder_fingerprint

#: Used when a tokenizer has no chat template (base models); recorded in the results.
FALLBACK_TEMPLATE = "{role}: {content}\n\n"


def resolve_model_dir(name: str) -> tuple[Path, str]:
    """``(folder, revision)`` for a local folder or a Hub id already in the local HF cache."""
    p = Path(name).expanduser()
    if p.is_dir():
        if not (p / "config.json").is_file():
            raise ModelLoadError(f"{p}: not a transformers model folder (no config.json there)")
        return p.resolve(), "sha256:" + folder_fingerprint(p)[:16]
    if p.exists():
        raise ModelLoadError(f"{p}: is a file, expected a transformers model folder")
    if name.startswith((".", "/", "~")) or name.count("/") > 1 or not name.strip():
        raise ModelLoadError(f"{name}: no such model folder")
    try:
        from huggingface_hub import snapshot_download

        snap = Path(snapshot_download(name, local_files_only=True))
    except Exception:
        raise ModelLoadError(
            f"{name}: no such model folder, and not in the local Hugging Face cache "
            "(runs are offline: download it first or pass a folder)"
        ) from None
    return snap, f"hub:{snap.name}"


def pick_device(device: str | None) -> str:
    import torch

    if device in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


class HFModel(Model):
    """A local transformers model with batched, chat-templated generation."""

    kind = "hf"
    supports_response_prefix = True

    def __init__(
        self,
        name_or_path: str,
        *,
        device: str | None = "auto",
        dtype: str = "auto",
        batch_size: int = 8,
        spec: str | None = None,
        display_name: str | None = None,
        revision: str | None = None,
        **_: Any,
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        folder, rev = resolve_model_dir(name_or_path)
        self.folder = folder
        self.spec = spec or f"hf:{folder}"
        self.name = display_name or folder.name
        self.revision = revision or rev
        self.batch_size = max(1, int(batch_size))
        self.chunk_size = self.batch_size
        self.device = pick_device(device)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
            torch_dtype: Any = dtype if dtype == "auto" else getattr(torch, dtype)
            self.model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch_dtype)
        except (OSError, ValueError) as e:
            raise ModelLoadError(f"{folder}: cannot load the model with transformers: {e}") from None
        self.model.to(self.device).eval()
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.has_chat_template = bool(getattr(self.tokenizer, "chat_template", None))
        if not self.has_chat_template:
            print(
                f"m2m-bench: warning: {folder} has no chat template; prompts use the plain "
                f"fallback {FALLBACK_TEMPLATE!r}",
                file=sys.stderr,
            )

    def render(self, messages: Messages, response_prefix: str = "") -> str:
        """The prompt text for one conversation: chat template + generation prompt (the
        assistant header), then ``response_prefix`` (the start of the assistant's answer)."""
        if self.has_chat_template:
            text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        else:
            body = "".join(
                FALLBACK_TEMPLATE.format(role=m["role"].capitalize(), content=m["content"]) for m in messages
            )
            text = body + "Assistant:"
        return text + response_prefix

    def generate(
        self,
        batch: Sequence[Messages],
        *,
        max_new_tokens: int = 256,
        temperature: float = 0.0,
        top_p: float = 1.0,
        seed: int = 0,
        stop: Sequence[str] | None = None,
        include_stop: bool = False,
        response_prefix: str = "",
        **_: Any,
    ) -> list[str]:
        import torch

        prompts = [self.render(list(m), response_prefix) for m in batch]
        order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
        out: list[str] = [""] * len(prompts)
        gen_kwargs: dict[str, Any] = {
            "max_new_tokens": int(max_new_tokens),
            "pad_token_id": self.tokenizer.pad_token_id,
        }
        if temperature > 0:
            gen_kwargs.update(do_sample=True, temperature=float(temperature), top_p=float(top_p))
            torch.manual_seed(int(seed))
        else:
            gen_kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if stop:
            gen_kwargs.update(stop_strings=list(stop), tokenizer=self.tokenizer)
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            enc = self.tokenizer(
                [prompts[i] for i in idx], return_tensors="pt", padding=True, add_special_tokens=False
            ).to(self.device)
            with torch.inference_mode():
                seq = self.model.generate(**enc, **gen_kwargs)
            new = seq[:, enc["input_ids"].shape[1] :]
            for i, text in zip(idx, self.tokenizer.batch_decode(new, skip_special_tokens=True), strict=True):
                out[i] = response_prefix + _cut(text, stop, include_stop)
        return out

    def info(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder),
            "device": self.device,
            "dtype": str(self.model.dtype).replace("torch.", ""),
            "batch_size": self.batch_size,
            "chat_template": self.has_chat_template,
            "parameters": int(sum(p.numel() for p in self.model.parameters())),
        }

    def close(self) -> None:
        self.model = None  # type: ignore[assignment]


def _cut(text: str, stop: Sequence[str] | None, include: bool = False) -> str:
    """``text`` up to the first stop string: without it, or with it when ``include``."""
    if stop:
        cuts = [(text.find(s), len(s)) for s in stop if s and s in text]
        if cuts:
            at, n = min(cuts)
            return text[: at + n] if include else text[:at]
    return text


@register("hf", "hf:<folder or cached hub id>: a transformers model with its chat template")
def load_hf(rest: str, **options: Any) -> Model:
    """hf:<folder or cached hub id>: a transformers model with its chat template."""
    return HFModel(rest, **options)
