"""Quaternion and rotation helpers (numpy, batched over leading axes).

Conventions: quaternions in this module are **wxyz** (MuJoCo's order) unless a function
name says ``xyzw``. All functions accept arrays of shape ``(..., 4)`` / ``(..., 3)``.
"""

from __future__ import annotations

import numpy as np


def xyzw_to_wxyz(q: np.ndarray) -> np.ndarray:
    return np.concatenate([q[..., 3:4], q[..., 0:3]], axis=-1)


def normalize(q: np.ndarray) -> np.ndarray:
    return q / np.linalg.norm(q, axis=-1, keepdims=True).clip(min=1e-12)


def quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product a*b (wxyz)."""
    aw, ax, ay, az = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    bw, bx, by, bz = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    return np.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        axis=-1,
    )


def quat_conj(q: np.ndarray) -> np.ndarray:
    return q * np.array([1.0, -1.0, -1.0, -1.0], dtype=q.dtype)


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    ux, uy, uz = u[..., 0], u[..., 1], u[..., 2]
    vx, vy, vz = v[..., 0], v[..., 1], v[..., 2]
    return np.stack([uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx], axis=-1)


def quat_rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors v (..., 3) by unit quaternions q (..., 4), broadcasting."""
    w = q[..., 0:1]
    u = q[..., 1:4]
    t = 2.0 * _cross(u, v)
    return v + w * t + _cross(u, t)


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    w, x, y, z = np.moveaxis(q, -1, 0)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
            np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
            np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
        ],
        axis=-2,
    )


def quat_to_euler_xyz_intrinsic(q: np.ndarray) -> np.ndarray:
    """Angles (a, b, c) with R(q) = Rx(a) @ Ry(b) @ Rz(c) (intrinsic X, then Y, then Z).

    This is exactly how MuJoCo composes three hinge joints declared in the order x, y, z
    inside one body, so the angles are the hinge positions.
    """
    r = quat_to_matrix(q)
    b = np.arcsin(np.clip(r[..., 0, 2], -1.0, 1.0))
    a = np.arctan2(-r[..., 1, 2], r[..., 2, 2])
    c = np.arctan2(-r[..., 0, 1], r[..., 0, 0])
    return np.stack([a, b, c], axis=-1)


def slerp(q0: np.ndarray, q1: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation between unit quaternions, t broadcast as (..., 1)."""
    t = np.asarray(t)[..., None] if np.ndim(t) == q0.ndim - 1 else np.asarray(t)
    dot = np.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = np.where(dot < 0, -q1, q1)
    dot = np.abs(dot).clip(max=1.0)
    theta = np.arccos(dot)
    sin = np.sin(theta)
    small = sin < 1e-6
    safe = np.where(small, 1.0, sin)
    w0 = np.where(small, 1.0 - t, np.sin((1.0 - t) * theta) / safe)
    w1 = np.where(small, t, np.sin(t * theta) / safe)
    return normalize(w0 * q0 + w1 * q1)


def quat_to_rotvec(q: np.ndarray) -> np.ndarray:
    """Axis * angle of a unit quaternion (shortest rotation)."""
    q = np.where(q[..., 0:1] < 0, -q, q)
    s = np.linalg.norm(q[..., 1:], axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(s, q[..., 0:1])
    scale = np.where(s > 1e-9, angle / np.where(s > 1e-9, s, 1.0), 2.0)
    return q[..., 1:] * scale


def heading_angle(q: np.ndarray) -> np.ndarray:
    """Yaw of the body x axis projected on the ground plane: atan2(R[1, 0], R[0, 0])."""
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    return np.arctan2(2 * (x * y + w * z), 1 - 2 * (y * y + z * z))


def yaw_quat(angle: np.ndarray) -> np.ndarray:
    angle = np.asarray(angle, dtype=np.float64)
    return np.stack([np.cos(angle / 2), 0 * angle, 0 * angle, np.sin(angle / 2)], axis=-1)


def inverse_heading_quat(q: np.ndarray) -> np.ndarray:
    """Quaternion that removes the heading (yaw) of q: maps world vectors to the heading frame."""
    return yaw_quat(-heading_angle(q))


def tan_norm(q: np.ndarray) -> np.ndarray:
    """6-D rotation feature: the rotated x (tangent) and z (normal) axes, as in AMP.

    These are the first and third columns of the rotation matrix of q.
    """
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    return np.stack(
        [
            1 - 2 * (y * y + z * z),
            2 * (x * y + z * w),
            2 * (x * z - y * w),
            2 * (x * z + y * w),
            2 * (y * z - x * w),
            1 - 2 * (x * x + y * y),
        ],
        axis=-1,
    )
