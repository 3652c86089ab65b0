"""End to end without a language model: ``predictions:`` and ``baseline:retrieval``."""

import json

from m2m_bench import metrics
from m2m_bench._results import SCHEMA, config_hash
from m2m_bench.evaluate import main
from m2m_bench.response import render_response

SEED_VERSION = "0.1.0"


def test_predictions_end_to_end(read_results, run_args, tmp_path, seed_records):
    records, manifest = seed_records
    rows = []
    for i, r in enumerate(records):
        out = render_response(r["action"], r["skills"]) if i % 2 == 0 else "I would probably run away."
        rows.append({"id": r["id"], "output": out})
    p = tmp_path / "preds.jsonl"
    p.write_text("".join(json.dumps(x) + "\n" for x in reversed(rows)), encoding="utf-8")

    assert main(["--model", f"predictions:{p}", *run_args()]) == 0
    res = read_results()
    assert res["schema"] == SCHEMA and res["config_hash"] == config_hash(res["config"])
    ds = res["config"]["dataset"]
    assert (ds["name"], ds["version"], ds["n"]) == ("m2m", SEED_VERSION, len(records))
    assert ds["content_hash"] == manifest["content_hash"]
    assert res["config"]["model"]["kind"] == "predictions"
    assert res["config"]["model"]["revision"].startswith("sha256:")
    assert [s["id"] for s in res["samples"]] == [r["id"] for r in records]
    assert [s["prediction"] for s in res["samples"]] == [x["output"] for x in rows]

    # the summary is what the metrics give when called directly on the same outputs
    outputs = [x["output"] for x in rows]
    for task in ("action", "skills", "format"):
        expect = metrics.aggregate(task, metrics.score_task(task, outputs, records))
        assert res["summary"][task] == expect
        assert res["config"]["versions"][task]["metrics"] == metrics.metric_versions(task)
    assert res["summary"]["format"]["format.valid"] == 0.5
    good, bad = res["samples"][0], res["samples"][1]
    assert good["parsed"]["valid"] and good["scores"]["format.valid"] == 1.0
    assert good["scores"]["action.ss"] > 0.99
    assert not bad["parsed"]["valid"] and bad["parsed"]["errors"]
    assert set(res["timings"]) >= {"load_data", "load_model", "generate", "score", "total"}


def test_baseline_retrieval_end_to_end(capsys, run_args):
    assert main(["--model", "baseline:retrieval", "--limit", "3", *run_args()]) == 0
    printed = capsys.readouterr().out
    assert "retrieval (nearest train)" in printed and "KMR" in printed and "Jaccard" in printed
    path = printed.strip().splitlines()[-1].split()[1]
    with open(path, encoding="utf-8") as f:
        res = json.load(f)
    assert res["config"]["dataset"]["n"] == 3 and res["config"]["dataset"]["split_size"] == 8
    assert res["config"]["generation"] is None
    assert all(s["neighbour"].startswith("seed-") and s["parsed"]["valid"] for s in res["samples"])
    assert res["summary"]["format"]["format.valid"] == 1.0
