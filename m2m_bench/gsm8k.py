"""GSM8K accuracy through lm-eval (the paper's Table 4 metric), offline.

The task is ``m2m_gsm8k`` from :mod:`m2m_bench.lm_eval_tasks`: lm-eval's own ``gsm8k`` task
(5-shot ``Question: ...\\nAnswer:`` prompt, stop strings, greedy) reading the GSM8K copy
shipped with m2m-bench. Accuracy is lm-eval's ``exact_match`` after each of its two filters:

* **strict-match**: the number after ``#### `` in the answer (the format of the few-shot
  examples), ``regex "#### (\\-?[0-9\\.\\,]+)"``;
* **flexible-extract**: the last number anywhere in the answer,
  ``regex "(-?[$0-9.,]{2,})|(-?[0-9]+)"``, last match.

``exact_match`` compares case-insensitively after removing ``,``, ``$``, everything up to
``#### `` and a final ``.``; accuracy is the mean over questions.

The harness's models answer chat prompts, so the few-shot examples are sent as a multi-turn
chat (lm-eval's ``apply_chat_template=True, fewshot_as_multiturn=True``), each example a user
question and an assistant answer. Requests go through :class:`HarnessLM`, an lm-eval ``LM``
that forwards them to any generating :class:`~m2m_bench.models.Model` and keeps its answers
in the generation cache (prompt version ``lm-eval:m2m_gsm8k:runner<N>``), so an
interrupted GSM8K run resumes too.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from .errors import M2MError

TASK = "m2m_gsm8k"
NUM_FEWSHOT = 5
FILTERS = ("strict-match", "flexible-extract")
#: Version of how this module runs the task (chat multiturn, cache keys); results record it.
RUNNER_VERSION = "1"


def _lm_class():
    from lm_eval.api.model import LM

    class HarnessLM(LM):
        """An lm-eval ``LM`` answering ``generate_until`` requests with a harness model."""

        def __init__(
            self,
            model: Any,
            *,
            cache: Any = None,
            max_new_tokens: int = 256,
            chunk_size: int | None = None,
            progress: Callable[[int], None] | None = None,
            prompt_tag: str = "chat",
        ) -> None:
            super().__init__()
            self.model = model
            self.cache = cache
            self.max_new_tokens = int(max_new_tokens)
            self.chunk_size = int(chunk_size or getattr(model, "chunk_size", 8) or 8)
            self.progress = progress
            self.prompt_version = f"lm-eval:{prompt_tag}"
            self.generated = 0
            self.cached = 0

        # lm-eval calls these when apply_chat_template=True: the "prompt" we hand back is the
        # JSON of the messages, decoded again in generate_until.
        @property
        def tokenizer_name(self) -> str:
            return f"m2m-bench:{self.model.spec}"

        def chat_template(self, chat_template: bool | str = False) -> str:
            return "m2m-bench-messages-json"

        def apply_chat_template(self, chat_history: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
            return json.dumps([{"role": m["role"], "content": m["content"]} for m in chat_history])

        def loglikelihood(self, requests):  # pragma: no cover - not used by generate tasks
            raise M2MError("the harness's lm-eval adapter only supports generate_until tasks")

        def loglikelihood_rolling(self, requests):  # pragma: no cover
            raise M2MError("the harness's lm-eval adapter only supports generate_until tasks")

        def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
            from ._cache import request_key

            jobs = []
            for req in requests:
                context, gen_kwargs = req.args
                try:
                    messages = json.loads(context)
                except json.JSONDecodeError:
                    messages = [{"role": "user", "content": context}]
                kw = dict(gen_kwargs or {})
                until = kw.get("until") or []
                until = [until] if isinstance(until, str) else list(until)
                params = {
                    "max_new_tokens": int(kw.get("max_gen_toks", self.max_new_tokens)),
                    "do_sample": False,
                    "stop": until,
                }
                key = request_key(self.model.spec, self.model.revision, self.prompt_version, messages, params)
                jobs.append((key, messages, params))
            found = self.cache.get_many([k for k, _, _ in jobs]) if self.cache is not None else {}
            out = [found.get(k) for k, _, _ in jobs]
            # identical requests (e.g. the three M2M tasks send the same prompts) run once
            first: dict[str, int] = {}
            todo = []
            for i, o in enumerate(out):
                if o is None and jobs[i][0] not in first:
                    first[jobs[i][0]] = i
                    todo.append(i)
            self.cached += len(out) - len(todo)
            if self.progress:
                self.progress(len(out) - len(todo))
            for start in range(0, len(todo), self.chunk_size):
                idx = todo[start : start + self.chunk_size]
                params = jobs[idx[0]][2]
                # requests of one task share their generation kwargs
                t0 = time.perf_counter()
                texts = self.model.generate(
                    [jobs[i][1] for i in idx],
                    max_new_tokens=params["max_new_tokens"],
                    temperature=0.0,
                    stop=params["stop"],
                )
                texts = [_cut(t, params["stop"]) for t in texts]
                for i, t in zip(idx, texts, strict=True):
                    out[i] = t
                if self.cache is not None:
                    self.cache.put_many(
                        [(jobs[i][0], t) for i, t in zip(idx, texts, strict=True)],
                        model=self.model.spec,
                        revision=self.model.revision,
                        prompt_version=self.prompt_version,
                        params=params,
                        seconds=(time.perf_counter() - t0) / max(1, len(idx)),
                    )
                self.generated += len(idx)
                if self.progress:
                    self.progress(len(idx))
            for i, o in enumerate(out):
                if o is None:
                    out[i] = out[first[jobs[i][0]]]
            return [o or "" for o in out]

    return HarnessLM


def _cut(text: str, stop: Sequence[str]) -> str:
    cuts = [text.find(s) for s in stop if s and s in text]
    return text[: min(cuts)] if cuts else text


def evaluate_gsm8k(
    model: Any,
    *,
    limit: int | None = None,
    cache: Any = None,
    seed: int = 0,
    max_new_tokens: int = 256,
    progress: Callable[[int], None] | None = None,
    dataset_version: str | None = None,
) -> dict[str, Any]:
    """Run ``m2m_gsm8k`` on ``model``; returns accuracies, versions and per-question samples.

    ``{"metrics": {"strict-match": acc, "flexible-extract": acc}, "n": questions,
    "task_version": ..., "dataset": {...}, "samples": [{doc_id, question, target, prediction,
    strict-match, flexible-extract}], "generated": n, "cached": n}``.
    """
    if not getattr(model, "can_generate", True):
        raise M2MError(f"gsm8k needs a model that generates; {model.spec} only has stored/baseline answers")
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    from . import data
    from .lm_eval_tasks import PATH

    for name in ("lm-eval", "lm_eval"):
        logging.getLogger(name).setLevel(logging.ERROR)
    manifest = data.dataset_info("gsm8k", dataset_version)
    lm = _lm_class()(
        model, cache=cache, max_new_tokens=max_new_tokens, progress=progress, prompt_tag=f"{TASK}:runner{RUNNER_VERSION}"
    )
    tm = TaskManager(include_path=PATH, include_defaults=False, metadata={"dataset_version": manifest["version"]})
    res = simple_evaluate(
        model=lm,
        tasks=[TASK],
        num_fewshot=NUM_FEWSHOT,
        limit=limit,
        task_manager=tm,
        apply_chat_template=True,
        fewshot_as_multiturn=True,
        log_samples=True,
        bootstrap_iters=0,
        random_seed=seed,
        numpy_random_seed=seed,
        torch_random_seed=seed,
        fewshot_random_seed=1234,  # lm-eval's default: the same few-shot draws as lm-eval runs
        verbosity="ERROR",
    )
    if res is None:  # pragma: no cover - only on non-zero ranks
        raise M2MError("lm-eval returned no results")
    task_res = res["results"][TASK]
    metrics = {f: float(task_res[f"exact_match,{f}"]) for f in FILTERS}
    samples = _per_sample(res["samples"][TASK])
    task_version = str(res.get("versions", {}).get(TASK, ""))
    return {
        "metrics": metrics,
        "n": int(res.get("n-samples", {}).get(TASK, {}).get("effective", len(samples))),
        "num_fewshot": NUM_FEWSHOT,
        "task": TASK,
        "task_version": task_version,
        "runner_version": RUNNER_VERSION,
        "dataset": {"name": "gsm8k", "version": manifest["version"], "content_hash": manifest["content_hash"]},
        "samples": samples,
        "generated": lm.generated,
        "cached": lm.cached,
    }


def _per_sample(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per question: the raw answer and, per filter, the extracted answer and its
    exact-match score (lm-eval logs one sample per question and filter)."""
    by_doc: dict[int, dict[str, Any]] = {}
    for s in samples:
        d = int(s["doc_id"])
        entry = by_doc.get(d)
        if entry is None:
            resps = s.get("resps") or [[""]]
            entry = by_doc[d] = {
                "doc_id": d,
                "question": s["doc"]["question"],
                "target": s["target"],
                "prediction": resps[0][0] if resps and resps[0] else "",
            }
        f = s.get("filter")
        if f in FILTERS:
            fr = s.get("filtered_resps")
            entry[f] = float(s["exact_match"])
            entry[f"{f}.extracted"] = fr[0] if isinstance(fr, list) and fr else fr
    return [by_doc[d] for d in sorted(by_doc)]
