"""Batched humanoid environment for AMP with a heading-and-speed task (gymnasium vector API).

* Reference-state initialization (RSI): each reset starts from a random frame of the reference
  motion(s), and the AMP history is filled with the preceding reference frames.
* Early termination: an episode ends (``terminated``) when a body other than the allowed contact
  bodies (the feet by default) touches the floor, or the root drops below ``min_root_height``;
  it is ``truncated`` after ``episode_seconds``.
* Task: follow a target heading ``d*`` (unit vector on the ground) at target speed ``s*``;
  commands are resampled every 2-5 s, turning at most ``max_turn`` radians each time.
* Autoreset is *same-step*: a finished environment is reset inside ``step``; its last observation
  is in ``info["final_obs"]`` and ``info["amp_obs"]`` always holds the transition that actually
  happened (so the discriminator never sees a reset as a transition).
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv

from .backend import Backend, SimState
from .humanoid import BODY_NAMES, FOOT_BODIES, Humanoid, load_model
from .motion_lib import MotionLib
from .mujoco_backend import make_backend
from .observations import AMP_STEPS, STEP_FEATURE_DIM, step_features
from .rotations import heading_angle

TASK_OBS_DIM = 3


@dataclass
class TaskConfig:
    speed_range: tuple[float, float] = (1.0, 1.8)
    max_turn: float = np.pi / 4
    resample_seconds: tuple[float, float] = (2.0, 5.0)


def heading_reward(
    root_lin_vel_xy: np.ndarray, target_dir: np.ndarray, target_speed: np.ndarray
) -> np.ndarray:
    """Task reward r_G = exp(-0.5 * || v_xy - s* d* ||^2).

    v_xy: horizontal root velocity (N, 2) in m/s; d*: unit target heading (N, 2); s*: target
    speed (N,). Equals 1 when the character moves exactly at the commanded velocity.
    """
    err = root_lin_vel_xy - target_speed[:, None] * target_dir
    return np.exp(-0.5 * np.sum(err * err, axis=-1))


class HumanoidAMPEnv(VectorEnv):
    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}

    def __init__(
        self,
        motion_lib: MotionLib,
        num_envs: int = 16,
        task: TaskConfig | None = None,
        backend: Backend | str = "mujoco",
        workers: int = 1,
        humanoid: Humanoid | None = None,
        episode_seconds: float = 10.0,
        allowed_contacts: tuple[str, ...] = FOOT_BODIES,
        min_root_height: float = 0.3,
        seed: int | None = None,
        autoreset: bool = True,
    ):
        self.humanoid = humanoid or (
            backend.humanoid if isinstance(backend, Backend) else load_model()
        )
        self.backend = (
            backend
            if isinstance(backend, Backend)
            else make_backend(backend, num_envs=num_envs, workers=workers, humanoid=self.humanoid)
        )
        self.num_envs = self.backend.num_envs
        self.motion_lib = motion_lib
        self.task = task or TaskConfig()
        self.dt = self.humanoid.control_dt
        self.max_steps = int(round(episode_seconds / self.dt))
        self.min_root_height = min_root_height
        self.autoreset = autoreset
        self._fall_mask = np.array([n not in allowed_contacts for n in BODY_NAMES])
        nj = self.humanoid.num_joints
        self.single_observation_space = gymnasium.spaces.Box(
            -np.inf, np.inf, (STEP_FEATURE_DIM + TASK_OBS_DIM,), np.float32
        )
        self.single_action_space = gymnasium.spaces.Box(-1.0, 1.0, (nj,), np.float32)
        self.observation_space = gymnasium.vector.utils.batch_space(
            self.single_observation_space, self.num_envs
        )
        self.action_space = gymnasium.vector.utils.batch_space(
            self.single_action_space, self.num_envs
        )
        self.amp_observation_space = gymnasium.spaces.Box(
            -np.inf, np.inf, (AMP_STEPS * STEP_FEATURE_DIM,), np.float32
        )
        self._rng = np.random.default_rng(seed)
        n = self.num_envs
        self.steps = np.zeros(n, dtype=np.int64)
        self.target_dir = np.tile(np.array([1.0, 0.0]), (n, 1))
        self.target_speed = np.full(n, np.mean(self.task.speed_range))
        self.command_timer = np.zeros(n)
        self.history = np.zeros((n, AMP_STEPS, STEP_FEATURE_DIM), dtype=np.float32)
        self.fixed_command = False
        self.last_state: SimState = self.backend.state()

    # ------------------------------------------------------------------ commands
    def set_command(self, heading: float | np.ndarray, speed: float | np.ndarray) -> None:
        """Fix the command (world heading angle in radians, speed in m/s); disables resampling."""
        h = np.broadcast_to(np.asarray(heading, dtype=float), (self.num_envs,))
        self.target_dir = np.stack([np.cos(h), np.sin(h)], axis=1)
        self.target_speed = np.broadcast_to(np.asarray(speed, dtype=float), (self.num_envs,)).copy()
        self.fixed_command = True

    def _resample_commands(self, ids: np.ndarray, around: np.ndarray) -> None:
        if len(ids) == 0 or self.fixed_command:
            return
        lo, hi = self.task.speed_range
        ang = around + self._rng.uniform(-self.task.max_turn, self.task.max_turn, len(ids))
        self.target_dir[ids] = np.stack([np.cos(ang), np.sin(ang)], axis=1)
        self.target_speed[ids] = self._rng.uniform(lo, hi, len(ids))
        self.command_timer[ids] = self._rng.uniform(*self.task.resample_seconds, len(ids))

    # ------------------------------------------------------------------ observations
    def _task_obs(self, qpos: np.ndarray) -> np.ndarray:
        h = heading_angle(qpos[:, 3:7])
        c, s = np.cos(-h), np.sin(-h)
        dx, dy = self.target_dir[:, 0], self.target_dir[:, 1]
        local = np.stack([c * dx - s * dy, s * dx + c * dy, self.target_speed], axis=1)
        return local.astype(np.float32)

    def _obs(self, state: SimState, feats: np.ndarray) -> np.ndarray:
        return np.concatenate([feats, self._task_obs(state.qpos)], axis=1)

    # ------------------------------------------------------------------ reset
    def _reset_envs(self, ids: np.ndarray, init: str = "rsi", qpos=None, qvel=None) -> None:
        if len(ids) == 0:
            return
        if init == "rsi":
            mids, frames = self.motion_lib.sample_frames(len(ids), self._rng, margin=AMP_STEPS)
            frames = np.maximum(frames, AMP_STEPS - 1)
            qpos, qvel = self.motion_lib.states(mids, frames)
            for k, (m, f) in enumerate(zip(mids, frames, strict=True)):
                self.history[ids[k]] = self.motion_lib.motions[m].features[
                    f - AMP_STEPS + 1 : f + 1
                ]
        elif init == "default":  # first frame of the first motion, at rest in the origin
            qpos = np.tile(self.motion_lib.motions[0].qpos[0], (len(ids), 1))
            qpos[:, 0:2] = 0.0
            qvel = np.tile(self.motion_lib.motions[0].qvel[0], (len(ids), 1))
        elif qpos is None or qvel is None:
            raise ValueError(f"unknown init {init!r}; use 'rsi', 'default' or pass qpos and qvel")
        self.backend.set_state(ids, qpos, qvel)
        state = self.backend.state()
        if init != "rsi":
            self.history[ids] = step_features(
                state.qpos[ids], state.qvel[ids], state.body_pos[ids]
            )[:, None, :]
        self.steps[ids] = 0
        self._resample_commands(ids, heading_angle(state.qpos[ids, 3:7]))
        self.last_state = state

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        options = options or {}
        ids = np.arange(self.num_envs)
        self._reset_envs(
            ids, init=options.get("init", "rsi"), qpos=options.get("qpos"), qvel=options.get("qvel")
        )
        state = self.last_state
        return self._obs(state, self.history[:, -1]), {}

    # ------------------------------------------------------------------ step
    def fallen(self, state: SimState) -> np.ndarray:
        """A body outside the allowed contact set touches the floor, or the root is too low."""
        return (state.floor_contact & self._fall_mask).any(axis=1) | (
            state.qpos[:, 2] < self.min_root_height
        )

    def step(self, actions: np.ndarray):
        actions = np.asarray(actions, dtype=np.float64).reshape(self.num_envs, -1)
        ctrl = self.humanoid.target_to_ctrl(self.humanoid.action_to_target(actions))
        self.backend.step(ctrl)
        state = self.backend.state()
        feats = step_features(state.qpos, state.qvel, state.body_pos)
        self.history = np.roll(self.history, -1, axis=1)
        self.history[:, -1] = feats
        amp_obs = self.history.reshape(self.num_envs, -1).copy()
        reward = heading_reward(state.qvel[:, 0:2], self.target_dir, self.target_speed).astype(
            np.float32
        )
        self.steps += 1
        terminated = self.fallen(state)
        truncated = (self.steps >= self.max_steps) & ~terminated
        obs = self._obs(state, feats)
        info = {"amp_obs": amp_obs, "state": state}
        self.command_timer -= self.dt
        expired = np.flatnonzero(self.command_timer <= 0)
        self._resample_commands(
            expired, np.arctan2(self.target_dir[expired, 1], self.target_dir[expired, 0])
        )
        done = np.flatnonzero(terminated | truncated)
        if len(done) and self.autoreset:
            info["final_obs"] = obs.copy()
            info["episode_steps"] = self.steps.copy()
            self._reset_envs(done, init="rsi")
            reset_state = self.last_state
            obs[done] = self._obs(reset_state, self.history[:, -1])[done]
        else:
            self.last_state = state
        return obs, reward, terminated, truncated, info

    def close(self, **kwargs):
        self.backend.close()
