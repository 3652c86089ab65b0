"""Reading submissions from folders and archives: good layouts, and every path trick refused."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from m2m_bench.board import Limits, SubmissionError, read_submission_files

FILES = {"metadata.json": b'{"a": 1}\n', "predictions.jsonl": b'{"id": "x0", "output": "o"}\n'}


def _tar(
    path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]], mode: str = "w:gz"
) -> Path:
    with tarfile.open(path, mode) as tf:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
            else:
                tf.addfile(info)
    return path


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def test_folder_tar_and_zip_read_the_same_files(tmp_path):
    folder = tmp_path / "sub"
    folder.mkdir()
    for n, b in FILES.items():
        (folder / n).write_bytes(b)
    tgz = tmp_path / "sub.tar.gz"
    with tarfile.open(tgz, "w:gz") as tf:
        tf.add(folder, arcname="my-submission")  # one wrapping folder: dropped from names
    zpath = tmp_path / "sub.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for n, b in FILES.items():
            zf.writestr(n, b)
    for p, kind in ((folder, "folder"), (tgz, "tar"), (zpath, "zip")):
        sub = read_submission_files(p)
        assert sub.kind == kind
        assert sub.files == FILES
    assert read_submission_files(zpath).where("metadata.json") == f"{zpath}:metadata.json"


@pytest.mark.parametrize(
    "name, message",
    [
        ("../evil.jsonl", "climbs out of the archive"),
        ("sub/../../evil.jsonl", "climbs out of the archive"),
        ("/etc/evil.jsonl", "absolute path"),
        ("C:/evil.jsonl", "absolute path"),
        ("sub\\..\\evil.jsonl", "backslash"),
    ],
)
def test_tar_and_zip_path_tricks_are_refused(tmp_path, name, message):
    tpath = _tar(tmp_path / "t.tar.gz", [_file("metadata.json", b"{}"), _file(name, b"x")])
    with pytest.raises(SubmissionError, match=message) as e:
        read_submission_files(tpath)
    assert str(tpath) in str(e.value)
    zpath = tmp_path / "z.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("metadata.json", b"{}")
        zf.writestr(zipfile.ZipInfo(name), b"x")
    with pytest.raises(SubmissionError, match=message):
        read_submission_files(zpath)
    # Nothing was written next to the archives.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.tar.gz", "z.zip"]


def test_tar_links_and_devices_are_refused(tmp_path):
    sym = tarfile.TarInfo("predictions.jsonl")
    sym.type, sym.linkname = tarfile.SYMTYPE, "/etc/passwd"
    with pytest.raises(SubmissionError, match="links are not allowed.*'/etc/passwd'"):
        read_submission_files(
            _tar(tmp_path / "sym.tgz", [_file("metadata.json", b"{}"), (sym, None)])
        )
    hard = tarfile.TarInfo("predictions.jsonl")
    hard.type, hard.linkname = tarfile.LNKTYPE, "metadata.json"
    with pytest.raises(SubmissionError, match="links are not allowed"):
        read_submission_files(
            _tar(tmp_path / "hard.tgz", [_file("metadata.json", b"{}"), (hard, None)])
        )
    fifo = tarfile.TarInfo("predictions.jsonl")
    fifo.type = tarfile.FIFOTYPE
    with pytest.raises(SubmissionError, match="not a regular file"):
        read_submission_files(
            _tar(tmp_path / "fifo.tgz", [_file("metadata.json", b"{}"), (fifo, None)])
        )


def test_zip_symlink_is_refused(tmp_path):
    zpath = tmp_path / "link.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("metadata.json", b"{}")
        info = zipfile.ZipInfo("predictions.jsonl")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, b"/etc/passwd")
    with pytest.raises(SubmissionError, match="symbolic links are not allowed") as e:
        read_submission_files(zpath)
    assert "predictions.jsonl" in str(e.value)


def test_folder_symlinks_are_refused(tmp_path):
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "metadata.json").write_text("{}")
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read")
    os.symlink(secret, folder / "predictions.jsonl")
    with pytest.raises(SubmissionError, match="symbolic links are not allowed"):
        read_submission_files(folder)
    os.remove(folder / "predictions.jsonl")
    os.symlink(tmp_path, folder / "up")
    with pytest.raises(SubmissionError, match="symbolic links are not allowed"):
        read_submission_files(folder)


def test_duplicate_members_and_too_many_members_are_refused(tmp_path):
    tpath = _tar(
        tmp_path / "dup.tar",
        [_file("metadata.json", b"{}"), _file("./metadata.json", b"{}")],
        mode="w",
    )
    with pytest.raises(SubmissionError, match="holds this member twice"):
        read_submission_files(tpath)
    many = _tar(tmp_path / "many.tgz", [_file(f"f{i}.txt", b"x") for i in range(20)])
    with pytest.raises(SubmissionError, match="more than 10 entries"):
        read_submission_files(many, Limits(max_members=10))


def test_gigantic_files_are_refused_without_reading_them(tmp_path):
    # A sparse 1 GiB file in a folder: refused from its size, nothing read.
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "metadata.json").write_text("{}")
    with open(folder / "predictions.jsonl", "wb") as f:
        f.truncate(1 << 30)
    with pytest.raises(
        SubmissionError, match=r"1073741824 bytes is over the .*-byte limit per file"
    ):
        read_submission_files(folder)
    # A gzip bomb: 40 MiB of zeros compress to ~40 KiB; the member's size is over the limit.
    bomb = _tar(
        tmp_path / "bomb.tar.gz",
        [_file("metadata.json", b"{}"), _file("predictions.jsonl", bytes(40 << 20))],
    )
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(SubmissionError, match="over the .*-byte limit per file"):
        read_submission_files(bomb, Limits(max_member_bytes=32 << 20))
    # Many members that are each small but too large together.
    total = _tar(tmp_path / "total.tgz", [_file(f"f{i}.jsonl", bytes(600)) for i in range(4)])
    with pytest.raises(SubmissionError, match="exceed 2000 bytes in all"):
        read_submission_files(total, Limits(max_total_bytes=2000))
    # The archive file itself.
    with pytest.raises(SubmissionError, match="limit for an archive"):
        read_submission_files(bomb, Limits(max_archive_bytes=1000))


def test_zip_bomb_is_refused_from_its_declared_size(tmp_path):
    zpath = tmp_path / "bomb.zip"
    with zipfile.ZipFile(zpath, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("metadata.json", b"{}")
        zf.writestr("predictions.jsonl", bytes(8 << 20))
    assert zpath.stat().st_size < 100_000
    with pytest.raises(
        SubmissionError, match=r"8388608 bytes is over the 1048576-byte limit per file"
    ):
        read_submission_files(zpath, Limits(max_member_bytes=1 << 20))


def test_corrupt_and_unknown_files_are_refused(tmp_path):
    junk = tmp_path / "sub.tar.gz"
    junk.write_bytes(b"\x1f\x8b" + os.urandom(200))
    with pytest.raises(SubmissionError, match="corrupt or unsupported tar archive"):
        read_submission_files(junk)
    text = tmp_path / "sub.txt"
    text.write_text("hello")
    with pytest.raises(SubmissionError, match="not a submission folder, .zip or .tar"):
        read_submission_files(text)
    with pytest.raises(SubmissionError, match="no such submission"):
        read_submission_files(tmp_path / "missing")
