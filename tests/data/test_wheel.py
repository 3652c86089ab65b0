"""A wheel installed outside the checkout carries the dataset versions and loads them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_loads_shipped_versions_outside_checkout(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(REPO)],
        check=True, timeout=300,
    )
    (wheel,) = wheels.glob("m2m_bench-*.whl")
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True, timeout=300,
    )
    script = (
        "import m2m_bench, json;"
        "from m2m_bench.data import dataset_roots, verify;"
        "print(json.dumps({'file': m2m_bench.__file__, 'roots': [str(r) for r in dataset_roots()],"
        " 'm2m': {k: len(v) for k, v in m2m_bench.load_dataset('m2m', version='0.1.0').items()},"
        " 'gsm8k': len(m2m_bench.load_dataset('gsm8k', split='test')),"
        " 'hash': verify('m2m', '0.1.0')['content_hash']}))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "M2M_BENCH_DATASETS")}
    env["PYTHONPATH"] = str(target)
    env["HF_DATASETS_CACHE"] = str(tmp_path / "hf")
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    import json

    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["file"].startswith(str(target)), got
    assert got["roots"] == [str(target / "m2m_bench" / "_datasets")]
    assert sum(got["m2m"].values()) >= 60 and got["gsm8k"] == 1319
    from m2m_bench.data import dataset_info

    assert got["hash"] == dataset_info("m2m", "0.1.0")["content_hash"]
