"""From a finished build to a dataset version folder, and back again (rebuilds).

:func:`assemble` turns work items into M2M records (split from the source, else
:func:`~m2m_bench.construct.config.assign_split`), with the reason for every record left
out. :func:`write_build` writes them through :func:`m2m_bench.data.write_version` with these
extra files:

``pipeline.yaml``              config, stages (version, prompt, parameters, signature), backend,
                               taxonomy, inputs (sha256), counts, drops and failures by reason,
                               tokens and cost of the calls used, review summary
``construct/taxonomy.yaml``    the taxonomy the stages read
``construct/failures.jsonl``   every unusable answer and failed stage, per record
``construct/drops.jsonl``      every record left out (or left unannotated), with its reason
``construct/calls.jsonl.gz``   every LLM call the build used (unless ``ship_calls=False``)
``construct/review.jsonl``     the applied review rows, and ``construct/review_diff.jsonl``

:func:`rebuild` reads those files back, replays the build with the offline backend (no LLM)
and compares content hashes.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .. import __version__
from ..data import content_hash, read_manifest, write_version
from ..data.splitting import SPLITS, assign_splits
from ..errors import M2MError
from ..schema import to_table, validate_record
from .backends import get_backend
from .cache import CallCache
from .config import ConstructConfig
from .files import jsonl_text
from .llm import LLM
from .pipeline import Build, build
from .review import apply_review, load_review
from .sources import InputSpec, SourceRecord
from .stages import STAGE_ORDER, Item

PIPELINE_FILE = "pipeline.yaml"
PIPELINE_VERSION = 1


def era_cot(it: Item, config: ConstructConfig) -> dict[str, Any] | None:
    """The ``era_cot`` field of an annotated record (``None`` without entities)."""
    if it.state != "active" or "entities" not in config.stages or "entities" not in it.results:
        return None  # not annotated (or outside the --annotate subset)
    return {
        "entities": [dict(e) for e in it.value("entities", [])],
        "explicit": [dict(r) for r in it.value("explicit", [])]
        if "explicit" in config.stages
        else [],
        "implicit": [dict(r) for r in (it.value("discriminate") or {}).get("kept", [])]
        if "discriminate" in config.stages
        else [],
        "threshold": float(config.threshold),
    }


def split_of(b: Build) -> dict[str, str]:
    """Record id -> split of every record of the build (see :func:`record_splits`)."""
    return record_splits(b.config, [it.record for it in b.items])


def record_splits(config: ConstructConfig, records: list[SourceRecord]) -> dict[str, str]:
    """Record id -> split, for every input record (dropped ones too, so splits do not move
    with the LLM's failures; no stage result is read, so ``--splits-out`` needs no build).

    A split given by the source, or pinned by ``--pin-splits``, is kept. The others come
    from the team's splitter,
    :func:`m2m_bench.data.splitting.assign_splits`: whole scenario families (the authored
    ``family``; otherwise each record alone), linked with every family holding a
    near-duplicate conversation (MiniLM cosine >= 0.9), go to the split furthest below its
    share of ``split_ratios``; a family with a given train/validation/test split is pinned to it.
    """
    from ..encoders import get_encoder
    from .selection import read_pins

    pins = read_pins(config.pin_splits) if config.pin_splits else {}
    items = [r for r in records if r.split is None or r.split in SPLITS]
    families = [r.meta.get("family") or f"record:{r.id}" for r in items]
    pinned = {i: r.split or pins[r.id] for i, r in enumerate(items) if r.split or r.id in pins}
    ratios = tuple(float(config.split_ratios[s]) for s in SPLITS)
    emb = get_encoder().encode([r.conversation for r in items]) if len(items) > 1 else None
    try:
        assigned = assign_splits(families, emb=emb, pinned=pinned, ratios=ratios)
    except ValueError as e:
        raise M2MError(f"cannot assign splits: {e}") from None
    out = {r.id: s for r, s in zip(items, assigned, strict=True)}
    out.update({r.id: r.split for r in records if r.split is not None and r.id not in out})
    return out


def assemble(b: Build) -> tuple[dict[str, list[dict]], list[dict[str, Any]]]:
    """``(records by split, drops)``; ``drops`` also lists records kept without ``era_cot``."""
    splits: dict[str, list[dict]] = {}
    split = split_of(b)
    drops: list[dict[str, Any]] = []
    for it in b.items:
        rec = it.record
        if it.state == "blocked":
            raise M2MError(f"record {rec.id!r} is still waiting for batch answers")
        if it.state == "dropped":
            stage, kind, message = it.reason or ("?", "?", "")
            drops.append(
                {
                    "id": rec.id,
                    "outcome": "dropped",
                    "stage": stage,
                    "kind": kind,
                    "message": message,
                }
            )
            continue
        if it.state == "unannotated":
            stage, kind, message = it.reason or ("?", "?", "")
            drops.append(
                {
                    "id": rec.id,
                    "outcome": "unannotated",
                    "stage": stage,
                    "kind": kind,
                    "message": message,
                }
            )
        summary = it.value("summarize")
        if rec.preset:
            action, skills = rec.action, list(rec.skills or ())
        elif summary:
            action, skills = summary["action"], list(summary["skills"])
        else:
            drops.append({"id": rec.id, "outcome": "dropped", "stage": "summarize", "kind": "not_run",
                          "message": "the summarize stage did not run and the source has no action"})  # fmt: skip
            continue
        record = {
            "id": rec.id,
            "conversation": rec.conversation,
            "action": action,
            "skills": skills,
            "source": dict(rec.source),
            "era_cot": era_cot(it, b.config),
        }
        problems = validate_record(record, file="<build>")
        if problems:
            drops.append({"id": rec.id, "outcome": "dropped", "stage": "output", "kind": "invalid_record",
                          "message": "; ".join(f"{v.field}: {v.message}" for v in problems)})  # fmt: skip
            continue
        splits.setdefault(split[rec.id], []).append(record)
    return splits, drops


def failures(b: Build) -> list[dict[str, Any]]:
    """Every unusable answer and failed stage, per record, in record and stage order."""
    rows: list[dict[str, Any]] = []
    for it in b.items:
        for stage in STAGE_ORDER:
            res = it.results.get(stage)
            if res is None:
                continue
            for e in res.get("errors", []):
                rows.append({"id": it.id, "stage": stage, **e})
            if res["status"] == "failed":
                rows.append({"id": it.id, "stage": stage, "sample": None, "attempt": None,
                             "kind": res.get("kind", "failed"), "message": res.get("message", ""), "final": True})  # fmt: skip
    return rows


def _counter(rows: list[dict[str, Any]], outcome: str) -> dict[str, dict[str, int]]:
    out: dict[str, Counter] = {}
    for d in rows:
        if d["outcome"] == outcome:
            out.setdefault(d["stage"], Counter())[d["kind"]] += 1
    return {s: dict(sorted(c.items())) for s, c in sorted(out.items())}


def pipeline_doc(
    b: Build,
    splits: Mapping[str, list[dict]],
    drops: list[dict[str, Any]],
    review: dict[str, Any] | None,
) -> dict[str, Any]:
    """The content of ``pipeline.yaml`` (deterministic: no times, no run statistics)."""
    stages: dict[str, Any] = {}
    for name, rep in b.reports.items():
        st = b.config.stage(name)
        stages[name] = {
            "version": st.version,
            "signature": rep.signature,
            "prompt_sha256": st.prompt_sha256(),
            "params": rep.params.as_dict(),
            "prompt": st.prompt_text(),
        }
    errors: dict[str, dict[str, int]] = {}
    for row in failures(b):
        if not row.get("final"):
            errors.setdefault(row["stage"], Counter())[row["kind"]] += 1
    n_out = sum(len(v) for v in splits.values())
    annotated = sum(1 for v in splits.values() for r in v if r.get("era_cot") is not None)
    doc = {
        "pipeline_version": PIPELINE_VERSION,
        "generator": f"m2m-bench {__version__} construct",
        "paper": "Motion-R1 §3.1.2-3.1.3 (ERA-CoT), eqs. 1-2",
        "config": b.config.as_dict(),
        "inputs": b.inputs,
        "selection_files": selection_files(b.config),
        "backend": b.llm.backend.describe(),
        "taxonomy": {
            "source": b.taxonomy_source,
            "sha256": b.taxonomy.sha256(),
            "file": "construct/taxonomy.yaml",
        },
        "threshold": float(b.config.threshold),
        "stages": stages,
        "counts": {
            "input": len(b.items),
            "output": n_out,
            "annotated": annotated,
            "splits": {s: len(v) for s, v in sorted(splits.items())},
        },
        "drops": _counter(drops, "dropped"),
        "unannotated": _counter(drops, "unannotated"),
        "malformed_answers": {s: dict(sorted(c.items())) for s, c in sorted(errors.items())},
        "calls": b.llm.cache.usage(b.llm.used),
    }
    if review is not None:
        doc["review"] = review
    return doc


def selection_files(config: ConstructConfig) -> dict[str, dict[str, str]]:
    """``--pin-splits`` / ``--annotate`` files with their sha256 (a rebuild checks them)."""
    from .selection import pins_sha256

    out = {}
    for key in ("pin_splits", "annotate"):
        path = getattr(config, key)
        if path:
            out[key] = {"path": str(path), "sha256": pins_sha256(path)}
    return out


def card_body(b: Build, doc: Mapping[str, Any], name: str, version: str) -> str:
    inputs = "\n".join(
        f"  - `{i['input']}` ({i['records']} records, sha256 `{i['sha256'][:12]}`)"
        for i in b.inputs
    )
    drops = sum(sum(c.values()) for c in doc["drops"].values())
    backend = doc["backend"]
    stages = (
        ", ".join(f"{s} v{v['version']}" for s, v in doc["stages"].items())
        or "none (the records bring their own action and skills)"
    )
    return f"""## Construction of {name} {version}

Built with the m2m-bench ERA-CoT construction pipeline (`m2m-bench construct`), which follows
the entity / relation / discrimination / summarization steps of Motion-R1 §3.1.3.

- Inputs:
{inputs}
- Backend: `{backend.get("kind")}` model `{backend.get("model")}`
- Stages: {stages}
- Discrimination threshold v_th = {doc["threshold"]}
- Records: {doc["counts"]["input"]} in, {doc["counts"]["output"]} out ({doc["counts"]["annotated"]} with `era_cot`), {drops} dropped

`pipeline.yaml` records the prompts, parameters, drop reasons and call usage;
`construct/calls.jsonl.gz` (when shipped) holds every LLM answer the build used, so
`m2m-bench construct --rebuild <this folder>` reproduces the records without an LLM.
"""


@dataclass
class Written:
    folder: Path
    content_hash: str
    splits: dict[str, int]
    drops: list[dict[str, Any]]
    #: False when the version already existed with exactly these records (nothing written).
    written: bool = True


def finalize(
    b: Build,
    *,
    root: str | Path,
    version: str,
    name: str = "m2m",
    changelog: str | None = None,
    review_file: str | Path | None = None,
    ship_calls: bool = True,
    extra_doc: Mapping[str, Any] | None = None,
    card_intro: str | None = None,
    taxonomy_file: str | Path | None = None,
    annotation_files: tuple[str | Path, ...] | list[str | Path] = (),
    min_distinct_skills: int = 0,
    quality: bool = True,
) -> Written:
    """Assemble, apply a review file (if any), and write the version folder.

    A version that already exists with the same content hash is left as it is (rerunning a
    finished build is a no-op); with other records, :class:`~m2m_bench.errors.VersionExists`.

    Every version also gets the dataset quality report (:mod:`m2m_bench.data.quality`) as
    ``quality/report.json`` with its figures, a quality section in the card, and
    ``metadata/records.jsonl`` (domain and family per record) when the sources give them
    (``quality=False`` leaves the report, figures and agreement out: rebuilds, which only
    compare records).
    ``card_intro`` is markdown placed at the top of the card; ``taxonomy_file`` (the scenario
    taxonomy) adds coverage per domain to the report. Blind summaries of authored records
    (``summarize.authored=compare``) go to ``construct/summaries.jsonl``; each of
    ``annotation_files`` (second, independent skill annotations) is shipped under
    ``annotations/``; the card and ``quality/report.json`` report the skill agreement of each
    against the released skills (:mod:`m2m_bench.data.agreement`).
    """
    splits, drops = assemble(b)
    extra: dict[str, str | bytes | Path] = {}
    review = None
    if review_file is not None:
        rows = load_review(review_file)
        splits, diff, review = apply_review(splits, rows)
        review["file"] = Path(review_file).name
        drops += [{"id": d["id"], "outcome": "dropped", "stage": "review", "kind": "reviewer", "message": d["note"]}
                  for d in diff if d["field"] == "record"]  # fmt: skip
        extra["construct/review.jsonl"] = jsonl_text(r for _, r in rows)
        extra["construct/review_diff.jsonl"] = jsonl_text(diff)
    if not any(splits.values()):
        kinds = Counter(f"{d['stage']}:{d['kind']}" for d in drops if d["outcome"] == "dropped")
        raise M2MError(
            f"no record survived the pipeline (dropped: {dict(kinds)}); see the failures above"
        )
    existing = Path(root) / name / "versions" / version
    if (existing / "manifest.json").is_file():
        # A rerun of a finished build (e.g. killed during the release bookkeeping) is a no-op.
        # Records are compared as stored (through the arrow schema: 1 and 1.0 are one score).
        stored = content_hash({s: to_table(v).to_pylist() for s, v in splits.items()})
        if read_manifest(existing)["content_hash"] == stored:
            return Written(
                existing, stored, {s: len(v) for s, v in splits.items()}, drops, written=False
            )
    doc = pipeline_doc(b, splits, drops, review)
    if extra_doc:
        doc.update(extra_doc)
    extra[PIPELINE_FILE] = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
    meta = {it.id: dict(it.record.meta) for it in b.items if it.record.meta}
    kept = {r["id"] for recs in splits.values() for r in recs}
    meta = {rid: m for rid, m in meta.items() if rid in kept}
    if meta:
        extra["metadata/records.jsonl"] = jsonl_text(
            {"id": rid, **m} for rid, m in sorted(meta.items())
        )
    tmp = tempfile.TemporaryDirectory()
    agreement = agreement_section(b, splits, annotation_files, extra) if quality else {}
    quality_md = (
        quality_section(splits, meta, taxonomy_file, Path(tmp.name), extra, agreement, min_distinct_skills)
        if quality
        else ""
    )
    extra["construct/taxonomy.yaml"] = b.taxonomy.dump()
    extra["construct/failures.jsonl"] = jsonl_text(failures(b))
    extra["construct/drops.jsonl"] = jsonl_text(drops)
    if ship_calls:
        extra["construct/calls.jsonl.gz"] = b.llm.cache.export_calls(b.llm.used)
    folder = write_version(
        name,
        version,
        splits,
        root=root,
        changelog=changelog
        or f"Built with the ERA-CoT construction pipeline from {', '.join(b.config.inputs)}.",
        card_body="\n\n".join(
            p for p in (card_intro, card_body(b, doc, name, version), quality_md) if p
        ),
        extra_files=extra,
    )
    tmp.cleanup()
    return Written(
        folder, read_manifest(folder)["content_hash"], {s: len(v) for s, v in splits.items()}, drops
    )


def quality_section(
    splits: Mapping[str, list[dict]],
    meta: Mapping[str, Mapping[str, str]],
    taxonomy_file: str | Path | None,
    tmp: Path,
    extra: dict[str, str | bytes | Path],
    agreement: Mapping[str, Any] | None = None,
    min_distinct_skills: int = 0,
) -> str:
    """Compute the quality report and figures into ``extra``; return the card's section."""
    import json

    from ..data.agreement import agreement_markdown
    from ..data.quality import quality_markdown, quality_report, render_figures

    taxonomy = (
        yaml.safe_load(Path(taxonomy_file).read_text(encoding="utf-8")) if taxonomy_file else None
    )
    report = quality_report(splits, meta=meta or None, taxonomy=taxonomy, min_distinct_skills=min_distinct_skills)
    if agreement:
        report["agreement"] = dict(agreement)
    extra["quality/report.json"] = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    for name in render_figures(splits, tmp).values():
        extra[f"quality/{name}"] = tmp / name
    md = quality_markdown(report, figures_dir="quality")
    return md + ("\n" + agreement_markdown(agreement) if agreement else "")


def summaries(b: Build, splits: Mapping[str, list[dict]]) -> list[dict[str, Any]]:
    """Blind ERA-CoT summaries of released records that keep their own action and skills."""
    split_of_id = {r["id"]: s for s, recs in splits.items() for r in recs}
    out = []
    for it in b.items:
        value = it.value("summarize")
        if it.record.preset and value and not value.get("preset") and it.id in split_of_id:
            out.append(
                {
                    "id": it.id,
                    "split": split_of_id[it.id],
                    "action": value["action"],
                    "skills": list(value["skills"]),
                }
            )
    return out


def agreement_section(
    b: Build,
    splits: Mapping[str, list[dict]],
    annotation_files: tuple[str | Path, ...] | list[str | Path],
    extra: dict[str, str | bytes | Path],
) -> dict[str, Any]:
    """Ship the blind summaries and second annotations; their agreement with the released skills."""
    from ..data.agreement import agreement_results, read_annotations

    released = {r["id"]: r["skills"] for recs in splits.values() for r in recs}
    summ = summaries(b, splits)
    if summ:
        extra["construct/summaries.jsonl"] = jsonl_text(summ)
    second: dict[str, dict[str, list[str]]] = {}
    for f in map(Path, annotation_files):
        ann = read_annotations(f)
        unknown = sorted(set(ann) - set(released))
        if unknown:
            raise M2MError(f"{f}: {len(unknown)} annotated id(s) are not in the version, e.g. {unknown[:3]}")
        extra[f"annotations/{f.name}"] = f
        second[f.name] = {i: a["skills"] for i, a in ann.items()}
    return agreement_results(released, {d["id"]: d["skills"] for d in summ}, second)


def read_pipeline(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / PIPELINE_FILE
    if not path.is_file():
        raise M2MError(
            f"{folder}: no {PIPELINE_FILE} there (was this version built by `m2m-bench construct`?)"
        )
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or "config" not in doc or "backend" not in doc:
        raise M2MError(f"{path}: fields 'config' and 'backend' are required")
    return doc


@dataclass
class Rebuilt:
    written: Written
    original_hash: str

    @property
    def matches(self) -> bool:
        return self.written.content_hash == self.original_hash


def rebuild(
    folder: str | Path,
    *,
    root: str | Path,
    version: str,
    cache: str | Path | None = None,
    inputs: list[str] | None = None,
    progress: bool = False,
    quality: bool = True,
) -> Rebuilt:
    """Rebuild a version from its ``pipeline.yaml`` and cached calls alone (no LLM).

    Calls come from ``construct/calls.jsonl.gz`` of the folder, or from ``cache`` when given.
    The inputs (``inputs`` overrides the recorded paths) must have the recorded sha256.
    """
    folder = Path(folder)
    doc = read_pipeline(folder)
    original = read_manifest(folder)["content_hash"]
    cfg = dict(doc["config"])
    if inputs:
        cfg["inputs"] = list(inputs)
    tax = folder / "construct" / "taxonomy.yaml"
    if tax.is_file():
        cfg["taxonomy"] = str(tax)
    config = ConstructConfig.from_dict(cfg)
    recorded = doc.get("inputs", [])
    if len(recorded) != len(config.inputs):
        raise M2MError(
            f"{folder.name} was built from {len(recorded)} input(s), got {len(config.inputs)}"
        )
    for spec, want in zip(config.inputs, recorded, strict=True):
        got = InputSpec.parse(spec).sha256()
        if got != want["sha256"]:
            raise M2MError(
                f"input {spec} differs from the one {folder.name} was built from "
                f"(sha256 {got[:12]} != {want['sha256'][:12]})"
            )
    recorded_sel = doc.get("selection_files", {})
    for key, got in selection_files(config).items():
        want = recorded_sel.get(key, {}).get("sha256")
        if want != got["sha256"]:
            raise M2MError(
                f"--{key.replace('_', '-')} {got['path']} differs from the file {folder.name} was built from"
            )
    backend = get_backend("offline", doc["backend"]["model"], key_kind=doc["backend"]["kind"])
    review = folder / "construct" / "review.jsonl"
    with tempfile.TemporaryDirectory(prefix="m2m-rebuild-") as tmp:
        cache_path = Path(cache) if cache else Path(tmp) / "calls.sqlite"
        with CallCache(cache_path) as cc:
            if cache is None:
                shipped = folder / "construct" / "calls.jsonl.gz"
                if not shipped.is_file():
                    raise M2MError(
                        f"{folder}: no construct/calls.jsonl.gz; pass the build's cache with --cache"
                    )
                cc.import_calls(shipped)
            b = build(config, LLM(backend, cc), resume=False, progress=progress)
            written = finalize(
                b,
                root=root,
                version=version,
                name=read_manifest(folder)["name"],
                changelog=f"Rebuilt from the cache of {folder.name} (content hash {original[:12]}).",
                review_file=review if review.is_file() else None,
                extra_doc={"rebuilt_from": {"version": folder.name, "content_hash": original}},
                quality=quality,
            )
    return Rebuilt(written, original)
