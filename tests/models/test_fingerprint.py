from m2m_bench.models._fingerprint import folder_fingerprint


def test_fingerprint_follows_model_files_only(tmp_path, monkeypatch):
    monkeypatch.setenv("M2M_BENCH_CACHE", str(tmp_path / "cache"))
    d = tmp_path / "m"
    d.mkdir()
    (d / "config.json").write_text('{"a": 1}')
    (d / "model.safetensors").write_bytes(b"\x00" * 64)
    first = folder_fingerprint(d)
    assert folder_fingerprint(d) == first
    (d / "README.md").write_text("notes")
    assert folder_fingerprint(d) == first
    (d / "model.safetensors").write_bytes(b"\x01" * 64)
    changed = folder_fingerprint(d)
    assert changed != first
    (d / "config.json").rename(d / "config2.json")
    assert folder_fingerprint(d) != changed
