"""Reference motions: loading clips, clip -> MuJoCo qpos, resampling and sampling for AMP.

Clip sources
------------
* Shipped clips (``sim/assets/clips``) are poselib ``SkeletonMotion`` dicts saved with pickle.
  :func:`load_shipped_clip` opens them only after their SHA-256 matches ``sim.assets``.
* User clips use a pickle-free ``.npz`` (:func:`load_user_clip`, :func:`save_user_clip`) with
  exactly these arrays (no object arrays; loaded with ``allow_pickle=False``):

  - ``fps``: scalar float, frames per second (> 0)
  - ``root_translation``: float (F, 3), root position in metres, z up
  - ``rotation``: float (F, 15, 4), local joint quaternions in **xyzw** order, skeleton order
    ``sim.humanoid.BODY_NAMES``; the root entry is the global root orientation.

  AMASS / KIT-ML clips (SMPL bodies) must first be retargeted to this 15-body skeleton, e.g.
  with the poselib retargeting script of IsaacGymEnvs (``tasks/amp/poselib/retarget_motion.py``)
  or ProtoMotions; then write the retargeted local rotations and root translation with
  :func:`save_user_clip`. See ``sim/README.md``.

Clip -> qpos
------------
root position = root translation; root orientation = root quaternion reordered to wxyz; each
joint's hinge angles = intrinsic XYZ Euler angles of its local quaternion, 1-DoF joints taking
the twist angle about their own axis, ``2 atan2(q_axis, q_w)`` (elbows and knees: y; the
Euler y angle would fold bends beyond 90 degrees into (x=pi, y=pi-b, z=pi)).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mujoco
import numpy as np

from .assets import TRUSTED_CLIPS, clip_path, sha256
from .humanoid import BODY_NAMES, PARENTS, Humanoid
from .observations import AMP_STEPS, step_features
from .rotations import (
    normalize,
    quat_conj,
    quat_mul,
    quat_rotate,
    quat_to_euler_xyz_intrinsic,
    quat_to_rotvec,
    slerp,
    xyzw_to_wxyz,
)

MAX_USER_CLIP_BYTES = 64 * 1024 * 1024
NUM_BODIES = len(BODY_NAMES)


class ClipFormatError(ValueError):
    """A clip file is missing a field or has a wrong shape/value (message names file and field)."""


@dataclass
class Clip:
    """A clip as stored: local rotations (F, 15, 4 xyzw), root translation (F, 3), fps."""

    name: str
    rotation: np.ndarray
    root_translation: np.ndarray
    fps: float
    local_translation: np.ndarray | None = None  # (15, 3) skeleton offsets, if the file has them

    @property
    def num_frames(self) -> int:
        return len(self.root_translation)

    @property
    def duration(self) -> float:
        return (self.num_frames - 1) / self.fps


def load_shipped_clip(name: str) -> Clip:
    """Load one of the shipped, hash-checked clips (walk, run, dance, hop, cartwheel, backflip, tpose)."""
    path = clip_path(name)
    digest = sha256(path)
    if digest != TRUSTED_CLIPS[name]:
        raise ClipFormatError(
            f"{path}: SHA-256 {digest} does not match the shipped clip; refusing to unpickle"
        )
    raw = np.load(path, allow_pickle=True).item()  # trusted: hash checked above
    rot = np.asarray(raw["rotation"]["arr"], dtype=np.float64)
    root = np.asarray(raw["root_translation"]["arr"], dtype=np.float64)
    lt = np.asarray(raw["skeleton_tree"]["local_translation"]["arr"], dtype=np.float64)
    if rot.ndim == 2:  # the T-pose is a single SkeletonState frame
        rot, root = rot[None], root[None]
    return Clip(
        name=name,
        rotation=rot,
        root_translation=root,
        fps=float(raw.get("fps", 30)),
        local_translation=lt,
    )


def _field(data, path: Path, field: str) -> np.ndarray:
    if field not in data.files:
        raise ClipFormatError(f"{path}: missing field {field!r} (have {sorted(data.files)})")
    try:
        arr = data[field]
    except ValueError as exc:  # object arrays need pickle, which is never enabled here
        raise ClipFormatError(
            f"{path}: field {field!r} cannot be read without pickle ({exc})"
        ) from exc
    if arr.dtype.kind not in "fiu":
        raise ClipFormatError(f"{path}: field {field!r} must be numeric, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ClipFormatError(f"{path}: field {field!r} contains NaN or inf")
    return arr


def load_user_clip(path: str | Path) -> Clip:
    """Load a user clip from the pickle-free .npz format (see module docstring)."""
    path = Path(path)
    if path.suffix != ".npz":
        raise ClipFormatError(
            f"{path}: user clips must be .npz files (pickle .npy clips are not accepted)"
        )
    size = path.stat().st_size
    if size > MAX_USER_CLIP_BYTES:
        raise ClipFormatError(f"{path}: {size} bytes exceeds the {MAX_USER_CLIP_BYTES}-byte limit")
    try:
        data = np.load(path, allow_pickle=False)
    except ValueError as exc:  # object arrays need pickle
        raise ClipFormatError(f"{path}: cannot read without pickle ({exc})") from exc
    with data:
        fps = _field(data, path, "fps")
        rot = _field(data, path, "rotation")
        root = _field(data, path, "root_translation")
    if fps.size != 1 or not fps.reshape(()) > 0:
        raise ClipFormatError(f"{path}: field 'fps' must be one positive number, got {fps!r}")
    if rot.ndim != 3 or rot.shape[1:] != (NUM_BODIES, 4):
        raise ClipFormatError(
            f"{path}: field 'rotation' must have shape (F, {NUM_BODIES}, 4), got {rot.shape}"
        )
    if root.shape != (rot.shape[0], 3):
        raise ClipFormatError(
            f"{path}: field 'root_translation' must have shape ({rot.shape[0]}, 3), got {root.shape}"
        )
    if rot.shape[0] < 2:
        raise ClipFormatError(
            f"{path}: field 'rotation' needs at least 2 frames, got {rot.shape[0]}"
        )
    norms = np.linalg.norm(rot, axis=-1)
    if np.abs(norms - 1).max() > 1e-2:
        raise ClipFormatError(
            f"{path}: field 'rotation' holds non-unit quaternions (max |q|-1 = {np.abs(norms - 1).max():.3g})"
        )
    return Clip(
        name=path.stem, rotation=normalize(rot), root_translation=root, fps=float(fps.reshape(()))
    )


def save_user_clip(clip: Clip, path: str | Path) -> Path:
    path = Path(path)
    np.savez(path, fps=np.float64(clip.fps), rotation=clip.rotation.astype(np.float32),
             root_translation=clip.root_translation.astype(np.float32))  # fmt: skip
    return path


def skeleton_forward_kinematics(clip: Clip) -> np.ndarray:
    """Global body positions (F, 15, 3) of a clip computed from its own skeleton (poselib FK)."""
    if clip.local_translation is None:
        raise ValueError(f"clip {clip.name!r} carries no skeleton offsets")
    q = xyzw_to_wxyz(clip.rotation)
    f = clip.num_frames
    gpos = np.zeros((f, NUM_BODIES, 3))
    grot = np.zeros((f, NUM_BODIES, 4))
    for j, p in enumerate(PARENTS):
        if p < 0:
            gpos[:, j] = clip.root_translation
            grot[:, j] = q[:, j]
        else:
            gpos[:, j] = gpos[:, p] + quat_rotate(
                grot[:, p], np.broadcast_to(clip.local_translation[j], (f, 3))
            )
            grot[:, j] = quat_mul(grot[:, p], q[:, j])
    return gpos


def clip_to_qpos(
    rotation_xyzw: np.ndarray, root_translation: np.ndarray, humanoid: Humanoid
) -> np.ndarray:
    """(F, 15, 4 xyzw), (F, 3) -> MuJoCo qpos (F, 35) (see module docstring)."""
    f = len(root_translation)
    q = xyzw_to_wxyz(rotation_xyzw)
    qpos = np.zeros((f, 7 + humanoid.num_joints))
    qpos[:, 0:3] = root_translation
    qpos[:, 3:7] = normalize(q[:, 0])
    for b, name in enumerate(BODY_NAMES):
        if name not in humanoid.joint_dofs:
            continue
        dofs, axes = humanoid.joint_dofs[name], humanoid.joint_axes[name]
        if len(dofs) == 1:  # hinge: twist angle about its own axis, 2*atan2(q_axis, q_w)
            qpos[:, 7 + dofs[0]] = _wrap(2.0 * np.arctan2(q[:, b, 1 + axes[0]], q[:, b, 0]))
            continue
        euler = quat_to_euler_xyz_intrinsic(q[:, b])
        for dof, axis in zip(dofs, axes, strict=True):
            qpos[:, 7 + dof] = euler[:, axis]
    return qpos


def mujoco_body_positions(qpos: np.ndarray, humanoid: Humanoid) -> np.ndarray:
    """World body positions (F, 15, 3) from MuJoCo forward kinematics of each qpos row."""
    m = humanoid.model
    d = mujoco.MjData(m)
    out = np.zeros((len(qpos), NUM_BODIES, 3))
    for i, row in enumerate(qpos):
        d.qpos[:] = row
        mujoco.mj_kinematics(m, d)
        out[i] = d.xpos[humanoid.body_ids]
    return out


def _wrap(a: np.ndarray) -> np.ndarray:
    return (a + np.pi) % (2 * np.pi) - np.pi


@dataclass
class Motion:
    """A clip resampled at the control rate, with velocities and features precomputed."""

    name: str
    dt: float
    qpos: np.ndarray  # (T, 35)
    qvel: np.ndarray  # (T, 34)
    body_pos: np.ndarray  # (T, 15, 3)
    features: np.ndarray  # (T, STEP_FEATURE_DIM)

    @property
    def num_frames(self) -> int:
        return len(self.qpos)

    @property
    def duration(self) -> float:
        return (self.num_frames - 1) * self.dt

    @property
    def mean_speed(self) -> float:
        """Average horizontal root speed over the clip (m/s)."""
        disp = np.linalg.norm(self.qpos[-1, :2] - self.qpos[0, :2])
        return float(disp / max(self.duration, 1e-6))


def resample_clip(clip: Clip, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """Resample local rotations (slerp) and root translation (linear) at times 0, dt, 2dt, ..."""
    n = int(np.floor(clip.duration / dt + 1e-9)) + 1
    t = np.arange(n) * dt * clip.fps
    i0 = np.clip(np.floor(t).astype(int), 0, clip.num_frames - 1)
    i1 = np.clip(i0 + 1, 0, clip.num_frames - 1)
    w = (t - i0)[:, None]
    root = (1 - w) * clip.root_translation[i0] + w * clip.root_translation[i1]
    rot = slerp(
        clip.rotation[i0], clip.rotation[i1], np.broadcast_to(w[:, None], (n, NUM_BODIES, 1))
    )
    return rot, root


def motion_from_clip(clip: Clip, humanoid: Humanoid, ground_clearance: bool = True) -> Motion:
    """Resample to the control rate, convert to qpos and compute velocities by finite differences.

    Root linear velocity: central difference of the root position (world frame).
    Root angular velocity: rotvec(conj(q_t) * q_{t+1}) / dt, in the root's local frame like MuJoCo.
    Joint velocities: wrapped central differences of the hinge angles.
    """
    dt = humanoid.control_dt
    rot, root = resample_clip(clip, dt)
    qpos = clip_to_qpos(rot, root, humanoid)
    body_pos = mujoco_body_positions(qpos, humanoid)
    if ground_clearance:  # lift clips whose feet dip into the floor so RSI starts penetration-free
        low = body_pos[:, :, 2].min() - 0.06  # foot boxes reach ~5 cm below the ankle origin
        if low < 0:
            qpos[:, 2] -= low
            body_pos[:, :, 2] -= low
    t = len(qpos)
    qvel = np.zeros((t, humanoid.model.nv))
    if t > 1:
        qvel[:, 0:3] = np.gradient(qpos[:, 0:3], dt, axis=0)
        q = qpos[:, 3:7]
        rel = quat_mul(quat_conj(q[:-1]), q[1:])
        w = quat_to_rotvec(rel) / dt
        qvel[:-1, 3:6] = w
        qvel[-1, 3:6] = w[-1]
        ang = np.unwrap(qpos[:, 7:], axis=0)
        qvel[:, 6:] = np.gradient(ang, dt, axis=0)
    feats = step_features(qpos, qvel, body_pos)
    return Motion(name=clip.name, dt=dt, qpos=qpos, qvel=qvel, body_pos=body_pos, features=feats)


class MotionLib:
    """One or more motions to imitate; samples start states (RSI) and reference AMP observations."""

    def __init__(self, motions: list[Motion], weights: list[float] | None = None):
        if not motions:
            raise ValueError("MotionLib needs at least one motion")
        self.motions = motions
        w = np.asarray(
            weights if weights is not None else [m.duration for m in motions], dtype=float
        )
        self.weights = w / w.sum()

    @classmethod
    def from_names(cls, names: list[str], humanoid: Humanoid) -> MotionLib:
        return cls([motion_from_clip(load_shipped_clip(n), humanoid) for n in names])

    def sample_frames(
        self, n: int, rng: np.random.Generator, margin: int = AMP_STEPS
    ) -> tuple[np.ndarray, np.ndarray]:
        """Random (motion index, frame index) pairs with ``margin`` frames left before the end."""
        mids = rng.choice(len(self.motions), size=n, p=self.weights)
        frames = np.array(
            [rng.integers(0, max(1, self.motions[m].num_frames - margin)) for m in mids]
        )
        return mids, frames

    def states(self, mids: np.ndarray, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        qpos = np.stack([self.motions[m].qpos[f] for m, f in zip(mids, frames, strict=True)])
        qvel = np.stack([self.motions[m].qvel[f] for m, f in zip(mids, frames, strict=True)])
        return qpos, qvel

    def amp_observations(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, AMP_STEPS * STEP_FEATURE_DIM) reference transitions (consecutive frames)."""
        mids, frames = self.sample_frames(n, rng, margin=AMP_STEPS)
        return np.stack(
            [
                self.motions[m].features[f : f + AMP_STEPS].reshape(-1)
                for m, f in zip(mids, frames, strict=True)
            ]
        ).astype(np.float32)
