"""End to end: conversation -> (model | --skills) -> resolver -> MuJoCo -> GIF + metrics JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from m2m_bench.response import render_response
from sim.controller import export_controller
from sim.run import SIM_RECORD_ID
from tests.sim._tiny import make_tiny_agent

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny_controller(tmp_path_factory):
    agent, env = make_tiny_agent(num_envs=1)
    env.close()
    path = tmp_path_factory.mktemp("ctrl") / "walk.pt"
    return export_controller(
        agent, path, skill="walk", clips=["walk"], hidden=(8,), task={"speed_range": (1.2, 1.8)}
    )


def _run(args, tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "sim.run", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc


@pytest.mark.slow
def test_skills_override_renders_gif_and_metrics(tiny_controller, tmp_path):
    out = tmp_path / "out"
    proc = _run(["--text", "The bus is leaving!", "--skills", "walk,do a cartwheel,open the door",
                 "--controller", f"walk={tiny_controller}", "--seconds", "1", "--out", str(out),
                 "--width", "160", "--height", "120"], tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads((out / "metrics.json").read_text())
    kinds = [(r["skill"], r["kind"]) for r in res["resolutions"]]
    assert kinds == [("walk", "controller"), ("cartwheel", "clip"), (None, "none")]
    seg = res["segments"][0]
    assert seg["skill"] == "walk" and 0 < seg["survival_time_s"] <= 1.0 + 1e-6
    for key in (
        "foot_sliding_mps",
        "ground_penetration_m",
        "jerk_mps3",
        "pose_error_m",
        "command_tracking_error_mps",
    ):
        assert np.isfinite(seg[key])
    gif = Image.open(res["gif"])
    assert gif.size == (160, 120) and gif.n_frames >= 2
    assert "no matching skill" in proc.stderr and "reference clip only" in proc.stderr


@pytest.mark.slow
def test_model_spec_path_uses_harness(tiny_controller, tmp_path):
    preds = tmp_path / "preds.jsonl"
    output = render_response("a person hurries to the bus stop.", ["walk quickly", "wave hello"])
    preds.write_text(json.dumps({"id": SIM_RECORD_ID, "output": output}) + "\n")
    out = tmp_path / "out"
    proc = _run(["--text", "The bus is leaving!", "--model", f"predictions:{preds}", "--controller",
                 f"walk={tiny_controller}", "--seconds", "0.5", "--out", str(out), "--no-render"], tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads((out / "metrics.json").read_text())
    assert res["action"] == "a person hurries to the bus stop."
    assert res["skills"] == ["walk quickly", "wave hello"]
    assert [r["kind"] for r in res["resolutions"]] == ["controller", "none"]
    assert "gif" not in res and res["segments"][0]["skill"] == "walk"
