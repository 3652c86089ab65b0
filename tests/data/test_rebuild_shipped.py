"""The newest shipped M2M version rebuilds, from its shipped answer cache and the repository's
source files alone (no LLM), to the same content hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from m2m_bench.data import list_versions

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_newest_m2m_version_rebuilds_to_its_content_hash(tmp_path, monkeypatch):
    from m2m_bench.construct.output import rebuild

    newest = REPO / "datasets" / "m2m" / "versions" / list_versions("m2m")[-1]
    if not (newest / "pipeline.yaml").is_file():
        pytest.skip(f"{newest.name} was not built by the construction pipeline")
    monkeypatch.chdir(REPO)  # pipeline.yaml records inputs relative to the repository root
    r = rebuild(newest, root=tmp_path, version=newest.name, quality=False)
    assert r.matches, (r.written.content_hash, r.original_hash)
    from m2m_bench.data import read_manifest

    assert r.written.splits == read_manifest(newest)["splits"]
