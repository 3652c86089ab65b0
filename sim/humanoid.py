"""The AMP humanoid character: model loading, PD control and the joint/body tables.

The shipped MJCF (15 bodies, a free root and 28 hinge joints) stores per-joint
``stiffness``/``damping``. Isaac Gym used them as the gains of a PD controller; MuJoCo would
read them as passive springs pulling every joint to zero. :func:`load_model` therefore turns
them into explicit PD servos, one per hinge:

    tau_j = clip(kp_j * (q*_j - q_j) - kd_j * qdot_j, -tau_max_j, tau_max_j)

with ``kp_j``/``kd_j`` the XML stiffness/damping, ``tau_max_j`` the motor ``gear`` of the
original actuator, and the target ``q*_j`` clamped to the joint's range. Passive stiffness and
damping are set to zero, and the implicit-fast integrator treats the servo damping implicitly.

A policy action ``a`` in roughly [-1, 1] maps to targets ``q* = offset + scale * a``
(:meth:`Humanoid.action_to_target`), with ``offset``/``scale`` built from the joint limits as in
IsaacGymEnvs' HumanoidAMP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import mujoco
import numpy as np

from .assets import HUMANOID_XML

#: Skeleton order of the clips = MuJoCo body order after the world body.
BODY_NAMES = (
    "pelvis", "torso", "head",
    "right_upper_arm", "right_lower_arm", "right_hand",
    "left_upper_arm", "left_lower_arm", "left_hand",
    "right_thigh", "right_shin", "right_foot",
    "left_thigh", "left_shin", "left_foot",
)  # fmt: skip
PARENTS = (-1, 0, 1, 1, 3, 4, 1, 6, 7, 0, 9, 10, 0, 12, 13)
KEY_BODIES = ("right_hand", "left_hand", "right_foot", "left_foot")
FOOT_BODIES = ("right_foot", "left_foot")
#: Control rate used everywhere (Isaac Gym's HumanoidAMP also controls at 30 Hz).
CONTROL_HZ = 30


@dataclass
class Humanoid:
    """The MuJoCo model plus the index tables the rest of ``sim`` needs."""

    model: mujoco.MjModel
    substeps: int
    control_dt: float
    body_ids: np.ndarray  # MuJoCo body id of BODY_NAMES[i]
    key_body_ids: np.ndarray
    foot_body_ids: np.ndarray
    floor_geom: int
    joint_dofs: dict[str, list[int]]  # body name -> indices into the 28 hinge angles
    joint_axes: dict[str, list[int]]  # body name -> axis index (0=x,1=y,2=z) per hinge
    joint_low: np.ndarray
    joint_high: np.ndarray
    act_offset: np.ndarray
    act_scale: np.ndarray
    actuator_joint: np.ndarray  # hinge index driven by actuator i
    kp: np.ndarray = field(repr=False, default=None)
    kd: np.ndarray = field(repr=False, default=None)

    @property
    def num_joints(self) -> int:
        return len(self.joint_low)

    def action_to_target(self, action: np.ndarray) -> np.ndarray:
        """PD targets in hinge order: q* = offset + scale * a (clamped by MuJoCo to the range)."""
        return self.act_offset + self.act_scale * action

    def target_to_ctrl(self, target: np.ndarray) -> np.ndarray:
        """Reorder hinge-ordered targets into actuator order (the XML lists hips as x, z, y)."""
        return target[..., self.actuator_joint]


def _pd_action_offset_scale(low: np.ndarray, high: np.ndarray, dofs: dict[str, list[int]]):
    """Action offset/scale as in IsaacGymEnvs HumanoidAMP ``_build_pd_action_offset_scale``."""
    lo, hi = low.copy(), high.copy()
    for idx in dofs.values():
        if len(idx) == 3:  # spherical joint: symmetric range capped at pi
            s = min(max(np.abs(lo[idx]).max(), np.abs(hi[idx]).max()), np.pi)
            lo[idx], hi[idx] = -s, s
        else:  # revolute: 70% wider than the limits around their middle
            j = idx[0]
            mid, s = 0.5 * (hi[j] + lo[j]), 0.7 * (hi[j] - lo[j])
            lo[j], hi[j] = mid - s, mid + s
    return 0.5 * (hi + lo), 0.5 * (hi - lo)


def load_model(xml: Path | str = HUMANOID_XML, control_hz: int = CONTROL_HZ) -> Humanoid:
    """Load the humanoid and convert its motors into PD servos (see module docstring)."""
    model = mujoco.MjModel.from_xml_path(str(xml))
    substeps = max(1, round(1.0 / (control_hz * model.opt.timestep)))
    hinge_ids = [j for j in range(model.njnt) if model.jnt_type[j] == mujoco.mjtJoint.mjJNT_HINGE]
    len(hinge_ids)
    kp = model.jnt_stiffness[hinge_ids].copy()
    kd = np.array([model.dof_damping[model.jnt_dofadr[j]] for j in hinge_ids])
    low = model.jnt_range[hinge_ids, 0].copy()
    high = model.jnt_range[hinge_ids, 1].copy()

    joint_dofs: dict[str, list[int]] = {}
    joint_axes: dict[str, list[int]] = {}
    for k, j in enumerate(hinge_ids):
        body = model.body(model.jnt_bodyid[j]).name
        joint_dofs.setdefault(body, []).append(k)
        joint_axes.setdefault(body, []).append(int(np.argmax(np.abs(model.jnt_axis[j]))))

    hinge_index = {j: k for k, j in enumerate(hinge_ids)}
    actuator_joint = np.array(
        [hinge_index[int(model.actuator_trnid[a, 0])] for a in range(model.nu)]
    )
    for a in range(model.nu):
        k = actuator_joint[a]
        tau_max = float(model.actuator_gear[a, 0])
        model.actuator_gear[a, :] = 0.0
        model.actuator_gear[a, 0] = 1.0
        model.actuator_gaintype[a] = mujoco.mjtGain.mjGAIN_FIXED
        model.actuator_gainprm[a, :] = 0.0
        model.actuator_gainprm[a, 0] = kp[k]
        model.actuator_biastype[a] = mujoco.mjtBias.mjBIAS_AFFINE
        model.actuator_biasprm[a, :] = 0.0
        model.actuator_biasprm[a, 1] = -kp[k]
        model.actuator_biasprm[a, 2] = -kd[k]
        model.actuator_ctrllimited[a] = 1
        model.actuator_ctrlrange[a] = (low[k], high[k])
        model.actuator_forcelimited[a] = 1
        model.actuator_forcerange[a] = (-tau_max, tau_max)
    for j in hinge_ids:
        model.jnt_stiffness[j] = 0.0
        model.dof_damping[model.jnt_dofadr[j]] = 0.0
    model.opt.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST

    offset, scale = _pd_action_offset_scale(low, high, joint_dofs)
    body_ids = np.array([mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, n) for n in BODY_NAMES])
    name_to_bid = dict(zip(BODY_NAMES, body_ids, strict=True))
    return Humanoid(
        model=model,
        substeps=substeps,
        control_dt=substeps * float(model.opt.timestep),
        body_ids=body_ids,
        key_body_ids=np.array([name_to_bid[n] for n in KEY_BODIES]),
        foot_body_ids=np.array([name_to_bid[n] for n in FOOT_BODIES]),
        floor_geom=mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, "floor"),
        joint_dofs=joint_dofs,
        joint_axes=joint_axes,
        joint_low=low,
        joint_high=high,
        act_offset=offset,
        act_scale=scale,
        actuator_joint=actuator_joint,
        kp=kp,
        kd=kd,
    )
