"""Bad input: one clear message each (``error: ...`` on stderr), exit code 2, no traceback."""

import json
import socket
import subprocess
import sys

import pytest

from m2m_bench.evaluate import main
from m2m_bench.response import render_response


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_err(capsys, argv) -> str:
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def write_preds(tmp_path, rows, name="preds.jsonl"):
    p = tmp_path / name
    p.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return p


@pytest.fixture
def good_rows(seed_records):
    records, _ = seed_records
    return [{"id": r["id"], "output": render_response(r["action"], r["skills"])} for r in records]


def test_unknown_model_spec(capsys, run_args):
    msg = run_err(capsys, ["--model", "gpt-9:big", *run_args()])
    assert "unknown model spec 'gpt-9:big'" in msg and "predictions:" in msg


def test_missing_predictions_file(capsys, run_args, tmp_path):
    msg = run_err(capsys, ["--model", f"predictions:{tmp_path / 'none.jsonl'}", *run_args()])
    assert "none.jsonl: no such predictions file" in msg


def test_empty_predictions(capsys, run_args, tmp_path):
    p = tmp_path / "empty.jsonl"
    p.write_text("\n\n")
    assert "empty predictions file" in run_err(capsys, ["--model", f"predictions:{p}", *run_args()])


def test_prediction_ids_not_in_the_split(capsys, run_args, tmp_path, good_rows):
    p = write_preds(tmp_path, [*good_rows, {"id": "not-a-record", "output": "x"}])
    msg = run_err(capsys, ["--model", f"predictions:{p}", *run_args()])
    assert "1 prediction id(s) are not in split 'test' of m2m 0.1.0: 'not-a-record'" in msg


def test_duplicate_ids(capsys, run_args, tmp_path, good_rows):
    p = write_preds(tmp_path, [*good_rows, good_rows[0]])
    msg = run_err(capsys, ["--model", f"predictions:{p}", *run_args()])
    assert f"record {good_rows[0]['id']!r}: field 'id': duplicate id (first on line 1)" in msg


def test_records_without_prediction(capsys, run_args, tmp_path, good_rows):
    p = write_preds(tmp_path, good_rows[1:])
    msg = run_err(capsys, ["--model", f"predictions:{p}", *run_args()])
    assert f"have no prediction: {good_rows[0]['id']!r}" in msg


def test_unreachable_endpoint(capsys, run_args):
    url = f"http://127.0.0.1:{closed_port()}/v1"
    msg = run_err(capsys, ["--model", "openai:m", "--base-url", url, *run_args()])
    assert f"cannot reach the OpenAI-compatible endpoint {url}" in msg


def test_unreachable_judge_fails_before_generation(capsys, run_args, tmp_path, good_rows):
    p = write_preds(tmp_path, good_rows)
    url = f"http://127.0.0.1:{closed_port()}/v1"
    argv = ["--model", f"predictions:{p}", "--tasks", "judge", "--judge-model", "j", "--judge-base-url", url, *run_args()]
    assert f"cannot reach the OpenAI-compatible endpoint {url}" in run_err(capsys, argv)


@pytest.mark.parametrize(
    "extra,expected",
    [
        (["--tasks", "action,speed"], "unknown task(s) 'speed' in --tasks"),
        (["--tasks", " , "], "--tasks is empty"),
        (["--tasks", "judge"], "the judge task needs --judge-model"),
        (["--limit", "0"], "--limit must be >= 1"),
        (["--max-new-tokens", "0"], "--max-new-tokens must be >= 1"),
        (["--extra-body", "{nope"], "--extra-body is not valid JSON"),
    ],
)
def test_bad_options(capsys, run_args, extra, expected):
    argv = [*run_args(), "--model", "baseline:retrieval", *extra]
    assert expected in run_err(capsys, argv)


def test_unknown_version_and_split(capsys, tmp_path):
    common = ["--model", "baseline:retrieval", "--cache", str(tmp_path / "c"), "--output-dir", str(tmp_path)]
    assert "unknown version '9.9.9' of dataset 'm2m'" in run_err(capsys, [*common, "--version", "9.9.9"])
    assert "has no split 'dev'" in run_err(capsys, [*common, "--version", "0.1.0", "--split", "dev"])


def test_gsm8k_needs_a_generating_model(capsys, run_args, tmp_path, good_rows):
    p = write_preds(tmp_path, good_rows)
    msg = run_err(capsys, ["--model", f"predictions:{p}", "--tasks", "gsm8k", *run_args()])
    assert "gsm8k needs a model that generates" in msg


def test_module_entry_point_exits_non_zero_with_one_line(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "m2m_bench.evaluate", "--model", "nope:x", "--output-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )
    assert r.returncode == 2
    assert r.stderr.strip().startswith("error: unknown model spec 'nope:x'") and "Traceback" not in r.stderr


def test_response_prefix_for_stored_predictions(capsys, run_args, tmp_path, good_rows):
    p = write_preds(tmp_path, good_rows)
    msg = run_err(capsys, ["--model", f"predictions:{p}", "--response-prefix", "answer", *run_args()])
    assert f"--response-prefix answer needs assistant-turn prefill, which predictions:{p}" in msg
    assert "use --response-prefix none" in msg
    # asking for no prefix explicitly is fine
    assert main(["--model", f"predictions:{p}", "--response-prefix", "none", "--limit", "1", *run_args()]) == 0


def test_response_prefix_for_an_openai_endpoint_fails_before_any_request(capsys, run_args):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    requests = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):  # the endpoint probe
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def do_POST(self):  # pragma: no cover - must not happen
            requests.append(self.path)
            self.send_response(500)
            self.end_headers()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
        msg = run_err(capsys, ["--model", "openai:m", "--base-url", url, "--response-prefix", "answer", *run_args()])
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert "--response-prefix answer needs assistant-turn prefill, which openai:m cannot do" in msg
    assert "transformers serve included" in msg and "--model hf:<folder>" in msg
    assert requests == []


def test_unknown_response_prefix_is_an_argparse_error(capsys, run_args):
    with pytest.raises(SystemExit) as e:
        main(["--model", "baseline:retrieval", "--response-prefix", "think", *run_args()])
    assert e.value.code == 2
    assert "--response-prefix: invalid choice: 'think'" in capsys.readouterr().err
