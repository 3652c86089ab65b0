"""Evaluate a controller: batched 10 s episodes from reference-state starts -> physical metrics.

    python -m sim.evaluate leaderboard/submissions/amp-walk [--episodes 32]

re-evaluates ``DIR/policy.pt`` and rewrites the ``metrics`` entry of ``DIR/metrics.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from .controller import Controller
from .env import HumanoidAMPEnv, TaskConfig
from .humanoid import Humanoid, load_model
from .metrics import Episode, episode_metrics, summarize
from .motion_lib import MotionLib
from .observations import local_body_positions


def rollout(
    env: HumanoidAMPEnv, policy, steps: int, init: str = "rsi", seed: int = 0
) -> list[Episode]:
    """Run ``policy(obs) -> actions`` in every env for up to ``steps``; one Episode per env (cut at a fall)."""
    obs, _ = env.reset(seed=seed, options={"init": init})
    s0 = env.last_state
    traj = {
        k: [getattr(s0, k)] for k in ("qpos", "qvel", "body_pos", "floor_contact", "penetration")
    }
    tv = [env.target_speed[:, None] * env.target_dir]
    fall_step = np.full(env.num_envs, -1)
    for t in range(steps):
        obs, _, term, _, info = env.step(policy(obs))
        st = info["state"]
        for k in traj:
            traj[k].append(getattr(st, k))
        tv.append(env.target_speed[:, None] * env.target_dir)
        fall_step[(fall_step < 0) & term] = t + 1
        if (fall_step >= 0).all():
            break
    arr = {k: np.stack(v, axis=1) for k, v in traj.items()}
    tv = np.stack(tv, axis=1)
    episodes = []
    for i in range(env.num_envs):
        end = fall_step[i] + 1 if fall_step[i] >= 0 else arr["qpos"].shape[1]
        episodes.append(
            Episode(
                qpos=arr["qpos"][i, :end], qvel=arr["qvel"][i, :end], body_pos=arr["body_pos"][i, :end],
                floor_contact=arr["floor_contact"][i, :end], penetration=arr["penetration"][i, :end],
                fell=bool(fall_step[i] >= 0), dt=env.dt, target_velocity=tv[i, :end],
            )
        )  # fmt: skip
    return episodes


def controller_episodes(
    controller: Controller,
    episodes: int = 32,
    seconds: float = 10.0,
    seed: int = 1234,
    humanoid: Humanoid | None = None,
    workers: int = 1,
) -> tuple[list[Episode], MotionLib]:
    """The evaluation episodes of ``controller`` (deterministic for a seed) and its clip library.

    ``episodes`` batched runs of up to ``seconds`` from random reference states of the
    controller's clips, mean action, heading/speed command resampled in the controller's range.
    """
    humanoid = humanoid or load_model()
    lib = MotionLib.from_names(controller.clips, humanoid)
    speed = tuple(controller.task.get("speed_range", (1.0, 1.8)))
    env = HumanoidAMPEnv(lib, num_envs=episodes, task=TaskConfig(speed_range=speed), humanoid=humanoid,
                         episode_seconds=seconds, seed=seed, autoreset=False, workers=workers)  # fmt: skip
    try:
        eps = rollout(env, controller.act, int(round(seconds / env.dt)), seed=seed)
    finally:
        env.close()
    return eps, lib


def evaluate_controller(
    controller: Controller,
    episodes: int = 32,
    seconds: float = 10.0,
    seed: int = 1234,
    humanoid: Humanoid | None = None,
    workers: int = 1,
) -> dict:
    """Survival / fall rate, tracking, pose error, foot sliding, penetration and jerk over ``episodes``."""
    eps, lib = controller_episodes(controller, episodes, seconds, seed, humanoid, workers)
    ref = local_body_positions(lib.motions[0].qpos, lib.motions[0].body_pos)
    summary = summarize([episode_metrics(e, ref) for e in eps])
    summary.update({"skill": controller.skill, "episode_seconds": seconds, "seed": seed})
    return summary


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m sim.evaluate", description="re-evaluate a controller folder"
    )
    p.add_argument("folder", type=Path, help="folder holding policy.pt (and metrics.json)")
    p.add_argument("--episodes", type=int, default=32)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--seed", type=int, default=1234)
    a = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    ctrl = Controller.load(a.folder / "policy.pt")
    metrics = evaluate_controller(ctrl, episodes=a.episodes, seconds=a.seconds, seed=a.seed)
    path = a.folder / "metrics.json"
    doc = json.loads(path.read_text()) if path.is_file() else {"skill": ctrl.skill}
    doc["metrics"] = metrics
    path.write_text(json.dumps(doc, indent=2))
    print(json.dumps(metrics, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
