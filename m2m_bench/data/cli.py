"""``m2m-bench data``: info, validate, verify, release and push dataset versions."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import ChecksumError, DatasetNotFound, M2MError
from ..schema import Violation, validate_records
from ._manifest import MANIFEST, read_manifest, split_of, verify_folder
from ._paths import find_dataset, list_versions, version_dir
from ._push import push_version
from ._readers import read_jsonl, read_parquet
from ._specs import SPECS, get_spec
from ._write import SPLIT_ORDER, read_releases, write_version

#: Keys of authored source files that are not record fields (used for splitting/coverage).
SOURCE_META_KEYS = ("split", "domain", "family")


def _cmd_info(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    names = [args.name] if args.name else [n for n in SPECS if _has(n)]
    console = Console(width=None if sys.stdout.isatty() else 200)
    for name in names:
        versions = list_versions(name)
        table = Table(title=f"{name} ({find_dataset(name)})")
        for col in ("version", "records", "splits", "era_cot", "content hash"):
            table.add_column(col)
        for v in versions:
            m = read_manifest(version_dir(name, v))
            splits = ", ".join(f"{s} {n}" for s, n in _ordered(m["splits"]))
            era = ", ".join(f"{s} {n}" for s, n in m.get("era_cot_splits", {}).items()) or "-"
            table.add_row(v, str(m["num_records"]), splits, era, m["content_hash"][:16])
        console.print(table)
    return 0


def _ordered(counts: dict[str, int]) -> list[tuple[str, int]]:
    rank = {s: i for i, s in enumerate(SPLIT_ORDER)}
    return sorted(counts.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))


def _has(name: str) -> bool:
    try:
        return bool(list_versions(name))
    except DatasetNotFound:
        return False


def validate_folder(folder: Path, ignore: tuple[str, ...] = ()) -> list[Violation]:
    """Every violation in a version folder: checksums, schemas, records, cross-split ids.

    The dataset's spec (schema and record validator) is chosen by the manifest's ``name``.
    """
    out: list[Violation] = []
    name = "m2m"
    try:
        name = read_manifest(folder).get("name", "m2m")
        verify_folder(folder, check_content=True, ignore=ignore)
    except ChecksumError as e:
        out.append(Violation(str(folder / MANIFEST), None, "<checksum>", str(e)))
    except DatasetNotFound as e:
        out.append(Violation(str(folder), None, "<manifest>", str(e)))
    spec = get_spec(name)
    splits: dict[str, list[dict]] = {}
    files: dict[str, str] = {}
    for p in sorted((folder / "data").glob("*.parquet")):
        records, problems = read_parquet(p, spec.schema)
        out += problems
        splits.setdefault(split_of(p.name), []).extend(records)
        files[split_of(p.name)] = str(p)
    out += spec.validate(splits, files)
    data_ids = {r.get("id") for recs in splits.values() for r in recs}
    era_seen: dict[str, str] = {}
    for p in sorted((folder / "era_cot").glob("*.parquet")) if (folder / "era_cot").is_dir() else []:
        records, problems = read_parquet(p, spec.schema)
        out += problems + validate_records(records, file=str(p), seen_ids=era_seen)
        for r in records:
            if r.get("era_cot") is None:
                out.append(Violation(str(p), r.get("id"), "era_cot", "records of the era_cot config must carry annotations"))
            if r.get("id") not in data_ids:
                out.append(Violation(str(p), r.get("id"), "id", f"not in the default config of split {split_of(p.name)!r}"))
    return out


def validate_path(path: Path) -> list[Violation]:
    if not path.exists():
        raise DatasetNotFound(f"{path}: no such file or directory")
    if path.is_dir():
        if (path / "versions").is_dir():  # a dataset folder: every version, then the mirror
            out: list[Violation] = []
            for v in sorted(p for p in (path / "versions").iterdir() if p.is_dir()):
                out += validate_folder(v)
            if (path / MANIFEST).is_file():
                out += validate_folder(path, ignore=("versions",))
            return out
        if (path / MANIFEST).is_file():
            return validate_folder(path)
        raise DatasetNotFound(f"{path}: not a dataset version folder (no {MANIFEST}) nor a dataset folder")
    if path.suffix == ".parquet":
        records, problems = read_parquet(path)
        return problems + validate_records(records, file=str(path))
    if path.suffix in (".jsonl", ".json"):
        records, problems = read_jsonl(path)
        return problems + validate_records(records, file=str(path))
    raise DatasetNotFound(f"{path}: expected a .parquet or .jsonl file or a dataset folder")


def _cmd_validate(args: argparse.Namespace) -> int:
    total = 0
    for raw in args.paths:
        violations = validate_path(Path(raw))
        total += len(violations)
        for v in violations:
            print(str(v))
        print(f"{raw}: {'OK' if not violations else f'{len(violations)} violation(s)'}", file=sys.stderr)
    return 1 if total else 0


def _cmd_verify(args: argparse.Namespace) -> int:
    names = [args.name] if args.name else [n for n in SPECS if _has(n)]
    for name in names:
        versions = [args.version] if args.version else list_versions(name)
        releases = read_releases(find_dataset(name).parent).get(name, {})
        for v in versions:
            m = verify_folder(version_dir(name, v), check_content=True)
            lock = releases.get(v)
            if lock is not None and lock["content_hash"] != m["content_hash"]:
                raise ChecksumError(f"{name} {v}: content hash differs from the release record")
            print(f"{name} {v}: OK ({m['num_records']} records, content {m['content_hash'][:16]})")
    return 0


def _cmd_release(args: argparse.Namespace) -> int:
    splits: dict[str, list[dict]] = {}
    problems: list[Violation] = []
    for raw in args.records:
        p = Path(raw)
        if not p.is_file():
            raise DatasetNotFound(f"{p}: no such file")
        records, bad = read_jsonl(p)
        problems += bad
        for i, rec in enumerate(records):
            split = rec.get("split") if isinstance(rec, dict) else None
            if split not in ("train", "validation", "test"):
                problems.append(Violation(str(p), str(rec.get("id", f"#{i}")), "split", f"must be train, validation or test, got {split!r}"))
                continue
            splits.setdefault(split, []).append({k: v for k, v in rec.items() if k not in SOURCE_META_KEYS})
    for raw in args.annotations or []:
        problems += _attach_era_cot(Path(raw), splits)
    if problems:
        for v in problems:
            print(v, file=sys.stderr)
        raise M2MError(f"{len(problems)} problem(s) in the input; nothing written")
    extra = {}
    for item in args.extra or []:
        rel, _, src = item.partition("=")
        extra[rel] = Path(src)
    folder = write_version(
        args.name,
        args.version,
        splits,
        changelog=Path(args.changelog).read_text(encoding="utf-8"),
        card_body=Path(args.card).read_text(encoding="utf-8"),
        extra_files=extra,
    )
    print(json.dumps(read_manifest(folder)["splits"]), "->", folder)
    return 0


def _attach_era_cot(path: Path, splits: dict[str, list[dict]]) -> list[Violation]:
    """Attach ERA-CoT annotations from a JSON object ``{record_id: era_cot}`` (keys starting
    with ``_`` are comments); an id that is not among the records is a violation."""
    if not path.is_file():
        raise DatasetNotFound(f"{path}: no such file")
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        return [Violation(str(path), None, "<file>", f"not valid JSON: {e}")]
    by_id = {r.get("id"): r for recs in splits.values() for r in recs}
    out = []
    for rid, era in table.items():
        if rid.startswith("_"):
            continue
        if rid not in by_id:
            out.append(Violation(str(path), rid, "id", "annotation for an id that is not among the records"))
        else:
            by_id[rid]["era_cot"] = era
    return out


def read_source_meta(paths: list[str]) -> dict[str, dict[str, str]]:
    """id -> {domain, family} from authored source JSONL files."""
    meta: dict[str, dict[str, str]] = {}
    for raw in paths:
        records, _ = read_jsonl(Path(raw))
        for r in records:
            if isinstance(r, dict) and "id" in r:
                meta[r["id"]] = {k: r[k] for k in ("domain", "family") if k in r}
    return meta


def _cmd_quality(args: argparse.Namespace) -> int:
    import yaml

    from ._load import resolve
    from ._manifest import read_split_records
    from .quality import quality_report, render_figures

    folder = resolve(args.name, args.version)
    verify_folder(folder)
    splits = read_split_records(folder)
    from .agreement import version_agreement

    shipped_meta = folder / "metadata" / "records.jsonl"
    meta = read_source_meta(args.meta or ([str(shipped_meta)] if shipped_meta.is_file() else []))
    taxonomy = yaml.safe_load(Path(args.taxonomy).read_text()) if args.taxonomy else None
    floor = args.min_distinct_skills
    shipped = folder / "quality" / "report.json"
    if floor is None and shipped.is_file():  # the floor the version was released with
        rule = json.loads(shipped.read_text(encoding="utf-8"))["checks"].get("distinct_skills", {}).get("rule", ">= 0")
        floor = int(rule.split(">=")[-1])
    report = quality_report(splits, meta=meta, taxonomy=taxonomy, min_distinct_skills=floor or 0)
    agreement = version_agreement(folder, splits)
    if agreement:
        report["agreement"] = agreement
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "quality.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        if args.figures:
            render_figures(splits, out)
    for name, c in report["checks"].items():
        print(f"{'PASS' if c['pass'] else 'FAIL'}  {name} = {c['value']} (must be {c['rule']})")
    print(f"latent overlap: {report['latent_overlap']}")
    print(f"distinct skills {report['distinct_skills']}, distinct action verbs {report['distinct_action_verbs']}")
    for name, r in agreement.items():
        if r.get("records"):
            print(f"agreement {name}: {r['records']} records, Jaccard exact mean {r['jaccard_exact']['mean']}, soft mean {r['jaccard_soft']['mean']}")
    return 0 if report["passed"] else 1


def _cmd_push(args: argparse.Namespace) -> int:
    paths = push_version(args.repo, args.name, args.version, dry_run=args.dry_run)
    verb = "would upload" if args.dry_run else "uploaded"
    print(f"{verb} {len(paths)} files of {args.name} {args.version} to {args.repo} (tag v{args.version}):")
    for p in paths:
        print(f"  {p}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="m2m-bench data", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("info", help="versions, splits and counts of the shipped datasets")
    p.add_argument("name", nargs="?", help="dataset name (default: all)")
    p.set_defaults(fn=_cmd_info)
    p = sub.add_parser("validate", help="validate record files or version folders; non-zero exit on any violation")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.set_defaults(fn=_cmd_validate)
    p = sub.add_parser("verify", help="verify checksums and content hashes of shipped versions")
    p.add_argument("name", nargs="?")
    p.add_argument("--version")
    p.set_defaults(fn=_cmd_verify)
    p = sub.add_parser("release", help="write a new immutable version from JSONL records with a 'split' key")
    p.add_argument("--name", default="m2m")
    p.add_argument("--version", required=True)
    p.add_argument("--records", nargs="+", required=True)
    p.add_argument("--changelog", required=True, help="markdown file: this version's changelog entry")
    p.add_argument("--card", required=True, help="markdown file: the dataset card body")
    p.add_argument("--annotations", action="append", metavar="FILE", help="JSON {record_id: era_cot} to attach")
    p.add_argument("--extra", action="append", metavar="REL=PATH", help="extra file to ship in the version")
    p.set_defaults(fn=_cmd_release)
    p = sub.add_parser("quality", help="dataset quality checks (duplicates, latent intent, diversity)")
    p.add_argument("name", nargs="?", default="m2m")
    p.add_argument("--version")
    p.add_argument("--meta", nargs="*", help="authored source JSONL files with domain/family per id")
    p.add_argument("--taxonomy", help="taxonomy.yaml for coverage per domain")
    p.add_argument("--min-distinct-skills", type=int, default=None, help="floor of the distinct-skills check (default: the one the version was released with, else 0)")
    p.add_argument("--out", help="folder for quality.json (and figures with --figures)")
    p.add_argument("--figures", action="store_true")
    p.set_defaults(fn=_cmd_quality)
    p = sub.add_parser("push", help="upload a version to the Hugging Face Hub and tag it vX.Y.Z")
    p.add_argument("--repo", required=True, metavar="ORG/NAME")
    p.add_argument("--name", default="m2m")
    p.add_argument("--version", required=True)
    p.add_argument("--dry-run", action="store_true")
    p.set_defaults(fn=_cmd_push)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.fn(args)
