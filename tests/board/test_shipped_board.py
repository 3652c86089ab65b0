"""The shipped baseline submissions: valid, re-scored by the harness, shown by a real browser.

Builds a board from ``leaderboard/submissions/*`` in a temporary store (the real m2m data),
opens it in headless Chromium and saves ``leaderboard/screenshot.png``, the picture the
leaderboard README shows.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from m2m_bench import leaderboard
from m2m_bench.board import Store
from tests.board._webdriver import Browser, find_binaries

REPO = Path(__file__).resolve().parents[2]
SUBMISSIONS = REPO / "leaderboard" / "submissions"
SCREENSHOT = REPO / "leaderboard" / "screenshot.png"
BASELINES = ("retrieval-baseline", "smollm2-135m-zeroshot")
BROWSER = find_binaries()


@pytest.mark.slow
@pytest.mark.skipif(
    BROWSER is None, reason="needs Debian's chromium and chromium-driver (`make sysdeps`)"
)
def test_baseline_board_renders_and_is_screenshotted(tmp_path, capsys):
    folders = [SUBMISSIONS / name for name in BASELINES]
    missing = [str(f) for f in folders if not (f / "metadata.json").is_file()]
    assert not missing, f"run scripts/make_baseline_submissions.py: missing {missing}"
    root = tmp_path / "lb"
    assert leaderboard.main(["add", *map(str, folders), "--root", str(root)]) == 0
    assert leaderboard.main(["build", "--root", str(root)]) == 0
    with Store(root, read_only=True) as store:
        entries = store.entries()
    assert sorted(e.model_name for e in entries) == sorted(
        json.loads((f / "metadata.json").read_text())["model_name"] for f in folders
    )
    version = entries[0].dataset_version
    table = f"#board-m2m-{version.replace('.', '_')}-test"
    with Browser(*BROWSER) as b:
        b.get((root / "site" / "index.html").resolve().as_uri())
        names = b.execute(
            "return Array.from(document.querySelectorAll(arguments[0] + ' tbody td.model'))"
            ".map(td => td.dataset.value)",
            table,
        )
        assert sorted(names) == sorted(e.model_name.lower() for e in entries)
        # Rows start in CPS order, best first (ties by name).
        cps = {
            e.model_name.lower(): next(s.value for s in e.scores if s.metric == "action.cps")
            for e in entries
        }
        assert names == sorted(cps, key=lambda n: (-cps[n], n))
        assert b.find_all("svg.plot"), "no plots on the page"
        height = b.execute("return document.documentElement.scrollHeight")
        b._call("POST", "/window/rect", {"width": 1600, "height": min(1100, int(height) + 40)})
        b.screenshot(SCREENSHOT)
    png = SCREENSHOT.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
