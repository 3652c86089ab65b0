"""The whole pipeline on hand-written answers (batch-file backend): known votes, thresholds,
normalization, failures recorded against records, drops counted, rebuilds and resume."""

from __future__ import annotations

import json
from collections import Counter

import pyarrow.parquet as pq
import pytest
import yaml

from m2m_bench.construct.backends import BatchBackend, import_responses
from m2m_bench.construct.cache import CallCache
from m2m_bench.construct.config import ConstructConfig
from m2m_bench.construct.llm import LLM
from m2m_bench.construct.output import finalize, rebuild
from m2m_bench.construct.pipeline import build
from m2m_bench.data import verify_folder
from m2m_bench.errors import M2MError
from m2m_bench.schema import validate_records

from .conftest import ANSWERS, D1_ERA, DIALOGUES, build_with_annotator, make_config, write_jsonl


def records(folder):
    out = {}
    for p in sorted((folder / "data").glob("*.parquet")):
        for r in pq.read_table(p).to_pylist():
            out[r["id"]] = (p.name.split("-")[0], r)
    return out


def test_known_votes_thresholds_and_normalization(built):
    folder = built["written"].folder
    verify_folder(folder, check_content=True)
    recs = records(folder)
    assert sorted(recs) == ["d1", "d3"]
    assert not validate_records([r for _, r in recs.values()])
    d1 = recs["d1"][1]
    assert d1["era_cot"] == D1_ERA
    assert d1["action"] == "a person grabs the smoking towel and pulls it off the stove."
    assert d1["skills"] == ["grab the towel", "step back"]
    assert d1["source"] == {"corpus": "dialogues", "source_id": "d1", "license": "CC0-1.0"}
    split, d3 = recs["d3"]
    assert split == "test" and d3["era_cot"] is None and d3["skills"] == ["kneel", "sweep with a broom"]
    # the implicit candidates before discrimination, with eq. (1) likelihoods
    cands = built["build"].items[0].results["implicit"]["value"]
    assert [(c["relation"], c["likelihood"]) for c in cands] == [("must grab", 0.4667), ("burns", 0.1)]
    dropped = built["build"].items[0].results["discriminate"]["value"]["dropped"]
    assert dropped == [{"head": "kettle", "relation": "burns", "tail": "Ana", "score": 0.55}]


def test_pipeline_yaml_records_drops_failures_and_settings(built):
    folder = built["written"].folder
    doc = yaml.safe_load((folder / "pipeline.yaml").read_text())
    assert doc["threshold"] == 0.6
    assert doc["drops"] == {"entities": {"all_samples_failed": 1, "no_majority": 1}}
    assert doc["unannotated"] == {"explicit": {"all_samples_failed": 1}}
    assert doc["malformed_answers"] == {
        "entities": {"bad_json": 6, "hallucinated_entity": 1},
        "explicit": {"bad_json": 1, "missing_field": 6},
        "implicit": {"hallucinated_entity": 2},
        "summarize": {"missing_field": 1},
    }
    assert doc["counts"] == {"input": 4, "output": 2, "annotated": 1, "splits": {s: n for s, n in built["written"].splits.items()}}
    assert doc["stages"]["discriminate"]["params"]["threshold"] == 0.6
    assert doc["stages"]["discriminate"]["params"]["samples"] == 2
    assert doc["stages"]["entities"]["params"]["samples"] == 3
    from m2m_bench.construct.stages import RECORD_STAGES

    for name in ("entities", "explicit", "implicit", "discriminate", "summarize"):
        assert doc["stages"][name]["version"] == RECORD_STAGES[name].version
        assert "$conversation" in doc["stages"][name]["prompt"]
    assert doc["backend"] == {"kind": "batch", "model": "annotator"}
    # every answer the build used (malformed ones included) is counted and shipped
    n_calls = doc["calls"]["calls"]
    assert n_calls == len(built["build"].llm.used) > 20
    import gzip

    shipped = gzip.decompress((folder / "construct/calls.jsonl.gz").read_bytes()).decode().splitlines()
    assert len(shipped) == n_calls


def test_failures_recorded_against_records(built):
    folder = built["written"].folder
    rows = [json.loads(line) for line in (folder / "construct/failures.jsonl").read_text().splitlines()]
    d2 = [r for r in rows if r["id"] == "d2"]
    assert [r["kind"] for r in d2 if not r.get("final")] == ["bad_json"] * 6  # 3 samples x 2 attempts
    assert [(r["stage"], r["kind"]) for r in d2 if r.get("final")] == [("entities", "all_samples_failed")]
    d1_imp = [r for r in rows if r["id"] == "d1" and r["stage"] == "implicit"]
    assert [(r["sample"], r["attempt"], r["kind"]) for r in d1_imp] == [(2, 0, "hallucinated_entity"), (2, 1, "hallucinated_entity")]
    assert '"stove" is not one of the listed entities' in d1_imp[0]["message"]
    drops = {d["id"]: d for d in map(json.loads, (folder / "construct/drops.jsonl").read_text().splitlines())}
    assert drops["d4"]["outcome"] == "dropped" and drops["d4"]["kind"] == "no_majority"
    assert drops["d3"]["outcome"] == "unannotated" and drops["d3"]["stage"] == "explicit"


def test_retry_shows_the_error_to_the_model(built):
    cache = built["build"].llm.cache
    reqs = [json.loads(r[0]) for r in cache._db.execute("SELECT request FROM calls")]
    retries = [r for r in reqs if any(m["role"] == "assistant" for m in r["messages"])]
    assert retries
    texts = [r["messages"][-1]["content"] for r in retries]
    assert any('"stove" does not occur in the dialogue' in t for t in texts)
    assert all(t.startswith("Your answer could not be used:") for t in texts)


def test_rebuild_from_cache_alone_same_content_hash(built, tmp_path):
    folder = built["written"].folder
    r = rebuild(folder, root=tmp_path / "rebuilt", version="0.1.0")
    assert r.matches and r.written.content_hash == built["written"].content_hash
    assert records(r.written.folder) == records(folder)
    # without the shipped calls and with an empty cache, the offline rebuild stops with a clear error
    (tmp_path / "bare").mkdir()
    with pytest.raises(M2MError, match=r"offline rebuild: \d+ call\(s\) are not in the cache"):
        rebuild(folder, root=tmp_path / "bare", version="0.1.0", cache=tmp_path / "empty.sqlite")


def test_rebuild_checks_the_input(built, tmp_path):
    changed = write_jsonl(tmp_path / "changed.jsonl", [dict(d, conversation=d["conversation"] + " Hurry!") for d in DIALOGUES])
    with pytest.raises(M2MError, match="differs from the one 0.1.0 was built from"):
        rebuild(built["written"].folder, root=tmp_path / "x", version="0.1.0", inputs=[f"jsonl:{changed}"])


def test_rerun_makes_no_calls_and_resume_reuses_stage_results(built):
    cache, config = built["build"].llm.cache, built["config"]
    again, rounds = build_with_annotator(config, cache, ANSWERS, built["tmp"], resume=False)
    assert rounds == 0
    assert sum(r.stats.calls + r.stats.pending for r in again.reports.values()) == 0
    assert sum(r.stats.cache_hits for r in again.reports.values()) == len(built["build"].llm.used)
    resumed, _ = build_with_annotator(config, cache, ANSWERS, built["tmp"], resume=True)
    for r in resumed.reports.values():
        assert r.reused == r.records and r.stats.cache_hits == 0 and r.stats.calls == 0
    assert resumed.llm.used == built["build"].llm.used  # reused results still account for their calls


def test_changed_stage_reruns_only_itself_and_what_follows(built):
    cache = built["build"].llm.cache

    def once(**overrides):
        config = make_config(built["src"], overrides={"discriminate": {"samples": 2}, **overrides})
        b = build(config, LLM(BatchBackend("annotator"), cache), resume=True, progress=False)
        return {n: (r.records, r.reused, r.stats.cache_hits, r.stats.pending) for n, r in b.reports.items()}

    # (records, reused, cache hits, new requests) per stage
    last = once(summarize={"max_tokens": 123})  # max_tokens is in the call key: d1 is asked again
    assert last == {
        "entities": (4, 4, 0, 0),
        "explicit": (2, 2, 0, 0),
        "implicit": (1, 1, 0, 0),
        "discriminate": (1, 1, 0, 0),
        "summarize": (2, 0, 0, 1),  # recomputed: d1 asked anew, d3 keeps its own action
    }
    mid = once(implicit={"max_candidates": 1})
    assert mid["entities"] == (4, 4, 0, 0) and mid["explicit"] == (2, 2, 0, 0)
    assert mid["implicit"] == (1, 0, 4, 0)  # recomputed (3 samples + 1 retry); same prompts: all cached
    assert mid["discriminate"] == (1, 0, 0, 2)  # one candidate now: a new prompt per sample
    assert "summarize" in mid


def test_openai_batch_output_format_is_imported_with_usage(tmp_path, cache):
    src = write_jsonl(tmp_path / "dialogues.jsonl", DIALOGUES[:1])
    b, _ = build_with_annotator(make_config(src), cache, ANSWERS, tmp_path, batch_api_format=True)
    w = finalize(b, root=tmp_path / "datasets", version="0.1.0")
    doc = yaml.safe_load((w.folder / "pipeline.yaml").read_text())
    assert doc["calls"]["prompt_tokens"] == 100 * doc["calls"]["calls"]
    assert doc["calls"]["completion_tokens"] == 20 * doc["calls"]["calls"]


def test_batch_import_errors_name_file_line_field(tmp_path, cache):
    bad = tmp_path / "answers.jsonl"
    bad.write_text('{"custom_id": "abc", "content": "x"}\n')
    with pytest.raises(M2MError, match=r"answers.jsonl: line 1: field \"custom_id\" 'abc' is not a pending request"):
        import_responses(cache, bad)
    bad.write_text('{"content": "x"}\n')
    with pytest.raises(M2MError, match=r"line 1: field \"custom_id\" is missing"):
        import_responses(cache, bad)
    bad.write_text("{oops\n")
    with pytest.raises(M2MError, match="line 1: not valid UTF-8 JSON"):
        import_responses(cache, bad)


def test_finalizing_again_is_a_no_op_but_other_records_are_refused(built, tmp_path):
    from m2m_bench.errors import VersionExists

    b, w = built["build"], built["written"]
    again = finalize(b, root=tmp_path / "datasets", version="0.1.0")
    assert not again.written and again.folder == w.folder and again.content_hash == w.content_hash
    b.items[2].state = "dropped"  # d3 out: other records under the same version
    b.items[2].reason = ("test", "x", "")
    with pytest.raises(VersionExists):
        finalize(b, root=tmp_path / "datasets", version="0.1.0")


def test_no_surviving_record_is_a_clear_error(tmp_path, cache):
    src = write_jsonl(tmp_path / "d.jsonl", [DIALOGUES[1]])
    b, _ = build_with_annotator(make_config(src), cache, ANSWERS, tmp_path)
    with pytest.raises(M2MError, match=r"no record survived the pipeline \(dropped: \{'entities:all_samples_failed': 1\}\)"):
        finalize(b, root=tmp_path / "datasets", version="0.1.0")
    assert not (tmp_path / "datasets" / "m2m" / "versions" / "0.1.0").exists()


def test_cache_survives_reopen(tmp_path):
    p = tmp_path / "c.sqlite"
    from m2m_bench.construct.cache import Reply, call_key, request_dict

    req = request_dict("openai", "m", [{"role": "user", "content": "hi"}], {"temperature": 0.0}, 0)
    with CallCache(p) as c:
        c.put(call_key(req), req, Reply("hello", 3, 1, 0.5))
    with CallCache(p) as c:
        assert c.get(call_key(req)) == Reply("hello", 3, 1, 0.5, None)
        other = request_dict("openai", "m", [{"role": "user", "content": "hi"}], {"temperature": 0.0}, 1)
        assert call_key(other) != call_key(req) and c.get(call_key(other)) is None  # sample index is in the key


def test_splits_keep_families_together_and_honor_given_splits():
    import m2m_bench
    from m2m_bench.construct.output import split_of
    from m2m_bench.construct.pipeline import Build
    from m2m_bench.construct.sources import SourceRecord
    from m2m_bench.construct.stages import DEFAULT_TAXONOMY, Item

    # distinct natural texts: identical ones would be near-duplicates and share one split
    texts = iter(m2m_bench.load_dataset("gsm8k", split="test")["question"][:62])
    src = {"corpus": "t", "source_id": "t", "license": "MIT"}
    recs = [SourceRecord(f"r{i}", next(texts), src, meta={"family": f"fam{i % 4}"}) for i in range(40)]
    recs += [SourceRecord("pinned", next(texts), src, split="test", meta={"family": "fam0"})]
    recs += [SourceRecord(f"solo{i}", next(texts), src) for i in range(20)]
    recs += [SourceRecord("dev1", next(texts), src, split="dev")]
    b = Build(ConstructConfig(inputs=["jsonl:x"]), [Item(r) for r in recs], [], DEFAULT_TAXONOMY, "", {}, None, 0.0)
    split = split_of(b)
    for fam in range(4):
        assert len({split[f"r{i}"] for i in range(fam, 40, 4)}) == 1  # a family never straddles splits
    assert split["r0"] == split["pinned"] == "test"  # fam0 is pinned by its released record
    assert split["dev1"] == "dev"
    assert split == split_of(b)  # deterministic
    counts = Counter(split[r.id] for r in recs[:-1])
    assert counts["train"] >= counts["validation"] + counts["test"]  # train has the largest share
    # near-duplicate conversations link their families into one split
    twin = SourceRecord("twin", recs[1].conversation, src, meta={"family": "other-family"})
    b2 = Build(ConstructConfig(inputs=["jsonl:x"]), [Item(r) for r in [*recs[:-1], twin]], [], DEFAULT_TAXONOMY, "", {}, None, 0.0)
    split2 = split_of(b2)
    assert split2["twin"] == split2["r1"]
