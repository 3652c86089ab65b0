"""The simulator boundary: everything above it (env, metrics, training) sees only this API.

A backend owns ``num_envs`` copies of the humanoid and advances them one *control* step at a
time. ``sim.mujoco_backend.MuJoCoCPUBackend`` is the CPU implementation; a GPU backend (MJX,
MuJoCo-Warp, Isaac Gym) only has to implement the four methods below and return the same
:class:`SimState` arrays.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from .humanoid import Humanoid


@dataclass
class SimState:
    """Batched state after a step; every array has the environments on axis 0.

    ``qvel[:, 0:3]`` is the root linear velocity in the world frame and ``qvel[:, 3:6]`` the root
    angular velocity in the root's local frame (MuJoCo's free-joint convention).
    """

    qpos: np.ndarray  # (N, 35): root xyz, root quat wxyz, 28 hinge angles
    qvel: np.ndarray  # (N, 34)
    body_pos: np.ndarray  # (N, 15, 3) world positions in skeleton order
    floor_contact: np.ndarray  # (N, 15) bool: body touches the floor
    penetration: np.ndarray  # (N,) deepest floor penetration in metres (>= 0)


class Backend(ABC):
    humanoid: Humanoid
    num_envs: int

    @abstractmethod
    def set_state(self, env_ids: np.ndarray, qpos: np.ndarray, qvel: np.ndarray) -> None:
        """Teleport the given environments to (qpos, qvel) with zero controls."""

    @abstractmethod
    def step(self, ctrl: np.ndarray) -> None:
        """Apply actuator controls (N, nu) and advance one control step."""

    @abstractmethod
    def state(self) -> SimState:
        """State of all environments after the last step / set_state."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release worker threads or devices."""
