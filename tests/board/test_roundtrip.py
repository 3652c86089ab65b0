"""Round trip: submit -> leaderboard add -> build -> a real headless Chromium renders and sorts the board."""

from __future__ import annotations

import json
import tarfile

import pytest

from m2m_bench import leaderboard, submit
from m2m_bench.board import Store
from m2m_bench.metrics import aggregate, score_task
from tests.board._helpers import metadata_for, predictions_lines, write_submission
from tests.board._webdriver import Browser, find_binaries

BROWSER = find_binaries()
needs_browser = pytest.mark.skipif(
    BROWSER is None,
    reason="needs Debian's chromium and chromium-driver (`make sysdeps` installs them)",
)


def _cells(b: Browser, table: str) -> list[dict[str, str]]:
    """Each body row of ``table`` as {column key or name: cell data-value/text}."""
    script = """
    const t = document.querySelector(arguments[0]);
    const keys = Array.from(t.tHead.rows[1].cells).map((c, i) => c.dataset.key || ('col' + i));
    return Array.from(t.tBodies[0].rows).map(r => {
      const o = {id: r.dataset.id};
      Array.from(r.cells).forEach((c, i) => { o[keys[i]] = c.dataset.value ?? c.textContent.trim(); });
      o.rank = r.cells[0].textContent.trim();
      return o;
    });"""
    return b.execute(script, table)


@needs_browser
@pytest.mark.slow
def test_submit_add_build_and_browse(tmp_path, board_dataset, capsys):
    manifest, splits = board_dataset
    test = splits["test"]
    oracle = write_submission(
        tmp_path / "oracle", metadata_for(manifest, model_name="Oracle"), predictions_lines(test)
    )
    half_dir = write_submission(
        tmp_path / "half-src",
        metadata_for(
            manifest, model_name="Half right", parameters=5_000_000, divergence="js", method="GRPO"
        ),
        predictions_lines(test, "half"),
    )
    half = tmp_path / "half.tar.gz"  # the second one arrives as an archive
    with tarfile.open(half, "w:gz") as tf:
        tf.add(half_dir, arcname="half")

    # submit: validates and prints the scores the harness gives, stores nothing.
    assert submit.main([str(half), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    got = {s["metric"]: s["value"] for s in shown["scores"]}
    # The same numbers as scoring the outputs with the harness's metrics directly.
    outputs = [line["output"] for line in predictions_lines(test, "half")]
    for task in ("action", "skills", "format"):
        for metric, value in aggregate(task, score_task(task, outputs, test)).items():
            if value is not None:
                assert got[metric] == pytest.approx(value), metric
    assert got["action.ss"] < 1.0 and got["skills.jaccard"] == pytest.approx(0.5)
    root = tmp_path / "lb"
    assert not (root / "leaderboard.duckdb").exists()

    # add: both stored; a bad one is refused and changes nothing.
    assert leaderboard.main(["add", str(oracle), str(half), "--root", str(root)]) == 0
    bad = write_submission(
        tmp_path / "bad", metadata_for(manifest, model_name="Bad"), predictions_lines(test)[:1]
    )
    assert leaderboard.main(["add", str(bad), "--root", str(root)]) == 2
    assert "have no prediction" in capsys.readouterr().err
    assert leaderboard.main(["add", str(oracle), "--root", str(root)]) == 2  # the same files twice
    with Store(root, read_only=True) as store:
        entries = store.entries()
        n_subs, n_rows = store.count()
    assert n_subs == 2 and n_rows == sum(len(e.scores) for e in entries) >= 2 * 14
    by_name = {e.model_name: e for e in entries}
    ss = {n: next(s.value for s in e.scores if s.metric == "action.ss") for n, e in by_name.items()}
    assert ss["Oracle"] == pytest.approx(1.0) and ss["Half right"] == pytest.approx(
        got["action.ss"]
    )
    assert leaderboard.main(["list", "--root", str(root)]) == 0
    assert "Half right" in capsys.readouterr().out

    # build + browser.
    assert leaderboard.main(["build", "--root", str(root)]) == 0
    index = root / "site" / "index.html"
    table = f"#board-m2m-{manifest['version'].replace('.', '_')}-test"
    cps_key = next(
        f"action|action.cps|{s.metric_version}"
        for s in by_name["Oracle"].scores
        if s.metric == "action.cps"
    )
    with Browser(*BROWSER) as b:
        b.get(index.resolve().as_uri())
        assert b.text(b.find("h1")) == "M2M leaderboard"
        rows = _cells(b, table)
        assert [r["model"] for r in rows] == ["oracle", "half right"]  # best CPS first
        assert [r["rank"] for r in rows] == ["1", "2"]
        for r in rows:
            entry = by_name["Oracle" if r["model"] == "oracle" else "Half right"]
            assert float(r[cps_key]) == pytest.approx(
                next(s.value for s in entry.scores if s.metric == "action.cps")
            )
        assert b.displayed(b.find(f"{table} tbody tr"))
        # Click CPS: it was sorted best-first, so the first click reverses it.
        b.click(b.find(f'{table} th[data-key="{cps_key}"] button'))
        assert [r["model"] for r in _cells(b, table)] == ["half right", "oracle"]
        assert b.attribute(b.find(f'{table} th[data-key="{cps_key}"]'), "aria-sort") == "ascending"
        # Parameters: fewest first; then Model: alphabetical; ranks follow the rows.
        b.click(b.find(f'{table} th[data-key="params"] button'))
        rows = _cells(b, table)
        assert [r["params"] for r in rows] == ["1000", "5000000"] and [r["rank"] for r in rows] == [
            "1",
            "2",
        ]
        b.click(b.find(f'{table} th[data-key="model"] button'))
        assert [r["model"] for r in _cells(b, table)] == ["half right", "oracle"]
        # Plots are inline SVG: SS-vs-Jaccard scatter and one bar chart per metric.
        labels = [b.attribute(s, "aria-label") for s in b.find_all("svg.plot")]
        assert "Semantic similarity vs skill Jaccard" in labels
        assert sum(1 for lab in labels if lab.startswith("Action: ")) == 4
        # Each entry links to its metadata and results JSON, which open from disk.
        first = b.find(f"{table} tbody tr[data-id]")
        sid = b.attribute(first, "data-id")
        b.click(b.find_all('td.files a[href$="results.json"]', root=first)[0])
        assert b.execute("return location.href").endswith(f"entries/{sid}/results.json")
        results = json.loads(b.execute("return document.body.innerText"))
        assert results["schema"] == "m2m-bench-results" and results["board"]["submission_id"] == sid
