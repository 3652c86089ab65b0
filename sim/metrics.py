"""Physical metrics of simulated motion; each is defined once here, with its formula.

All functions take per-episode arrays sampled at the control step ``dt`` (seconds):
``qpos`` (T, 35), ``qvel`` (T, 34), ``body_pos`` (T, 15, 3) world positions, ``floor_contact``
(T, 15) bool, ``penetration`` (T,) metres. :func:`summarize` averages episodes into the
leaderboard row (``METRIC_KEYS``); lower is better except survival time/rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .humanoid import BODY_NAMES, FOOT_BODIES
from .observations import local_body_positions

_FEET = np.array([BODY_NAMES.index(n) for n in FOOT_BODIES])

METRIC_KEYS = (
    "survival_rate",
    "fall_rate",
    "survival_time_s",
    "command_tracking_error_mps",
    "pose_error_m",
    "foot_sliding_mps",
    "ground_penetration_m",
    "jerk_mps3",
)


@dataclass
class Episode:
    """One simulated episode: T + 1 states (the start state, then one per control step)."""

    qpos: np.ndarray
    qvel: np.ndarray
    body_pos: np.ndarray
    floor_contact: np.ndarray
    penetration: np.ndarray
    fell: bool
    dt: float
    target_velocity: np.ndarray | None = None  # (T, 2) commanded s* d*, if a command was given


def survival_time(num_steps: int, dt: float) -> float:
    """Survival time = (steps simulated before a fall or the horizon) * dt, in seconds."""
    return num_steps * dt


def fall_rate(fell: np.ndarray) -> float:
    """Fall rate = (# episodes ended by a fall) / (# episodes); survival rate = 1 - fall rate."""
    return float(np.mean(np.asarray(fell, dtype=float)))


def command_tracking_error(root_vel_xy: np.ndarray, target_velocity: np.ndarray) -> float:
    """Command tracking error = mean_t || v_xy(t) - s*(t) d*(t) ||  (m/s)."""
    return float(np.mean(np.linalg.norm(root_vel_xy - target_velocity, axis=-1)))


def pose_error(sim_local: np.ndarray, ref_local: np.ndarray, max_ref_step: int = 2) -> float:
    """Mean per-joint position error after time alignment (m).

    Both inputs are body positions relative to the root in the root's heading frame,
    (T, 15, 3) and (R, 15, 3). Alignment is subsequence dynamic time warping: each simulated frame
    t is matched to a reference frame j(t), j may start anywhere and advances by 0..max_ref_step
    frames per step (the reference is tiled so looping clips can be followed). The error is

        E = min_j (1/T) sum_t (1/15) sum_b || p_sim[t, b] - p_ref[j(t), b] ||
    """
    t_sim = len(sim_local)
    reps = int(np.ceil(max_ref_step * t_sim / len(ref_local))) + 1
    ref = np.concatenate([ref_local] * reps, axis=0)
    cost = np.linalg.norm(sim_local[:, None] - ref[None], axis=-1).mean(-1)  # (T, R')
    acc = cost[0].copy()
    for t in range(1, t_sim):
        best = acc.copy()
        for k in range(1, max_ref_step + 1):
            shifted = np.full_like(acc, np.inf)
            shifted[k:] = acc[:-k]
            best = np.minimum(best, shifted)
        acc = cost[t] + best
    return float(acc.min() / t_sim)


def foot_sliding(body_pos: np.ndarray, floor_contact: np.ndarray, dt: float) -> float:
    """Mean horizontal foot speed while the foot stays on the floor (m/s).

    slide = sum_{t,f} c[t,f] c[t+1,f] ||p_xy[t+1,f] - p_xy[t,f]|| / (dt * sum_{t,f} c[t,f] c[t+1,f]);
    0 when no foot keeps contact over a step.
    """
    p = body_pos[:, _FEET, :2]
    c = floor_contact[:, _FEET]
    both = c[1:] & c[:-1]
    if not both.any():
        return 0.0
    d = np.linalg.norm(p[1:] - p[:-1], axis=-1)
    return float((d * both).sum() / (dt * both.sum()))


def ground_penetration(penetration: np.ndarray) -> float:
    """Mean over steps of the deepest body-floor penetration depth (m): mean_t max(0, -dist_t)."""
    return float(np.mean(penetration)) if len(penetration) else 0.0


def jerk(body_pos: np.ndarray, dt: float) -> float:
    """Mean magnitude of the third time derivative of body positions (m/s^3).

    jerk = mean_{t,b} || p[t+3,b] - 3 p[t+2,b] + 3 p[t+1,b] - p[t,b] || / dt^3; 0 under 4 frames.
    """
    if len(body_pos) < 4:
        return 0.0
    d3 = body_pos[3:] - 3 * body_pos[2:-1] + 3 * body_pos[1:-2] - body_pos[:-3]
    return float(np.mean(np.linalg.norm(d3, axis=-1)) / dt**3)


def episode_metrics(ep: Episode, ref_local: np.ndarray | None = None) -> dict[str, float]:
    out = {
        "fell": bool(ep.fell),
        "survival_time_s": survival_time(len(ep.qpos) - 1, ep.dt),
        "foot_sliding_mps": foot_sliding(ep.body_pos, ep.floor_contact, ep.dt),
        "ground_penetration_m": ground_penetration(ep.penetration),
        "jerk_mps3": jerk(ep.body_pos, ep.dt),
    }
    if ep.target_velocity is not None:
        out["command_tracking_error_mps"] = command_tracking_error(
            ep.qvel[:, 0:2], ep.target_velocity
        )
    if ref_local is not None and len(ep.qpos) > 1:
        out["pose_error_m"] = pose_error(local_body_positions(ep.qpos, ep.body_pos), ref_local)
    return out


def summarize(per_episode: list[dict[str, float]]) -> dict[str, float]:
    """Average per-episode metrics; fall/survival rates from the ``fell`` flags."""
    fell = np.array([e["fell"] for e in per_episode], dtype=float)
    out = {
        "episodes": len(per_episode),
        "fall_rate": fall_rate(fell),
        "survival_rate": 1.0 - fall_rate(fell),
    }
    for k in METRIC_KEYS:
        vals = [e[k] for e in per_episode if k in e]
        if vals and k not in out:
            out[k] = float(np.mean(vals))
    return out
