"""Reading a submission's files safely from a folder or an archive, into memory, within limits.

A submission arrives as a folder, a ``.zip`` or a tar archive (``.tar``, ``.tar.gz``/``.tgz``,
``.tar.bz2``, ``.tar.xz``). Whatever the container, :func:`read_submission_files` returns the
same thing: a map from a clean relative POSIX name to the file's bytes. Nothing is ever
extracted to disk by name, so an archive cannot write outside a folder however its members
are named; on top of that, every member is checked and the whole submission is refused when:

* a member name is absolute (``/x``, ``\\x``, ``C:x``), holds a ``..`` component, a backslash
  or a NUL character, or nests deeper than :attr:`Limits.max_depth` folders;
* a member is a symbolic or hard link, a device, a FIFO or a sparse file (only regular files
  and folders are accepted); inside a folder submission, symbolic links are refused the same
  way (the folder itself may be reached through one);
* two members have the same name, or there are more than :attr:`Limits.max_members`;
* the archive file, one member, or all members together are larger than the limits. Sizes are
  checked from the headers before reading, and every read is bounded as well, so a header
  that lies or a compression bomb cannot make us read more than the limit plus one byte;
* the archive is encrypted, corrupt or of an unknown kind.

When every file sits under one top-level folder (``tar czf sub.tgz my-submission/``) that
folder is dropped from the names.
"""

from __future__ import annotations

import os
import re
import stat
import tarfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from ._errors import SubmissionError

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Size and count limits for one submission (defaults fit a split of ~10k records)."""

    #: Size of an archive file as it lies on disk.
    max_archive_bytes: int = 64 * MiB
    #: Size of one member file (uncompressed).
    max_member_bytes: int = 32 * MiB
    #: Size of all member files together (uncompressed).
    max_total_bytes: int = 64 * MiB
    #: Number of archive entries (files and folders) or files in a folder.
    max_members: int = 64
    #: Folders a member name may nest (``a/b/c.jsonl`` nests 2).
    max_depth: int = 4
    #: Size of ``metadata.json``.
    max_metadata_bytes: int = 64 * 1024


@dataclass
class SubmissionFiles:
    """A submission's files, read into memory: ``files`` maps a relative POSIX name to bytes."""

    source: Path
    kind: str  # "folder", "zip" or "tar"
    files: dict[str, bytes] = field(default_factory=dict)

    def where(self, name: str) -> str:
        """How messages name member ``name``: ``sub/metadata.json`` or ``sub.zip:metadata.json``."""
        return f"{self.source}/{name}" if self.kind == "folder" else f"{self.source}:{name}"

    @property
    def total_bytes(self) -> int:
        return sum(len(b) for b in self.files.values())


_DRIVE = re.compile(r"^[A-Za-z]:")
_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")


def clean_member_name(name: str, where: str, limits: Limits) -> str:
    """A member's name as a clean relative POSIX path, or :class:`SubmissionError`."""
    if "\x00" in name:
        raise SubmissionError(f"{where}: member name {name!r} holds a NUL character")
    if "\\" in name:
        raise SubmissionError(
            f"{where}: member name {name!r} holds a backslash; use '/' between folders"
        )
    if name.startswith("/") or _DRIVE.match(name):
        raise SubmissionError(
            f"{where}: member {name!r} has an absolute path; archive members must be relative"
        )
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise SubmissionError(f"{where}: member {name!r} climbs out of the archive with '..'")
    if not parts:
        raise SubmissionError(f"{where}: member with an empty name {name!r}")
    if len(parts) - 1 > limits.max_depth:
        raise SubmissionError(
            f"{where}: member {name!r} nests deeper than {limits.max_depth} folders"
        )
    return "/".join(parts)


class _Collector:
    """Adds files one by one, enforcing the count, duplicate and size limits."""

    def __init__(self, sub: SubmissionFiles, limits: Limits):
        self.sub, self.limits, self.entries, self.total = sub, limits, 0, 0

    def count_entry(self) -> None:
        self.entries += 1
        if self.entries > self.limits.max_members:
            raise SubmissionError(f"{self.sub.source}: more than {self.limits.max_members} entries")

    def check_size(self, name: str, size: int) -> None:
        if size > self.limits.max_member_bytes:
            raise SubmissionError(
                f"{self.sub.where(name)}: {size} bytes is over the {self.limits.max_member_bytes}-byte limit per file"
            )
        if self.total + size > self.limits.max_total_bytes:
            raise SubmissionError(
                f"{self.sub.where(name)}: the submission's files exceed {self.limits.max_total_bytes} bytes in all"
            )

    def add(self, name: str, read_bounded) -> None:
        if name in self.sub.files:
            raise SubmissionError(f"{self.sub.where(name)}: the archive holds this member twice")
        data = read_bounded(self.limits.max_member_bytes + 1)
        self.check_size(name, len(data))
        self.total += len(data)
        self.sub.files[name] = data


def _read_folder(root: Path, limits: Limits) -> SubmissionFiles:
    sub = SubmissionFiles(root, "folder")
    col = _Collector(sub, limits)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        for d in list(dirnames):
            if (here / d).is_symlink():
                raise SubmissionError(f"{here / d}: symbolic links are not allowed in a submission")
        dirnames.sort()
        for fname in sorted(filenames):
            p = here / fname
            rel = p.relative_to(root).as_posix()
            name = clean_member_name(rel, str(root), limits)
            col.count_entry()
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                raise SubmissionError(f"{p}: symbolic links are not allowed in a submission")
            if not stat.S_ISREG(st.st_mode):
                raise SubmissionError(f"{p}: not a regular file")
            col.check_size(name, st.st_size)

            def read(n: int, p: Path = p) -> bytes:
                with open(p, "rb") as f:
                    return f.read(n)

            col.add(name, read)
    return sub


def _read_zip(path: Path, limits: Limits) -> SubmissionFiles:
    sub = SubmissionFiles(path, "zip")
    col = _Collector(sub, limits)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > limits.max_members:
                raise SubmissionError(
                    f"{path}: {len(infos)} entries; at most {limits.max_members} are allowed"
                )
            for info in infos:
                col.count_entry()
                name = clean_member_name(info.filename, str(path), limits)
                mode = info.external_attr >> 16
                if stat.S_ISLNK(mode):
                    raise SubmissionError(
                        f"{sub.where(name)}: symbolic links are not allowed in a submission"
                    )
                if info.is_dir():
                    continue
                if stat.S_IFMT(mode) and not stat.S_ISREG(mode):
                    raise SubmissionError(f"{sub.where(name)}: not a regular file")
                if info.flag_bits & 0x1:
                    raise SubmissionError(f"{sub.where(name)}: encrypted members are not supported")
                col.check_size(name, info.file_size)

                def read(n: int, info: zipfile.ZipInfo = info) -> bytes:
                    with zf.open(info) as f:
                        return f.read(n)

                col.add(name, read)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as e:
        raise SubmissionError(f"{path}: corrupt or unsupported zip archive ({e})") from None
    return sub


def _read_tar(path: Path, limits: Limits) -> SubmissionFiles:
    sub = SubmissionFiles(path, "tar")
    col = _Collector(sub, limits)
    try:
        with tarfile.open(path, mode="r:*") as tf:
            while True:
                m = tf.next()
                if m is None:
                    break
                col.count_entry()
                name = clean_member_name(m.name, str(path), limits)
                if m.issym() or m.islnk():
                    raise SubmissionError(
                        f"{sub.where(name)}: links are not allowed in a submission (points to {m.linkname!r})"
                    )
                if m.isdir():
                    continue
                if not m.isfile() or m.issparse():
                    raise SubmissionError(f"{sub.where(name)}: not a regular file")
                col.check_size(name, m.size)

                def read(n: int, m: tarfile.TarInfo = m) -> bytes:
                    f = tf.extractfile(m)
                    return f.read(n) if f is not None else b""

                col.add(name, read)
    except (tarfile.TarError, zlib.error, EOFError, OSError) as e:
        raise SubmissionError(f"{path}: corrupt or unsupported tar archive ({e})") from None
    return sub


def _strip_common_folder(sub: SubmissionFiles) -> None:
    names = list(sub.files)
    if not names or any("/" not in n for n in names):
        return
    tops = {n.split("/", 1)[0] for n in names}
    if len(tops) == 1:
        sub.files = {n.split("/", 1)[1]: b for n, b in sub.files.items()}


def read_submission_files(path: str | os.PathLike, limits: Limits | None = None) -> SubmissionFiles:
    """Read every file of a submission folder or archive (rules in the module docstring)."""
    limits = limits or Limits()
    p = Path(path).expanduser()
    if not p.exists():
        raise SubmissionError(f"{p}: no such submission folder or archive")
    if p.is_dir():
        sub = _read_folder(p, limits)
    elif p.is_file():
        size = p.stat().st_size
        if size > limits.max_archive_bytes:
            raise SubmissionError(
                f"{p}: {size} bytes is over the {limits.max_archive_bytes}-byte limit for an archive"
            )
        low = p.name.lower()
        if low.endswith(".zip") or (not low.endswith(_TAR_SUFFIXES) and zipfile.is_zipfile(p)):
            sub = _read_zip(p, limits)
        elif low.endswith(_TAR_SUFFIXES) or tarfile.is_tarfile(p):
            sub = _read_tar(p, limits)
        else:
            raise SubmissionError(
                f"{p}: not a submission folder, .zip or .tar(.gz|.bz2|.xz) archive"
            )
    else:
        raise SubmissionError(f"{p}: not a folder or a regular file")
    _strip_common_folder(sub)
    if not sub.files:
        raise SubmissionError(f"{p}: the submission holds no files")
    return sub
