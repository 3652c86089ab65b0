"""Observation features shared by the environment and the motion library.

One AMP *step feature* (81 numbers) describes a single state; the discriminator sees
``AMP_STEPS`` consecutive step features, the policy sees the current one plus its task command.

Step feature, all expressed in the character's heading frame (yaw removed) so that it does not
depend on where the character stands or which way it faces:

    [ root height (1) | root rotation as tangent+normal axes (6) | root linear velocity (3) |
      root angular velocity (3) | 28 hinge angles | 28 hinge velocities |
      key body positions relative to the root: right hand, left hand, right foot, left foot (12) ]
"""

from __future__ import annotations

import numpy as np

from .humanoid import BODY_NAMES, KEY_BODIES
from .rotations import inverse_heading_quat, quat_mul, quat_rotate, tan_norm

AMP_STEPS = 2
STEP_FEATURE_DIM = 1 + 6 + 3 + 3 + 28 + 28 + 3 * len(KEY_BODIES)
_KEY_IDX = np.array([BODY_NAMES.index(n) for n in KEY_BODIES])


def step_features(qpos: np.ndarray, qvel: np.ndarray, body_pos: np.ndarray) -> np.ndarray:
    """(N, 35), (N, 34), (N, 15, 3) -> (N, STEP_FEATURE_DIM) float32, see module docstring."""
    root_pos = qpos[:, 0:3]
    root_rot = qpos[:, 3:7]
    inv_h = inverse_heading_quat(root_rot)
    local_rot = quat_mul(inv_h, root_rot)
    lin_vel = quat_rotate(inv_h, qvel[:, 0:3])
    ang_vel_world = quat_rotate(root_rot, qvel[:, 3:6])
    ang_vel = quat_rotate(inv_h, ang_vel_world)
    key = body_pos[:, _KEY_IDX, :] - root_pos[:, None, :]
    key = quat_rotate(inv_h[:, None, :], key).reshape(len(qpos), -1)
    feats = np.concatenate(
        [root_pos[:, 2:3], tan_norm(local_rot), lin_vel, ang_vel, qpos[:, 7:], qvel[:, 6:], key],
        axis=1,
    )
    return feats.astype(np.float32)


def local_body_positions(qpos: np.ndarray, body_pos: np.ndarray) -> np.ndarray:
    """Body positions relative to the root in its heading frame, (N, 15, 3): used by pose error."""
    inv_h = inverse_heading_quat(qpos[:, 3:7])
    rel = body_pos - qpos[:, None, 0:3]
    return quat_rotate(inv_h[:, None, :], rel)
