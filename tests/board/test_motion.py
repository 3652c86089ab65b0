"""Motion results: episode arrays re-scored with sim.metrics; bad arrays refused."""

from __future__ import annotations

import io

import numpy as np
import pytest

from m2m_bench.board import Limits, SubmissionError
from m2m_bench.board._motion import score_motion, validate_motion
from tests.board._helpers import DT, motion_episode, motion_npz

pytest.importorskip("sim.metrics")


def test_motion_metrics_are_recomputed_from_the_episodes():
    data = motion_npz([motion_episode(40, False, 0.3), motion_episode(20, True, 0.6)])
    rows, summary = score_motion(validate_motion(data, "motion.npz", Limits()))
    got = {r.metric: r.value for r in rows}
    # By hand: one of two episodes fell; survival time is steps * dt; feet slide at the body
    # speed; constant penetration; linear motion has zero jerk.
    assert got["motion.fall_rate"] == pytest.approx(0.5)
    assert got["motion.survival_rate"] == pytest.approx(0.5)
    # an episode of T recorded states holds T - 1 simulated steps (sim.metrics.survival_time)
    assert got["motion.survival_time_s"] == pytest.approx((39 + 19) / 2 * DT)
    assert got["motion.foot_sliding_mps"] == pytest.approx((0.3 + 0.6) / 2)
    assert got["motion.ground_penetration_m"] == pytest.approx(0.01)
    assert got["motion.jerk_mps3"] == pytest.approx(0.0, abs=1e-6)
    assert summary["episodes"] == 2 and all(r.task == "motion" for r in rows)


def test_bad_motion_arrays_are_refused():
    ep = motion_episode(10, False, 0.1)
    bad = dict(ep, penetration=np.full(10, np.nan))
    with pytest.raises(
        SubmissionError, match=r"motion.npz: episode 0: 'ep0_penetration' holds NaN"
    ):
        validate_motion(motion_npz([bad]), "motion.npz", Limits())
    with pytest.raises(
        SubmissionError, match=r"'ep0_qpos' has shape \(10, 3\), expected \(10, 35\)"
    ):
        validate_motion(motion_npz([dict(ep, qpos=np.zeros((10, 3)))]), "motion.npz", Limits())
    with pytest.raises(SubmissionError, match=r"'ep0_fell' must be bool"):
        validate_motion(motion_npz([dict(ep, fell=np.array(1.0))]), "motion.npz", Limits())
    # Object arrays would need pickle: refused.
    buf = io.BytesIO()
    np.savez(buf, dt=np.array(DT), ep0_qpos=np.array([{"x": 1}], dtype=object))
    with pytest.raises(SubmissionError, match="object arrays are not accepted"):
        validate_motion(buf.getvalue(), "motion.npz", Limits())
    with pytest.raises(SubmissionError, match=r"array 'dt' must be one finite number in \(0, 1\]"):
        validate_motion(motion_npz([ep], dt=np.array(5.0)), "motion.npz", Limits())
    with pytest.raises(SubmissionError, match="not a NumPy .npz archive"):
        validate_motion(b"plain text", "motion.npz", Limits())
    big = motion_npz([motion_episode(200, False, 0.1)])
    with pytest.raises(SubmissionError, match="uncompressed exceed the 1000-byte limit"):
        validate_motion(big, "motion.npz", Limits(max_total_bytes=1000))
