"""``python -m m2m_bench.evaluate``: score any model on M2M (and GSM8K) with the paper's metrics.

::

    python -m m2m_bench.evaluate --model smollm2 --split test
    python -m m2m_bench.evaluate --model hf:./my-model --tasks action,skills,format --limit 50
    python -m m2m_bench.evaluate --model openai:MODEL --base-url http://127.0.0.1:8000/v1 \\
        --tasks action,skills,format,judge --judge-model JUDGE --judge-base-url URL
    python -m m2m_bench.evaluate --model predictions:outputs.jsonl
    python -m m2m_bench.evaluate --model baseline:retrieval
    python -m m2m_bench.evaluate --model smollm2 --tasks gsm8k --limit 100

A run: load the split (checksums verified) -> build the canonical prompt of every record
(:func:`m2m_bench.prompts.build_messages`) -> answer them (outputs already in the generation
cache are reused; new ones are cached chunk by chunk, so an interrupted run resumes) -> score
the outputs with :mod:`m2m_bench.metrics` -> GSM8K through lm-eval if asked -> write the
results JSON (schema in :mod:`m2m_bench._results`) to ``--output-dir`` and print the tables.
``--response-prefix answer`` (the default for ``smollm2`` only; ``hf:`` and ``smollm2`` only)
prefills the assistant turn with ``<answer><action>``, stops generation after ``</answer>`` and
scores prefix + continuation; see :mod:`m2m_bench.prompts` and ``docs/prompt.md``.
Records are taken in split order; ``--limit N`` keeps the first N (and the first N GSM8K test
questions). ``--seed`` seeds sampling (``--temperature > 0``) and the judge's pairwise order.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import M2MError
from .prompts import RESPONSE_PREFIXES

#: Version of the task definitions (which record fields are scored, how prompts are built).
TASK_VERSION = "1"
M2M_TASKS = ("action", "skills", "format", "judge")
ALL_TASKS = (*M2M_TASKS, "gsm8k")
DEFAULT_TASKS = "action,skills,format"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m m2m_bench.evaluate",
        description="Score a model on M2M (action, skills, format, LLM judge) and GSM8K.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--model",
        default="smollm2",
        help="smollm2 | hf:<folder or hub id> | openai:<model> | predictions:<file.jsonl> | baseline:retrieval",
    )
    p.add_argument("--tasks", default=DEFAULT_TASKS, help=f"comma-separated, from: {','.join(ALL_TASKS)}")
    p.add_argument("--dataset", default="m2m", help="shipped dataset name or a version folder")
    p.add_argument("--version", default=None, help="dataset version X.Y.Z (default: newest shipped)")
    p.add_argument("--split", default="test")
    p.add_argument("--limit", type=int, default=None, help="score only the first N records / GSM8K questions")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output-dir", default="results", help="where the results JSON is written")
    g = p.add_argument_group("generation")
    g.add_argument("--max-new-tokens", type=int, default=256)
    g.add_argument("--temperature", type=float, default=0.0, help="0 = greedy")
    g.add_argument("--top-p", type=float, default=1.0)
    g.add_argument("--batch-size", type=int, default=8, help="hf/smollm2: prompts per forward batch")
    g.add_argument("--device", default="auto", help="hf/smollm2: cpu, cuda, auto")
    g.add_argument("--dtype", default="auto", help="hf/smollm2: auto, float32, bfloat16, float16")
    g.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    g.add_argument(
        "--response-prefix",
        choices=tuple(RESPONSE_PREFIXES),
        default=None,
        help="assistant-turn prefill of M2M answers ('answer': start with "
        f"{RESPONSE_PREFIXES['answer'].text!r}, stop after {RESPONSE_PREFIXES['answer'].stop!r}); "
        "hf/smollm2 only (default: answer for smollm2, none for every other model; never used for gsm8k)",
    )
    g.add_argument("--gsm8k-max-new-tokens", type=int, default=256)
    o = p.add_argument_group("OpenAI-compatible endpoints")
    o.add_argument("--base-url", default=None, help="openai: endpoint, e.g. http://127.0.0.1:8000/v1")
    o.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the key")
    o.add_argument("--concurrency", type=int, default=4, help="openai: parallel requests")
    o.add_argument("--max-retries", type=int, default=5, help="openai: retries per request")
    o.add_argument("--model-revision", default=None, help="openai: what the endpoint serves (recorded, cache key)")
    o.add_argument("--extra-body", default=None, help="openai: JSON object sent with every request")
    j = p.add_argument_group("LLM judge (task 'judge')")
    j.add_argument("--judge-model", default=None)
    j.add_argument("--judge-base-url", default=None)
    j.add_argument("--judge-api-key-env", default="OPENAI_API_KEY")
    j.add_argument("--judge-pairwise", action="store_true", help="compare with the reference answer")
    j.add_argument("--judge-concurrency", type=int, default=4)
    j.add_argument("--judge-max-retries", type=int, default=3)
    j.add_argument("--judge-max-tokens", type=int, default=300, help="longest judge reply")
    s = p.add_argument_group("scoring and caching")
    s.add_argument("--encoder", default=None, help="sentence encoder for embedding metrics (default all-MiniLM-L6-v2)")
    s.add_argument("--cache", default=None, help="generation cache file (default ~/.cache/m2m-bench/generations.sqlite)")
    s.add_argument("--no-cache", action="store_true", help="neither read nor write the generation cache")
    s.add_argument("--no-progress", action="store_true", help="hide progress bars")
    s.add_argument("--quiet", action="store_true", help="print only the results path")
    return p


# --------------------------------------------------------------------------- helpers


def parse_tasks(text: str) -> list[str]:
    tasks = [t.strip().lower() for t in text.split(",") if t.strip()]
    if not tasks:
        raise M2MError(f"--tasks is empty; choose from {','.join(ALL_TASKS)}")
    bad = [t for t in tasks if t not in ALL_TASKS]
    if bad:
        raise M2MError(f"unknown task(s) {', '.join(map(repr, bad))} in --tasks; choose from {','.join(ALL_TASKS)}")
    return list(dict.fromkeys(tasks))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:60] or "model"


def _progress(total: int, desc: str, disable: bool, initial: int = 0):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit="item", disable=disable or None, file=sys.stderr, dynamic_ncols=True)


def generate_outputs(
    model: Any,
    records: Sequence[dict],
    gen: Any,
    cache: Any,
    *,
    progress: bool = True,
) -> tuple[list[str], list[bool], int]:
    """``(outputs, from_cache flags, number generated now)`` for ``records``.

    Cacheable models look every prompt up first and write new outputs after each chunk of
    ``model.chunk_size`` prompts, so an interruption loses at most one chunk. With a response
    prefix (``gen.response_prefix``) the model prefills it and each output starts with it; the
    prompt version and the cache key name the prefix.
    """
    from ._cache import request_key
    from .prompts import build_messages, prompt_version

    prefix = gen.prefix
    if prefix.active and not model.supports_response_prefix:
        raise model.response_prefix_error(prefix.name)
    version = prompt_version(prefix)
    messages = [build_messages(r["conversation"]) for r in records]
    gen_kwargs = gen.model_kwargs()
    if not model.cacheable:
        outs = model.predict(records, messages, **gen_kwargs)
        return list(outs), [False] * len(outs), len(outs)
    params = gen.key_dict()
    keys = [request_key(model.spec, model.revision, version, m, params) for m in messages]
    found = cache.get_many(keys) if cache is not None else {}
    outputs: list[str | None] = [found.get(k) for k in keys]
    from_cache = [o is not None for o in outputs]
    todo = [i for i, o in enumerate(outputs) if o is None]
    with _progress(len(records), f"generate {model.name}", not progress, initial=len(records) - len(todo)) as bar:
        step = max(1, int(model.chunk_size))
        for start in range(0, len(todo), step):
            idx = todo[start : start + step]
            t0 = time.perf_counter()
            outs = model.predict([records[i] for i in idx], [messages[i] for i in idx], **gen_kwargs)
            if len(outs) != len(idx):
                raise M2MError(f"{model.spec}: returned {len(outs)} outputs for {len(idx)} prompts")
            for i, o in zip(idx, outs, strict=True):
                outputs[i] = o if isinstance(o, str) else ""
            if cache is not None:
                cache.put_many(
                    [(keys[i], outputs[i]) for i in idx],
                    model=model.spec,
                    revision=model.revision,
                    prompt_version=version,
                    params=params,
                    seconds=(time.perf_counter() - t0) / len(idx),
                )
            bar.update(len(idx))
    return [o or "" for o in outputs], from_cache, len(todo)


def resolve_response_prefix(requested: str | None, model: Any) -> str:
    """The response prefix of a run: ``requested`` (``--response-prefix``), else the model's
    default (``answer`` for ``smollm2``, ``none`` otherwise). Raises when a prefix is asked of
    a model that cannot prefill (``openai:``, stored predictions, baselines)."""
    name = requested if requested is not None else getattr(model, "default_response_prefix", "none")
    from .prompts import get_response_prefix

    if get_response_prefix(name).active and not model.supports_response_prefix:
        raise model.response_prefix_error(name)
    return name


def _judge_config(args: argparse.Namespace):
    from .metrics import JudgeConfig
    from .models.openai_api import check_endpoint, normalize_base_url

    if not args.judge_model:
        raise M2MError("the judge task needs --judge-model (and --judge-base-url for a local or other endpoint)")
    cfg = JudgeConfig(
        model=args.judge_model,
        base_url=args.judge_base_url,
        api_key_env=args.judge_api_key_env,
        pairwise=args.judge_pairwise,
        concurrency=max(1, args.judge_concurrency),
        max_retries=max(0, args.judge_max_retries),
        max_tokens=max(1, args.judge_max_tokens),
        seed=args.seed,
    )
    if args.judge_base_url:
        check_endpoint(normalize_base_url(args.judge_base_url))  # fail before any generation
    return cfg


def _model_options(args: argparse.Namespace, dataset: str, version: str | None) -> dict[str, Any]:
    extra_body = None
    if args.extra_body:
        try:
            extra_body = json.loads(args.extra_body)
        except json.JSONDecodeError as e:
            raise M2MError(f"--extra-body is not valid JSON: {e.msg}") from None
        if not isinstance(extra_body, dict):
            raise M2MError("--extra-body must be a JSON object")
    return {
        "base_url": args.base_url,
        "api_key_env": args.api_key_env,
        "concurrency": args.concurrency,
        "max_retries": args.max_retries,
        "model_revision": args.model_revision,
        "extra_body": extra_body,
        "device": args.device,
        "dtype": args.dtype,
        "batch_size": args.batch_size,
        "dataset": dataset,
        "version": version,
        "encoder": args.encoder,
    }


def _sample_entries(records, outputs, from_cache, rows_by_task, model) -> list[dict[str, Any]]:
    from .response import parse_response

    neighbours = getattr(model, "last_neighbours", None) or []
    out = []
    for i, (rec, text) in enumerate(zip(records, outputs, strict=True)):
        parsed = parse_response(text)
        scores: dict[str, Any] = {}
        for rows in rows_by_task.values():
            scores.update(rows[i])
        entry: dict[str, Any] = {
            "id": rec["id"],
            "prediction": text,
            "cached": bool(from_cache[i]),
            "parsed": {
                "action": parsed.action,
                "skills": list(parsed.skills),
                "valid": parsed.valid,
                "errors": list(parsed.errors[:10]),
            },
            "scores": scores,
        }
        if i < len(neighbours):
            entry["neighbour"] = neighbours[i]
        out.append(entry)
    return out


# --------------------------------------------------------------------------- the run


def run(args: argparse.Namespace) -> tuple[dict[str, Any], Path]:
    """Run one evaluation; returns ``(results, path written)``. Raises :class:`M2MError`."""
    from . import metrics
    from ._cache import GenerationCache, default_cache_path
    from ._records import load_records
    from ._results import SCHEMA, SCHEMA_VERSION, config_hash, environment, now_iso, write_results
    from .models import GenerationParams, load_model
    from .prompts import prompt_version

    t_start = time.perf_counter()
    timings: dict[str, Any] = {}
    tasks = parse_tasks(args.tasks)
    m2m_tasks = [t for t in tasks if t in M2M_TASKS]
    if args.limit is not None and args.limit < 1:
        raise M2MError(f"--limit must be >= 1, got {args.limit}")
    gen = GenerationParams(
        max_new_tokens=args.max_new_tokens, temperature=args.temperature, top_p=args.top_p, seed=args.seed
    )
    judge_cfg = _judge_config(args) if "judge" in tasks else None
    if args.threads:
        import torch

        torch.set_num_threads(max(1, args.threads))

    # data
    t0 = time.perf_counter()
    from . import data as m2m_data

    manifest = m2m_data.dataset_info(args.dataset, args.version)
    version = manifest["version"]
    records: list[dict] = []
    split_ids: list[str] = []
    if m2m_tasks:
        records, manifest = load_records(args.dataset, version, args.split)
        split_ids = [r["id"] for r in records]
        if args.limit is not None:
            records = records[: args.limit]
        if not records:
            raise M2MError(f"split {args.split!r} of {args.dataset} {version} has no records")
    timings["load_data"] = time.perf_counter() - t0

    # model
    t0 = time.perf_counter()
    model = load_model(args.model, **_model_options(args, args.dataset, version))
    timings["load_model"] = time.perf_counter() - t0
    if "gsm8k" in tasks and not model.can_generate:
        raise M2MError(f"task gsm8k needs a model that generates; {model.spec} cannot answer new prompts")
    if m2m_tasks and hasattr(model, "check_ids"):
        model.check_ids(split_ids, f"split {args.split!r} of {args.dataset} {version}")
    gen = dataclasses.replace(gen, response_prefix=resolve_response_prefix(args.response_prefix, model))

    cache = None
    if not args.no_cache and model.cacheable:
        cache = GenerationCache(args.cache or default_cache_path())
    show = not (args.no_progress or args.quiet)
    summary: dict[str, Any] = {}
    samples: list[dict[str, Any]] = []
    versions: dict[str, Any] = {}
    gsm_result: dict[str, Any] | None = None
    counts = {"generated": 0, "cached": 0}
    try:
        if m2m_tasks:
            t0 = time.perf_counter()
            outputs, from_cache, n_new = generate_outputs(model, records, gen, cache, progress=show)
            timings["generate"] = time.perf_counter() - t0
            counts["generated"] += n_new if model.cacheable else 0
            counts["cached"] += sum(from_cache)

            t0 = time.perf_counter()
            opts: dict[str, Any] = {"records_file": f"{args.dataset} {version} {args.split}", "progress": show}
            if judge_cfg is not None:
                opts["judge"] = judge_cfg
            rows_by_task = metrics.score_tasks(m2m_tasks, outputs, records, encoder=args.encoder, **opts)
            timings["score"] = time.perf_counter() - t0
            for task in m2m_tasks:
                summary[task] = metrics.aggregate(task, rows_by_task[task])
                versions[task] = {
                    "task": TASK_VERSION,
                    "metrics": metrics.metric_versions(task, encoder=args.encoder, **opts),
                }
            samples = _sample_entries(records, outputs, from_cache, rows_by_task, model)

        if "gsm8k" in tasks:
            from . import gsm8k

            t0 = time.perf_counter()
            total = gsm8k_total(args.limit)
            with _progress(total, f"gsm8k {model.name}", not show) as bar:
                gsm_result = gsm8k.evaluate_gsm8k(
                    model,
                    limit=args.limit,
                    cache=cache,
                    seed=args.seed,
                    max_new_tokens=args.gsm8k_max_new_tokens,
                    progress=bar.update,
                )
            timings["gsm8k"] = time.perf_counter() - t0
            summary["gsm8k"] = gsm_result["metrics"]
            versions["gsm8k"] = {
                "task": f"{gsm_result['task']}@{gsm_result['task_version']}+runner{gsm_result['runner_version']}",
                "metrics": {f"exact_match,{f}": gsm_result["task_version"] for f in gsm8k.FILTERS},
            }
            counts["generated"] += gsm_result["generated"]
            counts["cached"] += gsm_result["cached"]
    finally:
        info = model.info()
        model.close()
        if cache is not None:
            cache.close()

    config: dict[str, Any] = {
        "dataset": (
            {
                "name": args.dataset,
                "version": version,
                "content_hash": manifest["content_hash"],
                "split": args.split,
                "split_size": len(split_ids),
                "limit": args.limit,
                "n": len(records),
            }
            if m2m_tasks
            else None
        ),
        "tasks": tasks,
        "seed": args.seed,
        "model": {"spec": model.spec, "name": model.name, "kind": model.kind, "revision": model.revision},
        "prompt_version": prompt_version(gen.prefix) if m2m_tasks else None,
        "generation": gen.as_dict() if model.cacheable else None,
        "encoder": args.encoder or "all-MiniLM-L6-v2",
        "judge": (
            {
                "model": judge_cfg.model,
                "base_url": judge_cfg.base_url,
                "rubric_version": judge_cfg.rubric_version,
                "pairwise": judge_cfg.pairwise,
                "identity": judge_cfg.identity,
            }
            if judge_cfg is not None
            else None
        ),
        "gsm8k": (
            {
                "limit": args.limit,
                "num_fewshot": gsm_result["num_fewshot"],
                "max_new_tokens": args.gsm8k_max_new_tokens,
                "dataset_version": gsm_result["dataset"]["version"],
                "content_hash": gsm_result["dataset"]["content_hash"],
            }
            if gsm_result is not None
            else None
        ),
        "versions": versions,
    }
    chash = config_hash(config)
    timings["total"] = time.perf_counter() - t_start
    results: dict[str, Any] = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "created": now_iso(),
        "config_hash": chash,
        "config": config,
        "model_info": info,
        "environment": environment(),
        "timings": {**{k: round(v, 3) for k, v in timings.items()}, **counts},
        "summary": summary,
        "samples": samples,
    }
    if gsm_result is not None:
        results["gsm8k"] = {k: gsm_result[k] for k in ("n", "task", "task_version", "dataset", "samples")}
    path = Path(args.output_dir) / f"{_slug(model.name)}-{chash[:12]}.json"
    write_results(path, results)
    return results, path


def gsm8k_total(limit: int | None) -> int:
    from . import data

    n = int(data.dataset_info("gsm8k")["splits"].get("test", 0))
    return min(n, limit) if limit else n


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 2 bad input or failed run, 130 interrupted)."""
    args = build_parser().parse_args(None if argv is None else list(argv))
    try:
        results, path = run(args)
    except M2MError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "interrupted: outputs generated so far are in the generation cache; "
            "run the same command again to resume",
            file=sys.stderr,
        )
        return 130
    if args.quiet:
        print(path)
        return 0
    from ._report import render_tables

    render_tables([results])
    t = results["timings"]
    gen = results["config"].get("generation") or {}
    prefix = (gen.get("response_prefix") or {}).get("name", "none")
    print(
        f"results: {path}  ({t['total']:.1f} s; {t['generated']} generated, {t['cached']} from cache"
        + (f"; response prefix {prefix})" if gen else ")")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
