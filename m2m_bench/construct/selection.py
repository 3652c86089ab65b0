"""Files that choose records: pinned splits (``--pin-splits``) and the ERA-CoT subset (``--annotate``).

**Pinned splits.** A growing dataset must not move a record between splits once people have
trained or annotated on it. ``--pin-splits PATH`` fixes the split of every record it names:
PATH is a JSON object ``{"<id>": "train" | "validation" | "test", ...}`` or a released version
folder (the split of each of its records). Pins act like a split given by the source: the
record's whole family group is pinned with it (:func:`m2m_bench.data.splitting.assign_splits`),
and a group pinned to two splits is an error. ``--splits-out FILE`` writes the assignment of
the current inputs as such a JSON object, so a team can freeze splits as records arrive
(``--pin-splits F --splits-out F``).

**Annotated subset.** ``--annotate FILE`` runs the ERA-CoT stages only on the records whose
ids FILE lists (one per line; ``#`` starts a comment). The others keep their source's action
and skills and get no ``era_cot``. It is how a version annotates, say, its test split through
people answering batch files, without asking them about every training record.

Both files are inputs of the build: their sha256 goes into ``pipeline.yaml`` and a rebuild
refuses a file that differs.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..data._manifest import sha256_file
from ..data.splitting import SPLITS
from ..errors import M2MError

#: Largest selection file read (ids and splits only; anything bigger is a mistake).
MAX_BYTES = 20_000_000


def _text(path: Path, what: str) -> str:
    if not path.is_file():
        raise M2MError(f"{what} {path}: no such file")
    if path.stat().st_size > MAX_BYTES:
        raise M2MError(f"{what} {path}: larger than {MAX_BYTES} bytes")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise M2MError(f"{what} {path}: not UTF-8 text ({e})") from None


def read_pins(path: str | Path) -> dict[str, str]:
    """``{record id: split}`` from a JSON pin file or a released version folder."""
    path = Path(path)
    if path.is_dir():
        from ..data import verify_folder
        from ..data._manifest import read_split_records

        verify_folder(path)
        out = {r["id"]: s for s, recs in read_split_records(path).items() if s in SPLITS for r in recs}
        if not out:
            raise M2MError(f"--pin-splits {path}: no train/validation/test parquet files under data/")
        return out
    try:
        obj = json.loads(_text(path, "--pin-splits"))
    except json.JSONDecodeError as e:
        raise M2MError(f"--pin-splits {path}: not valid JSON (line {e.lineno}: {e.msg})") from None
    if not isinstance(obj, dict):
        raise M2MError(
            f"--pin-splits {path}: expected a JSON object {{id: split}}, got {type(obj).__name__}"
        )
    for rid, split in obj.items():
        if split not in SPLITS:
            raise M2MError(
                f"--pin-splits {path}: record {rid!r}: split must be one of {', '.join(SPLITS)}, got {split!r}"
            )
    return dict(obj)


def pins_sha256(path: str | Path) -> str:
    """The sha256 a build records for its pin file (for a folder: of its manifest)."""
    path = Path(path)
    return sha256_file(path / "manifest.json") if path.is_dir() else sha256_file(path)


def read_ids(path: str | Path) -> list[str]:
    """The ids of an ``--annotate`` file: one per line, blank lines and ``#`` comments skipped."""
    path = Path(path)
    out: list[str] = []
    seen: set[str] = set()
    for n, line in enumerate(_text(path, "--annotate").splitlines(), 1):
        rid = line.split("#", 1)[0].strip()
        if not rid:
            continue
        if rid in seen:
            raise M2MError(f"--annotate {path}: line {n}: id {rid!r} is listed twice")
        seen.add(rid)
        out.append(rid)
    return out


def write_pins(path: str | Path, split: dict[str, str]) -> None:
    """Write ``{id: split}`` as sorted, indented JSON (atomically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(dict(sorted(split.items())), indent=0) + "\n", encoding="utf-8")
    tmp.replace(path)
