"""A submission with GSM8K answers and motion episodes: both re-scored, stored and shown."""

from __future__ import annotations

import json

import pytest

from m2m_bench import leaderboard, load_dataset
from m2m_bench.board import Store, SubmissionError, validate_submission
from tests.board._helpers import (
    metadata_for,
    motion_episode,
    motion_npz,
    predictions_lines,
    write_submission,
)


def _gsm8k_lines(answers: list[str], wrong_every: int = 2) -> bytes:
    """Correct ``#### N`` answers for doc ids divisible by ``wrong_every``, a wrong one otherwise."""
    lines = []
    for i, a in enumerate(answers):
        final = a.split("####")[-1].strip()
        out = f"Step by step... #### {final}" if i % wrong_every == 0 else "No idea. #### -0.5"
        lines.append(json.dumps({"doc_id": i, "output": out}))
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.slow
def test_gsm8k_and_motion_are_rescored_and_shown(tmp_path, board_dataset):
    pytest.importorskip("sim.metrics")
    manifest, splits = board_dataset
    answers = list(load_dataset("gsm8k", split="test")["answer"])
    meta = metadata_for(
        manifest,
        model_name="With extras",
        gsm8k="gsm8k.jsonl",
        motion="motion.npz",
        divergence="kl",
    )
    folder = write_submission(tmp_path / "extras", meta, predictions_lines(splits["test"]))
    (folder / "gsm8k.jsonl").write_bytes(_gsm8k_lines(answers))
    (folder / "motion.npz").write_bytes(
        motion_npz([motion_episode(30, False, 0.2), motion_episode(10, True, 0.4)])
    )

    root = tmp_path / "lb"
    assert leaderboard.main(["add", str(folder), "--root", str(root)]) == 0
    with Store(root, read_only=True) as store:
        (entry,) = store.entries()
    got = {s.metric: s.value for s in entry.scores}
    # By hand: every other GSM8K question (the even doc ids) is answered correctly.
    n_right = (len(answers) + 1) // 2
    assert got["gsm8k.strict-match"] == pytest.approx(n_right / len(answers))
    assert got["gsm8k.flexible-extract"] == pytest.approx(n_right / len(answers))
    assert got["motion.fall_rate"] == pytest.approx(0.5)
    assert got["action.ss"] == pytest.approx(1.0)
    versions = {s.metric: s.metric_version for s in entry.scores}
    assert versions["gsm8k.strict-match"].endswith("+data1.0.0")
    assert entry.results["board"]["gsm8k"]["n"] == len(answers)

    assert leaderboard.main(["build", "--root", str(root)]) == 0
    html = (root / "site" / "index.html").read_text()
    for heading in (">GSM8K<", ">Physical (motion)<", ">Action<", ">Skills<", ">Format<"):
        assert heading in html
    assert 'aria-label="GSM8K: strict-match"' in html


def test_gsm8k_answers_must_cover_every_question(tmp_path, board_dataset):
    manifest, splits = board_dataset
    answers = list(load_dataset("gsm8k", split="test")["answer"])
    meta = metadata_for(manifest, gsm8k="gsm8k.jsonl")
    folder = write_submission(tmp_path / "g", meta, predictions_lines(splits["test"]))
    lines = _gsm8k_lines(answers).splitlines()
    (folder / "gsm8k.jsonl").write_bytes(b"\n".join(lines[:-3]) + b"\n")
    with pytest.raises(
        SubmissionError, match=r"gsm8k.jsonl: field 'doc_id': 3 of the 1319 GSM8K test questions"
    ):
        validate_submission(folder)
    (folder / "gsm8k.jsonl").write_bytes(b"\n".join([*lines, lines[0]]) + b"\n")
    with pytest.raises(SubmissionError, match=r"line 1320: field 'doc_id': duplicate doc_id 0"):
        validate_submission(folder)
    (folder / "gsm8k.jsonl").write_bytes(b'{"doc_id": 5000, "output": "x"}\n')
    with pytest.raises(
        SubmissionError, match=r"line 1: field 'doc_id' must be an integer in 0..1318"
    ):
        validate_submission(folder)


def test_motion_only_controller_submission(tmp_path):
    """An AMP-style controller folder: metadata + episodes (+ weights the board never reads)."""
    pytest.importorskip("sim.metrics")
    from m2m_bench.board._motion import metrics_version, write_motion_npz
    from sim.metrics import Episode

    folder = tmp_path / "amp-walk"
    folder.mkdir()
    meta = {
        "format_version": 1,
        "model_name": "AMP walk controller",
        "model_revision": "policy-sha256:0123",
        "parameters": 2_000_000,
        "training_data": "AMP on the walk clips",
        "trained_on_m2m_train": False,
        "contact": "tester",
        "method": "AMP",
        "predictions": None,
        "motion": "motion.npz",
    }
    (folder / "metadata.json").write_text(json.dumps(meta))
    (folder / "policy.pt").write_bytes(b"\x80\x04 a pickle the board must never load")
    eps = [motion_episode(30, False, 0.2), motion_episode(15, True, 0.2)]
    write_motion_npz(
        [Episode(**{k: v for k, v in e.items()}, dt=1 / 30) for e in eps], folder / "motion.npz"
    )

    sub = validate_submission(folder)
    assert sub.metadata.dataset is None and sub.ignored == ["policy.pt"]
    root = tmp_path / "lb"
    assert leaderboard.main(["add", str(folder), "--root", str(root)]) == 0
    with Store(root, read_only=True) as store:
        (entry,) = store.entries()
    assert entry.table_key[0] == "motion" and entry.results["schema"] == "m2m-bench-board-motion"
    got = {s.metric: s.value for s in entry.scores}
    assert got["motion.fall_rate"] == pytest.approx(0.5)
    assert got["motion.survival_time_s"] == pytest.approx((29 + 14) / 2 / 30)  # T states = T - 1 steps
    assert leaderboard.main(["build", "--root", str(root)]) == 0
    html = (root / "site" / "index.html").read_text()
    assert "Motion controllers — physical metrics" in html
    # Lower is better for falls, better for survival.
    v = metrics_version()
    assert f'data-key="motion|motion.fall_rate|{v}" data-type="num" data-better="lower"' in html
    assert f'data-key="motion|motion.survival_rate|{v}" data-type="num" data-better="higher"' in html
    # A motion-only submission cannot claim a dataset.
    (folder / "metadata.json").write_text(json.dumps({**meta, "dataset": {"name": "m2m"}}))
    with pytest.raises(SubmissionError, match="a motion-only submission .* has no 'dataset'"):
        validate_submission(folder)
