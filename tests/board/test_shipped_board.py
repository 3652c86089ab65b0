"""The shipped submissions: valid, re-scored, shown by a real browser.

Builds a board from the shipped baselines (``retrieval-baseline``, ``smollm2-135m-zeroshot``)
and motion controllers (``amp-walk``, ``amp-run``) in a temporary store (the real m2m data and
the real ``sim.metrics``), opens it in headless Chromium and saves ``leaderboard/screenshot.png``,
the picture the leaderboard README shows.
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
CONTROLLERS = ("amp-walk", "amp-run")
BROWSER = find_binaries()


def _names_in(b: Browser, table: str) -> list[str]:
    return b.execute(
        "return Array.from(document.querySelectorAll(arguments[0] + ' tbody td.model'))"
        ".map(td => td.dataset.value)",
        table,
    )


@pytest.mark.slow
@pytest.mark.skipif(
    BROWSER is None, reason="needs Debian's chromium and chromium-driver (`make sysdeps`)"
)
def test_shipped_board_renders_and_is_screenshotted(tmp_path, capsys):
    METRIC_KEYS = pytest.importorskip("sim.metrics").METRIC_KEYS
    folders = [SUBMISSIONS / name for name in (*BASELINES, *CONTROLLERS)]
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
    language = [e for e in entries if e.dataset_name == "m2m"]
    motion = [e for e in entries if e.dataset_name == "motion"]
    assert len(language) == len(BASELINES) and len(motion) == len(CONTROLLERS)
    version = language[0].dataset_version
    table = f"#board-m2m-{version.replace('.', '_')}-test"
    motion_table = "#board-motion-{}-episodes".format(motion[0].dataset_version.replace(".", "_"))
    with Browser(*BROWSER) as b:
        b.get((root / "site" / "index.html").resolve().as_uri())
        names = _names_in(b, table)
        assert sorted(names) == sorted(e.model_name.lower() for e in language)
        # Rows start in CPS order, best first (ties by name).
        cps = {
            e.model_name.lower(): next(s.value for s in e.scores if s.metric == "action.cps")
            for e in language
        }
        assert names == sorted(cps, key=lambda n: (-cps[n], n))
        # The controllers have their own table, with the physical metrics recomputed from
        # their episodes; every controller survived some time and shows its survival rate.
        assert sorted(_names_in(b, motion_table)) == sorted(e.model_name.lower() for e in motion)
        shown = b.execute(
            "return Array.from(document.querySelectorAll(arguments[0] + ' thead th[data-key]'))"
            ".map(th => th.dataset.key)",
            motion_table,
        )
        metrics = [k.split("|")[1] for k in shown if k.startswith("motion|")]
        # Columns in sim.metrics' order (survival first); pose error needs the clip, so is absent.
        assert metrics == [f"motion.{k}" for k in METRIC_KEYS if k != "pose_error_m"]
        for e in motion:
            assert next(s.value for s in e.scores if s.metric == "motion.survival_time_s") > 0
        assert b.find_all("svg.plot"), "no plots on the page"
        # One picture of both tables: at the final width (the layout depends on it) the
        # viewport reaches just below the motion table.
        b._call("POST", "/window/rect", {"width": 1600, "height": 1000})
        bottom = b.execute(
            "var r = document.querySelector(arguments[0]).getBoundingClientRect();"
            "return r.bottom + window.scrollY;",
            motion_table,
        )
        frame = 1000 - int(b.execute("return window.innerHeight"))  # the window's own frame
        b._call("POST", "/window/rect", {"width": 1600, "height": int(bottom) + 24 + frame})
        b.screenshot(SCREENSHOT)
    png = SCREENSHOT.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
