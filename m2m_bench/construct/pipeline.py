"""Running the stages: order, retries, self-consistency samples, signatures and resume.

For each selected stage (order :data:`~m2m_bench.construct.stages.STAGE_ORDER`) and each
record still in play, :func:`run_stage` asks for ``samples`` answers. An unusable answer is
retried with the error shown to the model (the bad answer and a repair turn are appended),
up to ``max_attempts`` answers per sample; a sample that runs out is a failed sample,
recorded against the record with every error seen. The stage then combines the usable
samples (voting, pooling, thresholding); a record whose stage fails is dropped with the
reason counted (or, when its source brings its own action and skills, kept without
``era_cot``). Nothing here raises on a bad answer: only a backend that cannot answer at all
stops the run, and every answer so far is in the cache.

**Signatures.** A stage's signature is ``sha256`` of its name, version, prompt, resolved
parameters, the backend kind and model, the taxonomy and the previous stage's signature.
Each record's stage result is stored under ``(signature, record key)``. With ``--resume``
stored results are reused, so a changed stage (new prompt, version, parameter) re-runs only
itself and the stages after it; without ``--resume`` every stage is recomputed from the call
cache (no call is repeated either way).
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import M2MError
from .backends import PENDING, CallRejected
from .cache import CallCache, canonical
from .config import ConstructConfig
from .llm import LLM, CallStats
from .parsing import ParseError
from .sources import InputSpec, SourceRecord
from .stages import (
    DEFAULT_TAXONOMY,
    ERA_COT_STAGES,
    Item,
    Stage,
    StageFailure,
    StageParams,
    Taxonomy,
    corpus_sample,
    load_taxonomy,
    taxonomy_from_dict,
)
from .stages._base import repair_message

#: Records whose samples are resolved together (bounds memory; results are stored per chunk).
CHUNK = 64


@dataclass
class Context:
    """What stages read besides the record."""

    taxonomy: Taxonomy
    corpus: list[str] = field(default_factory=list)
    #: Summarize records that bring their own action and skills too (``summarize.authored=compare``):
    #: the record keeps its own, the summary is kept for comparison.
    compare_authored: bool = False


@dataclass
class StageReport:
    """What one stage did in this run."""

    name: str
    signature: str
    params: StageParams
    records: int = 0
    ok: int = 0
    skipped: int = 0
    failed: int = 0
    reused: int = 0
    blocked: int = 0
    retries: int = 0
    seconds: float = 0.0
    stats: CallStats = field(default_factory=CallStats)
    #: Unusable answers by kind (``bad_json``, ``hallucinated_entity`` ...), retried or not.
    errors: Counter = field(default_factory=Counter)
    #: Failed records by kind (the reason they were dropped or left unannotated).
    failures: Counter = field(default_factory=Counter)


@dataclass
class _Sample:
    item: Item
    sample: int
    messages: list[dict[str, str]]
    attempt: int = 0
    value: Any = None
    ok: bool = False
    blocked: bool = False
    calls: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)


def stage_signature(
    stage: Stage, params: StageParams, llm: LLM, taxonomy: Taxonomy, upstream: str | None
) -> str:
    """The signature of a stage (formula in the module docstring)."""
    payload = {
        "stage": stage.name,
        "version": stage.version,
        "prompt_sha256": stage.prompt_sha256(),
        "params": params.as_dict(),
        "backend": [llm.backend.key_kind, llm.backend.key_model],
        "taxonomy": taxonomy.sha256(),
        "upstream": upstream,
    }
    return hashlib.sha256(canonical(payload).encode()).hexdigest()


def run_stage(
    stage: Stage,
    items: list[Item],
    llm: LLM,
    ctx: Context,
    params: StageParams,
    signature: str,
    *,
    resume: bool,
    tick: Callable[[int], None] | None = None,
    grow: Callable[[int], None] | None = None,
) -> StageReport:
    """Run ``stage`` on ``items`` (their ``results[stage.name]`` is set unless blocked)."""
    rep = StageReport(stage.name, signature, params, records=len(items))
    t0 = time.monotonic()
    cache = llm.cache
    for start in range(0, len(items), CHUNK):
        chunk = items[start : start + CHUNK]
        states: list[_Sample] = []
        for it in chunk:
            if resume:
                stored = cache.stage_output(signature, it.record.key())
                if stored is not None:
                    it.results[stage.name] = stored
                    llm.used.update(stored.get("calls", []))
                    rep.reused += 1
                    _count(rep, stored)
                    continue
            base = stage.messages(it, ctx)
            if base is None:
                res = {
                    "status": "skipped",
                    "value": stage.empty(it, ctx),
                    "calls": [],
                    "errors": [],
                }
                _finish(it, stage, res, rep, cache, signature)
                continue
            states += [_Sample(it, s, base) for s in range(params.samples)]
        _resolve(stage, states, llm, ctx, params, rep, tick, grow)
        by_item: dict[str, list[_Sample]] = {}
        for st in states:
            by_item.setdefault(st.item.id, []).append(st)
        for sts in by_item.values():
            it = sts[0].item
            if any(st.blocked for st in sts):
                it.state = "blocked"
                rep.blocked += 1
                continue
            res: dict[str, Any] = {
                "calls": [k for st in sts for k in st.calls],
                "errors": [e for st in sts for e in st.errors],
                "samples": [st.ok for st in sts],
            }
            try:
                if not any(st.ok for st in sts):
                    raise StageFailure(
                        "all_samples_failed", f"none of the {len(sts)} samples gave a usable answer"
                    )
                res.update(
                    status="ok",
                    value=stage.reduce(
                        it, [st.value if st.ok else None for st in sts], params, ctx
                    ),
                )
            except StageFailure as e:
                res.update(status="failed", value=None, kind=e.kind, message=str(e))
            _finish(it, stage, res, rep, cache, signature)
    rep.seconds = time.monotonic() - t0
    return rep


def _resolve(
    stage: Stage,
    states: list[_Sample],
    llm: LLM,
    ctx: Context,
    params: StageParams,
    rep: StageReport,
    tick: Callable[[int], None] | None,
    grow: Callable[[int], None] | None,
) -> None:
    """Ask, parse and retry until every sample is usable, failed or waiting."""
    active = states
    while active:
        calls = [
            llm.call(
                st.messages, params.request_params(st.sample), st.sample, stage.name, st.item.id
            )
            for st in active
        ]
        if grow:
            grow(len({c.key for c in calls}))
        results = llm.resolve(calls, rep.stats, tick)
        retry: list[_Sample] = []
        for st, c in zip(active, calls, strict=True):
            r = results[c.key]
            if r is PENDING:
                st.blocked = True
                continue
            if isinstance(r, CallRejected):
                st.errors.append(
                    {
                        "sample": st.sample,
                        "attempt": st.attempt,
                        "kind": "rejected",
                        "message": str(r),
                    }
                )
                rep.errors["rejected"] += 1
                continue
            st.calls.append(c.key)
            try:
                st.value = stage.parse(r.text, st.item, ctx)
                st.ok = True
            except ParseError as e:
                st.errors.append(
                    {"sample": st.sample, "attempt": st.attempt, "kind": e.kind, "message": str(e)}
                )
                rep.errors[e.kind] += 1
                if st.attempt + 1 < params.max_attempts:
                    st.messages = [
                        *st.messages,
                        {"role": "assistant", "content": r.text},
                        repair_message(str(e)),
                    ]
                    st.attempt += 1
                    rep.retries += 1
                    retry.append(st)
        active = retry


def _count(rep: StageReport, res: dict[str, Any]) -> None:
    status = res["status"]
    if status == "ok":
        rep.ok += 1
    elif status == "skipped":
        rep.skipped += 1
    else:
        rep.failed += 1
        rep.failures[res.get("kind", "failed")] += 1


def _finish(
    it: Item, stage: Stage, res: dict[str, Any], rep: StageReport, cache: CallCache, signature: str
) -> None:
    it.results[stage.name] = res
    cache.put_stage_output(signature, it.record.key(), res)
    _count(rep, res)


def settle(it: Item, stage: str) -> None:
    """Drop (or, for records with their own action and skills, unannotate) after a failure."""
    res = it.results.get(stage)
    if res is None or res["status"] != "failed":
        return
    reason = (stage, res.get("kind", "failed"), res.get("message", ""))
    if stage in ERA_COT_STAGES and it.record.preset:
        it.state, it.reason = "unannotated", reason
    elif stage == "summarize" and it.record.preset:
        return  # a comparison summary failed: the record keeps its own action and skills
    else:
        it.state, it.reason = "dropped", reason


def load_records(config: ConstructConfig) -> tuple[list[SourceRecord], list[dict[str, Any]]]:
    """The input records (first ``limit`` in input order) and a description of each input.

    Ids must be unique across all inputs; a repeat is an error naming both inputs.
    """
    records: list[SourceRecord] = []
    described: list[dict[str, Any]] = []
    where: dict[str, str] = {}
    for text in config.inputs:
        spec = InputSpec.parse(text)
        n = 0
        for rec in spec.read():
            if config.limit is not None and len(records) >= config.limit:
                break
            if rec.id in where:
                raise M2MError(
                    f"record id {rec.id!r} appears in {where[rec.id]} and in {spec}: ids must be unique"
                )
            where[rec.id] = str(spec)
            records.append(rec)
            n += 1
        described.append(
            {"input": str(spec), "kind": spec.kind, "sha256": spec.sha256(), "records": n}
        )
    if not records:
        raise M2MError(f"the inputs {', '.join(config.inputs)} hold no records")
    return records, described


@dataclass
class Build:
    """The outcome of running the stages (before review and writing)."""

    config: ConstructConfig
    items: list[Item]
    inputs: list[dict[str, Any]]
    taxonomy: Taxonomy
    taxonomy_source: str
    reports: dict[str, StageReport]
    llm: LLM
    seconds: float

    @property
    def blocked(self) -> list[Item]:
        return [it for it in self.items if it.state == "blocked"]

    @property
    def total(self) -> CallStats:
        out = CallStats()
        for r in self.reports.values():
            out.add(r.stats)
        return out


class _Progress:
    """One tqdm bar per stage, counting calls (cache hits included)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled

    def bar(self, name: str, records: int):
        from tqdm.auto import tqdm

        return tqdm(total=0, desc=f"{name:<12}", unit="call", disable=not self.enabled or not records, leave=True,
                    dynamic_ncols=True, postfix={"records": records})  # fmt: skip


def _taxonomy(
    config: ConstructConfig,
    records: list[SourceRecord],
    llm: LLM,
    progress: _Progress,
    reports: dict,
    resume: bool,
) -> tuple[Taxonomy | None, str]:
    """The taxonomy the stages read, and where it came from (``None`` while it waits for a
    batch answer). An existing ``--taxonomy`` file wins over proposing one."""
    path = Path(config.taxonomy) if config.taxonomy else None
    if path is not None and path.is_file():
        return load_taxonomy(path), f"file {path}"
    if "taxonomy" not in config.stages:
        if path is not None:
            raise M2MError(
                f"--taxonomy {path}: no such file (add the taxonomy stage to propose one)"
            )
        return DEFAULT_TAXONOMY, "built-in default"
    stage = config.stage("taxonomy")
    params = config.params("taxonomy")
    opts = params.options
    sample = corpus_sample(records, int(opts.get("sample_size", 20)))
    ctx = Context(
        DEFAULT_TAXONOMY, [r.conversation[: int(opts.get("max_chars", 600))] for r in sample]
    )
    corpus = Item(SourceRecord("<corpus>", "\n\n".join(ctx.corpus), {}))
    sig = stage_signature(stage, params, llm, DEFAULT_TAXONOMY, None)
    with progress.bar(stage.name, 1) as bar:
        rep = run_stage(stage, [corpus], llm, ctx, params, sig, resume=resume, tick=bar.update,
                        grow=lambda k: _grow(bar, k))  # fmt: skip
    reports["taxonomy"] = rep
    if corpus.state == "blocked":
        return None, "pending"
    res = corpus.results["taxonomy"]
    if res["status"] != "ok":
        print(
            f"m2m-bench construct: warning: the taxonomy stage failed ({res.get('message')}); using the built-in default"
        )
        return (
            DEFAULT_TAXONOMY,
            f"built-in default (the proposed taxonomy failed: {res.get('kind')})",
        )
    tax = taxonomy_from_dict(res["value"], "proposed taxonomy")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(tax.dump(), encoding="utf-8")
    return tax, f"proposed by the taxonomy stage{f' (written to {path})' if path else ''}"


def _grow(bar: Any, k: int) -> None:
    bar.total = (bar.total or 0) + k
    bar.refresh()


def _selected(config: ConstructConfig, items: list[Item]) -> set[str] | None:
    """The ids ``--annotate`` selects (``None``: every record); unknown ids are an error."""
    if not config.annotate:
        return None
    from .selection import read_ids

    ids = read_ids(config.annotate)
    known = {it.id for it in items}
    missing = [i for i in ids if i not in known]
    if missing:
        raise M2MError(
            f"--annotate {config.annotate}: {len(missing)} id(s) are in no input, e.g. {missing[:3]}"
        )
    return set(ids)


def build(
    config: ConstructConfig, llm: LLM, *, resume: bool = False, progress: bool = True
) -> Build:
    """Read the inputs and run the selected stages; never writes a version (see :mod:`.output`)."""
    t0 = time.monotonic()
    records, inputs = load_records(config)
    reports: dict[str, StageReport] = {}
    prog = _Progress(progress)
    taxonomy, tax_source = _taxonomy(config, records, llm, prog, reports, resume)
    items = [Item(r) for r in records]
    if taxonomy is None:  # the taxonomy is waiting for a batch answer: nothing else can run
        for it in items:
            it.state = "blocked"
        return Build(
            config, items, inputs, DEFAULT_TAXONOMY, tax_source, reports, llm, time.monotonic() - t0
        )
    compare = (
        "summarize" in config.stages
        and config.params("summarize").options.get("authored") == "compare"
    )
    ctx = Context(taxonomy, compare_authored=compare)
    selected = _selected(config, items)
    upstream: str | None = None
    for name in config.stages:
        if name == "taxonomy":
            continue
        stage, params = config.stage(name), config.params(name)
        sig = stage_signature(stage, params, llm, taxonomy, upstream)
        upstream = sig
        # Records left unannotated still go through the stages after ERA-CoT (summarize).
        todo = [
            it
            for it in items
            if (it.state == "active" or (it.state == "unannotated" and name not in ERA_COT_STAGES))
            and (selected is None or it.id in selected or not it.record.preset)
        ]
        with prog.bar(name, len(todo)) as bar:
            reports[name] = run_stage(stage, todo, llm, ctx, params, sig, resume=resume, tick=bar.update,
                                      grow=lambda k, b=bar: _grow(b, k))  # fmt: skip
        for it in todo:
            settle(it, name)
    return Build(config, items, inputs, taxonomy, tax_source, reports, llm, time.monotonic() - t0)
