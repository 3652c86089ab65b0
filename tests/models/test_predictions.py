import json

import pytest

from m2m_bench.models import load_model
from m2m_bench.models.predictions import PredictionsError, read_predictions


def write(tmp_path, lines, name="p.jsonl"):
    p = tmp_path / name
    p.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return p


def test_reads_ids_and_outputs_and_skips_blank_lines(tmp_path):
    p = write(tmp_path, [json.dumps({"id": "a", "output": "x", "extra": 1}), "", "  ", json.dumps({"id": "b", "output": "ü"})])
    assert read_predictions(p) == {"a": "x", "b": "ü"}


@pytest.mark.parametrize(
    "lines,pattern",
    [
        ([], "empty predictions file"),
        (["", "   "], "empty predictions file"),
        (["{not json"], r"line 1: not valid JSON"),
        (["[1, 2]"], r"line 1: expected an object"),
        ([json.dumps({"output": "x"})], r"line 1: field 'id' is missing"),
        ([json.dumps({"id": "", "output": "x"})], r"line 1: field 'id' must be a non-empty string"),
        ([json.dumps({"id": 3, "output": "x"})], r"line 1: field 'id' must be a non-empty string"),
        ([json.dumps({"id": "a"})], r"line 1: record 'a': field 'output' is missing"),
        ([json.dumps({"id": "a", "output": None})], r"record 'a': field 'output' must be a string, got NoneType"),
        (
            [json.dumps({"id": "a", "output": "x"}), json.dumps({"id": "b", "output": "y"}), json.dumps({"id": "a", "output": "z"})],
            r"line 3: record 'a': field 'id': duplicate id \(first on line 1\)",
        ),
        (["[" * 100000 + "]" * 100000], r"line 1: not valid JSON"),
    ],
)
def test_bad_files_get_one_clear_message(tmp_path, lines, pattern):
    p = write(tmp_path, lines)
    with pytest.raises(PredictionsError, match=pattern) as e:
        read_predictions(p)
    assert str(p) in str(e.value)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(PredictionsError, match="no such predictions file"):
        read_predictions(tmp_path / "nope.jsonl")
    with pytest.raises(PredictionsError, match="is not a file"):
        read_predictions(tmp_path)


def test_size_limits(tmp_path):
    p = write(tmp_path, [json.dumps({"id": "a", "output": "x" * 500})])
    with pytest.raises(PredictionsError, match="over the 100-byte limit"):
        read_predictions(p, max_file_bytes=100)
    with pytest.raises(PredictionsError, match="line 1: longer than the 100-byte limit"):
        read_predictions(p, max_line_bytes=100)
    with pytest.raises(PredictionsError, match="500 characters, over the 50 limit"):
        read_predictions(p, max_output_chars=50)
    assert read_predictions(p)["a"] == "x" * 500


def test_invalid_utf8(tmp_path):
    p = tmp_path / "p.jsonl"
    p.write_bytes(b'{"id": "a", "output": "x"}\n{"id": "b", "output": "\xff"}\n')
    with pytest.raises(PredictionsError, match="line 2: not valid UTF-8"):
        read_predictions(p)


def test_model_checks_ids_and_missing_records(tmp_path):
    p = write(tmp_path, [json.dumps({"id": "a", "output": "A"}), json.dumps({"id": "zz", "output": "Z"})])
    m = load_model(f"predictions:{p}")
    assert m.revision.startswith("sha256:") and not m.cacheable and not m.can_generate
    with pytest.raises(PredictionsError, match=r"1 prediction id\(s\) are not in the test split: 'zz'"):
        m.check_ids(["a", "b"], "the test split")
    m.check_ids(["a", "b", "zz"])
    assert m.predict([{"id": "zz"}, {"id": "a"}], [[], []]) == ["Z", "A"]
    with pytest.raises(PredictionsError, match="have no prediction: 'b'"):
        m.predict([{"id": "a"}, {"id": "b"}], [[], []])
