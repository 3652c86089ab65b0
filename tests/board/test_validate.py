"""Validation: a good submission passes; each bad input is refused with a message naming it."""

from __future__ import annotations

import json
import zipfile

import pytest

from m2m_bench.board import SubmissionError, validate_submission
from m2m_bench.response import parse_response
from tests.board._helpers import metadata_for, predictions_lines, write_submission

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + "]><answer><action>&lol9;</action><skills><skill>x</skill></skills></answer>"
)


def test_good_submission_passes(good_submission, board_dataset):
    manifest, splits = board_dataset
    sub = validate_submission(good_submission)
    assert sorted(sub.predictions) == sorted(r["id"] for r in splits["test"])
    assert sub.metadata.dataset.content_hash == manifest["content_hash"]
    assert sub.submission_id.startswith("test-model-") and len(sub.content_sha256) == 64
    # The id depends on the content: another output gives another id.
    other = write_submission(
        good_submission.parent / "other",
        metadata_for(manifest),
        predictions_lines(splits["test"], "half"),
    )
    assert validate_submission(other).submission_id != sub.submission_id


def _bad(tmp_path, board_dataset, *, meta=None, lines=None, raw=None, **meta_overrides):
    manifest, splits = board_dataset
    meta = meta if meta is not None else metadata_for(manifest, **meta_overrides)
    if lines is None and raw is None:
        lines = predictions_lines(splits["test"])
    return write_submission(tmp_path / "bad", meta, lines, raw)


def test_malformed_json_is_refused(tmp_path, board_dataset):
    folder = _bad(tmp_path, board_dataset)
    (folder / "metadata.json").write_text('{"format_version": 1, "model_name": ')
    with pytest.raises(
        SubmissionError, match=r"metadata.json: not valid JSON \(Expecting value at line 1"
    ):
        validate_submission(folder)
    _, splits = board_dataset
    good = predictions_lines(splits["test"])
    raw = (json.dumps(good[0]) + "\n" + '{"id": "x1", "output": "unterminated\n').encode()
    folder = _bad(tmp_path, board_dataset, raw=raw)
    with pytest.raises(SubmissionError, match=r"predictions.jsonl: line 2: not valid JSON"):
        validate_submission(folder)
    folder = _bad(tmp_path, board_dataset, raw=b'["x0", "an array"]\n')
    with pytest.raises(SubmissionError, match=r"line 1: expected an object"):
        validate_submission(folder)
    folder = _bad(tmp_path, board_dataset, raw=b'{"id": "x0", "id": "x1", "output": "o"}\n')
    with pytest.raises(SubmissionError, match=r"line 1: not valid JSON \(duplicate key 'id'\)"):
        validate_submission(folder)


def test_missing_extra_and_duplicate_ids_are_refused(tmp_path, board_dataset):
    _, splits = board_dataset
    lines = predictions_lines(splits["test"])
    with pytest.raises(
        SubmissionError,
        match=r"field 'id': 1 record\(s\) of m2m 0.0.1 test have no prediction: 'x1'",
    ):
        validate_submission(_bad(tmp_path, board_dataset, lines=lines[:1]))
    with pytest.raises(
        SubmissionError, match=r"field 'id': 1 id\(s\) are not in m2m 0.0.1 test: 't0'"
    ):
        validate_submission(
            _bad(tmp_path, board_dataset, lines=[*lines, {"id": "t0", "output": "x"}])
        )
    with pytest.raises(
        SubmissionError, match=r"line 3: record 'x0': field 'id': duplicate id \(first on line 1\)"
    ):
        validate_submission(_bad(tmp_path, board_dataset, lines=[*lines, lines[0]]))
    with pytest.raises(SubmissionError, match=r"line 1: field 'id' must be a non-empty string"):
        validate_submission(_bad(tmp_path, board_dataset, lines=[{"id": 7, "output": "x"}]))
    with pytest.raises(SubmissionError, match=r"line 1: unknown field\(s\) 'score'"):
        validate_submission(_bad(tmp_path, board_dataset, lines=[{**lines[0], "score": 0.9}]))


def test_wrong_dataset_hash_version_and_split_are_refused(tmp_path, board_dataset):
    manifest, _ = board_dataset
    ds = dict(metadata_for(manifest)["dataset"])
    with pytest.raises(
        SubmissionError,
        match=r"field 'dataset.content_hash' 0000000000000000\.\.\. does not match m2m 0.0.1",
    ):
        validate_submission(_bad(tmp_path, board_dataset, dataset={**ds, "content_hash": "0" * 64}))
    with pytest.raises(
        SubmissionError, match=r"'9.9.9' is not a released version \(released: 0.0.1\)"
    ):
        validate_submission(_bad(tmp_path, board_dataset, dataset={**ds, "version": "9.9.9"}))
    with pytest.raises(SubmissionError, match=r"split 'train' is not ranked"):
        validate_submission(_bad(tmp_path, board_dataset, dataset={**ds, "split": "train"}))
    with pytest.raises(SubmissionError, match=r"content_hash 'abc' is not 64 lowercase hex digits"):
        validate_submission(_bad(tmp_path, board_dataset, dataset={**ds, "content_hash": "abc"}))


def test_nan_and_out_of_range_values_are_refused(tmp_path, board_dataset):
    manifest, _ = board_dataset
    folder = _bad(tmp_path, board_dataset)
    text = json.dumps(metadata_for(manifest)).replace('"parameters": 1000', '"parameters": NaN')
    (folder / "metadata.json").write_text(text)
    with pytest.raises(
        SubmissionError, match=r"metadata.json: not valid JSON \(NaN is not a number JSON allows\)"
    ):
        validate_submission(folder)
    (folder / "metadata.json").write_text(text.replace("NaN", "1e999"))
    with pytest.raises(SubmissionError, match=r"number 1e999 is out of the range of a double"):
        validate_submission(folder)
    for value, message in (
        (-5, "out of range"),
        (0, "out of range"),
        (10**14, "out of range"),
        (1.5, "must be an integer"),
        (True, "must be an integer"),
    ):
        with pytest.raises(SubmissionError, match=f"field 'parameters'.*{message}"):
            validate_submission(_bad(tmp_path, board_dataset, parameters=value))
    with pytest.raises(
        SubmissionError, match=r"line 1: not valid JSON \(Infinity is not a number JSON allows\)"
    ):
        validate_submission(
            _bad(tmp_path, board_dataset, raw=b'{"id": "x0", "output": "o", "x": Infinity}\n')
        )


def test_metadata_schema_errors_name_the_field(tmp_path, board_dataset):
    manifest, _ = board_dataset
    meta = metadata_for(manifest)
    del meta["contact"]
    with pytest.raises(SubmissionError, match=r"metadata.json: field 'contact' is missing"):
        validate_submission(_bad(tmp_path, board_dataset, meta=meta))
    with pytest.raises(SubmissionError, match=r"unknown field\(s\) 'scores'"):
        validate_submission(_bad(tmp_path, board_dataset, scores={"action.ss": 1.0}))
    with pytest.raises(SubmissionError, match=r"'trained_on_m2m_train' must be true or false"):
        validate_submission(_bad(tmp_path, board_dataset, trained_on_m2m_train="no"))
    with pytest.raises(SubmissionError, match=r"'format_version' is 2"):
        validate_submission(_bad(tmp_path, board_dataset, format_version=2))
    with pytest.raises(
        SubmissionError, match=r"'model_url' = 'javascript:alert\(1\)' is not an http\(s\) URL"
    ):
        validate_submission(_bad(tmp_path, board_dataset, model_url="javascript:alert(1)"))
    with pytest.raises(
        SubmissionError, match=r"field 'predictions' = '../x.jsonl' must be a relative file name"
    ):
        validate_submission(_bad(tmp_path, board_dataset, predictions="../x.jsonl"))
    folder = _bad(tmp_path, board_dataset)
    (folder / "policy.pt").write_bytes(b"\x80\x04not-read")  # carried along, never parsed
    assert validate_submission(folder).ignored == ["policy.pt"]
    (folder / "predictions.jsonl").unlink()
    with pytest.raises(
        SubmissionError,
        match=r"field 'predictions' names 'predictions.jsonl', which is not in the submission",
    ):
        validate_submission(folder)


def test_xml_bomb_in_predictions_is_refused_and_never_expanded(tmp_path, board_dataset):
    _, splits = board_dataset
    lines = predictions_lines(splits["test"])
    lines[1]["output"] = BILLION_LAUGHS
    with pytest.raises(
        SubmissionError,
        match=r"line 2: record 'x1': field 'output' holds an XML <!DOCTYPE declaration",
    ):
        validate_submission(_bad(tmp_path, board_dataset, lines=lines))
    lines[1]["output"] = (
        '<answer><!ENTITY x SYSTEM "file:///etc/passwd"><action>&x;</action></answer>'
    )
    with pytest.raises(SubmissionError, match=r"holds an XML <!ENTITY declaration"):
        validate_submission(_bad(tmp_path, board_dataset, lines=lines))
    # Defence in depth: the harness's parser refuses the declaration and expands nothing
    # (expanded, &lol9; would be 10**9 characters).
    parsed = parse_response(BILLION_LAUGHS)
    assert not parsed.valid and "lollol" not in parsed.action and len(parsed.action) < 20


def test_oversized_predictions_are_refused(tmp_path, board_dataset):
    from m2m_bench.board import Limits

    _, splits = board_dataset
    lines = predictions_lines(splits["test"])
    lines[0]["output"] = "x" * 100_001
    with pytest.raises(
        SubmissionError, match=r"line 1: record 'x0': field 'output' has 100001 characters"
    ):
        validate_submission(_bad(tmp_path, board_dataset, lines=lines))
    folder = _bad(tmp_path, board_dataset)
    limit = (folder / "metadata.json").stat().st_size
    assert (folder / "predictions.jsonl").stat().st_size > limit
    with pytest.raises(
        SubmissionError,
        match=rf"predictions.jsonl: \d+ bytes is over the {limit}-byte limit per file",
    ):
        validate_submission(folder, Limits(max_member_bytes=limit))
    with pytest.raises(
        SubmissionError, match=r"metadata.json: \d+ bytes is over the 100-byte limit"
    ):
        validate_submission(folder, Limits(max_metadata_bytes=100))


def test_archive_submission_validates_like_the_folder(good_submission, tmp_path):
    zpath = tmp_path / "good.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for p in sorted(good_submission.iterdir()):
            zf.write(p, arcname=f"good/{p.name}")
    a, b = validate_submission(good_submission), validate_submission(zpath)
    assert a.submission_id == b.submission_id and a.predictions == b.predictions


def _bad_cases(tmp_path, board_dataset) -> dict[str, tuple[object, str]]:
    """name -> (submission path, expected message) for each kind of bad input of the issue."""
    import io
    import tarfile

    manifest, splits = board_dataset
    lines = predictions_lines(splits["test"])
    cases: dict[str, tuple[object, str]] = {}

    def folder(name: str, **kw):
        return write_submission(tmp_path / name, kw.pop("meta", metadata_for(manifest)), **kw)

    cases["malformed"] = (folder("malformed", raw=b'{"id": "x0", "output": \n'), "not valid JSON")
    cases["missing-id"] = (folder("missing", lines=lines[:1]), "have no prediction")
    cases["extra-id"] = (
        folder("extra", lines=[*lines, {"id": "zz", "output": "o"}]),
        "are not in m2m",
    )
    cases["duplicate-id"] = (folder("dup", lines=[*lines, lines[1]]), "duplicate id")
    wrong = metadata_for(manifest)
    wrong["dataset"] = {**wrong["dataset"], "content_hash": "f" * 64}
    cases["wrong-hash"] = (folder("hash", meta=wrong, lines=lines), "does not match")
    cases["nan"] = (
        folder("nan", raw=b'{"id": "x0", "output": "o", "p": NaN}\n'),
        "NaN is not a number",
    )
    cases["out-of-range"] = (
        folder("range", meta=metadata_for(manifest, parameters=-1), lines=lines),
        "out of range",
    )
    bomb = [dict(lines[0], output=BILLION_LAUGHS), lines[1]]
    cases["xml-bomb"] = (folder("bomb", lines=bomb), "XML <!DOCTYPE declaration")
    huge = folder("huge", lines=lines)
    with open(huge / "predictions.jsonl", "r+b") as f:
        f.truncate(40 << 20)  # sparse: 40 MiB on paper, over the 32 MiB default limit
    cases["gigantic"] = (huge, "over the 33554432-byte limit per file")
    for trick, member in (
        ("dotdot", "../predictions.jsonl"),
        ("absolute", "/tmp/predictions.jsonl"),
    ):
        path = tmp_path / f"{trick}.tar.gz"
        with tarfile.open(path, "w:gz") as tf:
            for name, data in (
                ("metadata.json", json.dumps(metadata_for(manifest)).encode()),
                (member, b"x"),
            ):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
        cases[trick] = (path, "climbs out" if trick == "dotdot" else "absolute path")
    link = tmp_path / "link.tar.gz"
    with tarfile.open(link, "w:gz") as tf:
        info = tarfile.TarInfo("predictions.jsonl")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tf.addfile(info)
    cases["link"] = (link, "links are not allowed")
    return cases


def test_every_bad_input_is_refused_by_the_cli_and_nothing_is_stored(
    tmp_path, board_dataset, capsys
):
    from m2m_bench import leaderboard, submit
    from m2m_bench.board import Store
    from m2m_bench.cli import run_main

    root = tmp_path / "lb"
    with Store(root) as store:  # an existing, empty store
        assert store.count() == (0, 0)
    for name, (path, message) in _bad_cases(tmp_path, board_dataset).items():
        assert run_main(submit.main, [str(path)]) == 2, name
        assert message in capsys.readouterr().err, name
        assert leaderboard.main(["add", str(path), "--root", str(root)]) == 2, name
        err = capsys.readouterr().err
        assert message in err and "nothing was stored" in err, name
        with Store(root, read_only=True) as store:
            assert store.count() == (0, 0), name
