"""Fixtures for the leaderboard tests: a tiny released dataset and submission folders for it."""

from __future__ import annotations

import pytest

from tests.board._helpers import VERSION, metadata_for, predictions_lines, write_submission


@pytest.fixture
def board_dataset(data_root, splits):
    """A released ``m2m`` version (2 test records) in a throw-away datasets root: (manifest, splits)."""
    from m2m_bench.data import dataset_info, write_version

    # Give the two test records different actions/skills, so scores differ between submissions.
    splits["test"][1]["action"] = (
        "a person waves both arms above the head to greet a friend across the street."
    )
    splits["test"][1]["skills"] = ["wave arms", "raise arms"]
    write_version(
        "m2m", VERSION, splits, root=data_root, changelog="Test release.", card_body="# Test\n"
    )
    return dataset_info("m2m", VERSION), splits


@pytest.fixture
def good_submission(tmp_path, board_dataset):
    """A valid submission folder whose predictions are the reference answers."""
    manifest, splits = board_dataset
    return write_submission(
        tmp_path / "good", metadata_for(manifest), predictions_lines(splits["test"])
    )
