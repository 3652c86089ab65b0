"""Clip loading, clip -> qpos forward kinematics, resampling and the pickle-free user format."""

from __future__ import annotations

import numpy as np
import pytest

from sim import assets
from sim.humanoid import BODY_NAMES, load_model
from sim.motion_lib import (
    ClipFormatError,
    MotionLib,
    clip_to_qpos,
    load_shipped_clip,
    load_user_clip,
    motion_from_clip,
    mujoco_body_positions,
    save_user_clip,
    skeleton_forward_kinematics,
)
from sim.observations import AMP_STEPS, STEP_FEATURE_DIM

CLIPS = ["walk", "run", "dance", "hop", "cartwheel", "backflip"]


@pytest.fixture(scope="module")
def humanoid():
    return load_model()


@pytest.mark.parametrize("name", CLIPS)
def test_clip_to_qpos_reproduces_clip_forward_kinematics(name, humanoid):
    clip = load_shipped_clip(name)
    qpos = clip_to_qpos(clip.rotation, clip.root_translation, humanoid)
    mj = mujoco_body_positions(qpos, humanoid)
    ref = skeleton_forward_kinematics(clip)
    assert mj.shape == ref.shape == (clip.num_frames, len(BODY_NAMES), 3)
    assert np.abs(mj - ref).max() < 1e-3, (
        f"{name}: MuJoCo FK differs from the clip by {np.abs(mj - ref).max():.4f} m"
    )


def test_exponential_map_reading_would_be_wrong(humanoid):
    """Guard against regressions to a wrong conversion: perturbing one hinge moves the bodies."""
    clip = load_shipped_clip("run")
    qpos = clip_to_qpos(clip.rotation, clip.root_translation, humanoid)
    qpos[:, 7 + humanoid.joint_dofs["right_shin"][0]] += 0.3
    err = np.abs(mujoco_body_positions(qpos, humanoid) - skeleton_forward_kinematics(clip)).max()
    assert err > 0.05


def test_shipped_clip_hash_is_enforced(monkeypatch):
    monkeypatch.setitem(assets.TRUSTED_CLIPS, "walk", "0" * 64)
    with pytest.raises(ClipFormatError, match="SHA-256"):
        load_shipped_clip("walk")


def test_unknown_clip_name():
    with pytest.raises(KeyError, match="no shipped clip"):
        load_shipped_clip("moonwalk")


def test_resampled_motion_and_velocities(humanoid):
    clip = load_shipped_clip("walk")
    m = motion_from_clip(clip, humanoid)
    assert m.dt == pytest.approx(humanoid.control_dt)
    assert m.num_frames == int(clip.duration / m.dt) + 1
    assert m.features.shape == (m.num_frames, STEP_FEATURE_DIM)
    # the clip stores its own root velocity (60 fps); compare at matching times
    raw = np.load(assets.clip_path("walk"), allow_pickle=True).item()  # shipped, hash-checked above
    gv = raw["global_velocity"]["arr"][:, 0, :]
    t = np.arange(1, m.num_frames - 1) * m.dt
    clip_v = gv[np.round(t * clip.fps).astype(int)]
    assert np.abs(m.qvel[1:-1, 0:3] - clip_v).mean() < 0.1
    assert 1.0 < m.mean_speed < 2.0  # a walk
    assert m.body_pos[:, :, 2].min() >= 0.06 - 1e-9  # lifted clear of the floor


def test_motion_lib_reference_amp_observations(humanoid):
    lib = MotionLib.from_names(["walk", "run"], humanoid)
    obs = lib.amp_observations(64, np.random.default_rng(0))
    assert obs.shape == (64, AMP_STEPS * STEP_FEATURE_DIM) and obs.dtype == np.float32
    assert np.isfinite(obs).all()
    # consecutive frames: second half of one sample is a real feature row of some motion
    rows = np.concatenate([m.features for m in lib.motions])
    assert np.abs(rows - obs[0, STEP_FEATURE_DIM:]).sum(1).min() < 1e-5


def test_user_clip_roundtrip(tmp_path, humanoid):
    clip = load_shipped_clip("walk")
    path = save_user_clip(clip, tmp_path / "my_walk.npz")
    back = load_user_clip(path)
    assert back.fps == clip.fps and back.num_frames == clip.num_frames
    a = clip_to_qpos(clip.rotation, clip.root_translation, humanoid)
    b = clip_to_qpos(back.rotation, back.root_translation, humanoid)
    assert np.abs(a - b).max() < 1e-4


def test_user_clip_refuses_pickle_and_bad_fields(tmp_path):
    obj = tmp_path / "obj.npz"
    np.savez(
        obj,
        fps=np.float64(30),
        rotation=np.array([{"a": 1}], dtype=object),
        root_translation=np.zeros((2, 3)),
    )
    with pytest.raises(ClipFormatError, match=r"obj\.npz.*pickle"):
        load_user_clip(obj)
    missing = tmp_path / "missing.npz"
    np.savez(missing, fps=np.float64(30), rotation=np.tile([0, 0, 0, 1.0], (2, 15, 1)))
    with pytest.raises(ClipFormatError, match=r"missing\.npz.*'root_translation'"):
        load_user_clip(missing)
    shape = tmp_path / "shape.npz"
    np.savez(
        shape,
        fps=np.float64(30),
        rotation=np.tile([0, 0, 0, 1.0], (2, 14, 1)),
        root_translation=np.zeros((2, 3)),
    )
    with pytest.raises(ClipFormatError, match=r"shape\.npz.*'rotation'.*shape"):
        load_user_clip(shape)
    nan = tmp_path / "nan.npz"
    np.savez(
        nan,
        fps=np.float64(30),
        rotation=np.tile([0, 0, 0, 1.0], (2, 15, 1)),
        root_translation=np.full((2, 3), np.nan),
    )
    with pytest.raises(ClipFormatError, match=r"nan\.npz.*'root_translation'.*NaN"):
        load_user_clip(nan)
    with pytest.raises(ClipFormatError, match=r"\.npz"):
        load_user_clip(assets.clip_path("walk"))
