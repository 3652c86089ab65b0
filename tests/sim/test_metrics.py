"""Known-answer tests for every physical metric."""

from __future__ import annotations

import numpy as np
import pytest

from sim.humanoid import BODY_NAMES, load_model
from sim.metrics import (
    Episode,
    command_tracking_error,
    episode_metrics,
    fall_rate,
    foot_sliding,
    ground_penetration,
    jerk,
    pose_error,
    summarize,
    survival_time,
)
from sim.motion_lib import MotionLib
from sim.observations import local_body_positions

DT = 1.0 / 30
RF, LF = BODY_NAMES.index("right_foot"), BODY_NAMES.index("left_foot")


def test_survival_and_fall_rate():
    assert survival_time(150, DT) == pytest.approx(5.0)
    assert fall_rate([True, False, False, False]) == 0.25


def test_command_tracking_error():
    v = np.array([[1.0, 0.0], [0.0, 0.0]])
    target = np.array([[1.0, 0.0], [3.0, 4.0]])
    assert command_tracking_error(v, target) == pytest.approx(2.5)


def test_foot_sliding_only_counts_feet_in_contact():
    t = 10
    pos = np.zeros((t, 15, 3))
    pos[:, RF, 0] = np.arange(t) * DT * 0.5  # right foot slides at 0.5 m/s
    pos[:, LF, 1] = np.arange(t) * DT * 3.0  # left foot moves at 3 m/s but is in the air
    contact = np.zeros((t, 15), dtype=bool)
    contact[:, RF] = True
    assert foot_sliding(pos, contact, DT) == pytest.approx(0.5)
    assert foot_sliding(pos, np.zeros_like(contact), DT) == 0.0


def test_ground_penetration_and_jerk():
    assert ground_penetration(np.array([0.0, 0.01, 0.02])) == pytest.approx(0.01)
    t = np.arange(20) * DT
    pos = np.zeros((20, 15, 3))
    pos[:, :, 2] = (t**3)[:, None]  # d3/dt3 t^3 = 6 everywhere
    assert jerk(pos, DT) == pytest.approx(6.0, rel=1e-6)
    pos[:, :, 2] = (2 * t + 1)[:, None]
    assert jerk(pos, DT) == pytest.approx(0.0, abs=1e-6)


def test_pose_error_time_alignment():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(40, 15, 3))
    assert pose_error(ref[10:30], ref) == pytest.approx(0.0, abs=1e-9)  # shifted in time
    slow = np.repeat(ref[:20], 2, axis=0)  # half speed is absorbed by warping
    assert pose_error(slow, ref) == pytest.approx(0.0, abs=1e-9)
    off = ref[5:25] + np.array([0.0, 0.0, 0.1])  # every body 10 cm off -> 0.1 m
    assert pose_error(off, ref) == pytest.approx(0.1, abs=1e-6)


def test_episode_metrics_on_the_reference_itself():
    h = load_model()
    m = MotionLib.from_names(["walk"], h).motions[0]
    ep = Episode(qpos=m.qpos, qvel=m.qvel, body_pos=m.body_pos, floor_contact=np.zeros((m.num_frames, 15), bool),
                 penetration=np.zeros(m.num_frames), fell=False, dt=m.dt, target_velocity=m.qvel[:, 0:2])  # fmt: skip
    out = episode_metrics(ep, local_body_positions(m.qpos, m.body_pos))
    assert out["pose_error_m"] == pytest.approx(0.0, abs=1e-9)
    assert out["command_tracking_error_mps"] == pytest.approx(0.0)
    assert out["survival_time_s"] == pytest.approx((m.num_frames - 1) * m.dt)  # T+1 states
    s = summarize([out, {**out, "fell": True}])
    assert s["fall_rate"] == 0.5 and s["survival_rate"] == 0.5 and s["episodes"] == 2
