"""Train an AMP controller for one skill on the CPU: ``python -m sim.train --skill walk``.

The loop drives skrl's AMP agent over :class:`sim.env.HumanoidAMPEnv`. Every
``--checkpoint-every`` updates it writes ``OUT/train_state.pt`` (all networks, optimizer and
normalizers; read back with ``weights_only=True``) and ``OUT/policy.pt`` (the small controller
file); a rerun with the same ``--out`` resumes from there. ``--minutes`` caps the wall time
summed over all resumed runs. At the end the controller is evaluated (``sim.evaluate``) and
``OUT/metrics.json`` written; ``--submit DIR`` copies ``policy.pt`` and ``metrics.json`` there.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .amp import AMPConfig, build_agent
from .assets import sha256
from .controller import Controller, export_controller
from .env import HumanoidAMPEnv, TaskConfig
from .evaluate import evaluate_controller
from .humanoid import load_model
from .motion_lib import MotionLib

SPEED_BAND = (0.8, 1.2)  # command speeds are sampled in this band around the clip's mean speed


def _save_state(agent, path: Path, timestep: int, wall_s: float, meta: dict) -> None:
    blob = {
        "timestep": timestep,
        "wall_s": wall_s,
        "meta": meta,
        "modules": {
            k: agent._get_internal_value(m)
            for k, m in agent.checkpoint_modules.items()
            if m is not None
        },
    }
    tmp = path.with_suffix(".tmp")
    torch.save(blob, tmp)
    tmp.replace(path)


def _load_state(agent, path: Path, only: tuple[str, ...] | None = None) -> tuple[int, float]:
    blob = torch.load(path, map_location="cpu", weights_only=True)
    for name, sd in blob["modules"].items():
        if only is None or name in only:
            agent.checkpoint_modules[name].load_state_dict(sd)
    return int(blob["timestep"]), float(blob["wall_s"])


#: what ``--init-from`` copies from another skill's run (not the discriminator or optimizer)
WARM_START_MODULES = ("policy", "value", "observation_preprocessor", "value_preprocessor")


def train(
    skill: str,
    out: Path,
    envs: int = 32,
    steps: int = 2_000_000,
    minutes: float | None = None,
    cfg: AMPConfig | None = None,
    workers: int = 1,
    seed: int = 0,
    checkpoint_every: int = 10,
    resume: bool = True,
    eval_episodes: int = 32,
    progress: bool = True,
    init_from: Path | None = None,
) -> dict:
    cfg = cfg or AMPConfig()
    torch.manual_seed(seed)
    out.mkdir(parents=True, exist_ok=True)
    humanoid = load_model()
    clips = [skill]
    lib = MotionLib.from_names(clips, humanoid)
    v = lib.motions[0].mean_speed
    task = TaskConfig(speed_range=(SPEED_BAND[0] * v, SPEED_BAND[1] * v))
    env = HumanoidAMPEnv(
        lib, num_envs=envs, task=task, humanoid=humanoid, workers=workers, seed=seed
    )
    rng = np.random.default_rng(seed + 1)
    agent = build_agent(env, lambda n: torch.from_numpy(lib.amp_observations(n, rng)), cfg)
    state_path, policy_path = out / "train_state.pt", out / "policy.pt"
    timestep, wall_before = 0, 0.0
    warm = None
    if resume and state_path.exists():
        timestep, wall_before = _load_state(agent, state_path)
        print(f"resumed {state_path} at timestep {timestep} ({wall_before / 60:.1f} min trained)")
        warm = torch.load(state_path, map_location="cpu", weights_only=True)["meta"].get(
            "warm_start"
        )
    elif init_from is not None:
        steps0, wall0 = _load_state(agent, Path(init_from), only=WARM_START_MODULES)
        warm = {
            "from": str(init_from),
            "its_timesteps": steps0,
            "its_wall_min": round(wall0 / 60, 2),
        }
        for name in ("observation_preprocessor", "value_preprocessor"):  # let statistics adapt
            count = agent.checkpoint_modules[name].current_count
            count.fill_(min(float(count), 1e4))
        print(f"warm start from {init_from} ({', '.join(WARM_START_MODULES)})")
    timesteps = max(1, steps // envs)
    meta = {
        "skill": skill,
        "envs": envs,
        "warm_start": warm,
        "steps": steps,
        "config": asdict(cfg),
        "task": asdict(task),
    }
    log = (out / "log.jsonl").open("a")
    start = time.time()
    obs_np, _ = env.reset()
    obs = torch.from_numpy(obs_np)
    ep_lens: list[int] = []
    task_r: list[float] = []
    updates = 0
    bar = tqdm(
        total=timesteps,
        initial=min(timestep, timesteps),
        disable=not progress,
        desc=f"amp-{skill}",
        unit="it",
    )
    out_of_time = False
    while timestep < timesteps and not out_of_time:
        agent.pre_interaction(timestep=timestep, timesteps=timesteps)
        with torch.no_grad():
            actions, _ = agent.act(obs, None, timestep=timestep, timesteps=timesteps)
        nobs_np, rew, term, trunc, info = env.step(actions.numpy())
        final = info.get("final_obs", nobs_np)
        agent.record_transition(
            observations=obs,
            states=None,
            actions=actions,
            rewards=torch.from_numpy(rew).view(-1, 1),
            next_observations=torch.from_numpy(final),
            next_states=None,
            terminated=torch.from_numpy(term).view(-1, 1),
            truncated=torch.from_numpy(trunc).view(-1, 1),
            infos={"amp_obs": torch.from_numpy(info["amp_obs"])},
            timestep=timestep,
            timesteps=timesteps,
        )
        agent.post_interaction(timestep=timestep, timesteps=timesteps)
        obs = torch.from_numpy(nobs_np)
        task_r.append(float(rew.mean()))
        if "episode_steps" in info:
            ep_lens += info["episode_steps"][term | trunc].tolist()
        timestep += 1
        bar.update(1)
        if timestep % cfg.rollouts == 0:
            updates += 1
            wall = wall_before + time.time() - start
            rec = {
                "timestep": timestep,
                "env_steps": timestep * envs,
                "wall_min": round(wall / 60, 2),
                "mean_episode_s": round(float(np.mean(ep_lens)) * env.dt, 3) if ep_lens else None,
                "task_reward": round(float(np.mean(task_r)), 4),
            }
            for k, vals in agent.tracking_data.items():
                if k.startswith("Loss"):
                    rec[k.split("/ ")[-1]] = round(float(np.mean(vals)), 4)
            agent.tracking_data.clear()
            log.write(json.dumps(rec) + "\n")
            log.flush()
            bar.set_postfix(ep_s=rec["mean_episode_s"], r_g=rec["task_reward"])
            ep_lens, task_r = ep_lens[-200:], []
            if minutes is not None and wall >= minutes * 60:
                out_of_time = True
            if updates % checkpoint_every == 0 or out_of_time:
                _save_state(agent, state_path, timestep, wall, meta)
                export_controller(
                    agent,
                    policy_path,
                    skill=skill,
                    clips=clips,
                    hidden=cfg.hidden,
                    task=asdict(task),
                )
    bar.close()
    wall = wall_before + time.time() - start
    _save_state(agent, state_path, timestep, wall, meta)
    export_controller(
        agent, policy_path, skill=skill, clips=clips, hidden=cfg.hidden, task=asdict(task)
    )
    env.close()
    log.close()
    result = {
        "submission": f"amp-{skill}",
        "kind": "sim-controller",
        "skill": skill,
        "backend": "mujoco-cpu",
        "training": {
            **meta,
            "timesteps": timestep,
            "env_steps": timestep * envs,
            "train_wall_min": round(wall / 60, 2),
            "machine": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
        },
        "policy_sha256": sha256(policy_path),
    }
    if eval_episodes > 0:
        torch.set_num_threads(1)
        result["metrics"] = evaluate_controller(
            Controller.load(policy_path), episodes=eval_episodes, humanoid=humanoid
        )
    (out / "metrics.json").write_text(json.dumps(result, indent=2))
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sim.train", description=__doc__.splitlines()[0])
    p.add_argument(
        "--skill",
        required=True,
        help="shipped clip to imitate: walk, run, dance, hop, cartwheel, backflip",
    )
    p.add_argument("--envs", type=int, default=32, help="parallel environments")
    p.add_argument("--steps", type=int, default=2_000_000, help="total environment transitions")
    p.add_argument(
        "--minutes",
        type=float,
        default=None,
        help="stop after this much training wall time (summed over resumes)",
    )
    p.add_argument("--out", type=Path, default=None, help="run folder (default runs/sim/SKILL)")
    p.add_argument("--workers", type=int, default=1, help="simulation worker threads")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument(
        "--hidden", type=str, default="256,128", help="policy/value/discriminator hidden sizes"
    )
    p.add_argument("--rollouts", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--task-weight", type=float, default=0.5, help="w_G in r = w_G r_G + w_S r_S")
    p.add_argument("--style-weight", type=float, default=1.0, help="w_S")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint-every", type=int, default=10, help="updates between checkpoints")
    p.add_argument("--no-resume", action="store_true")
    p.add_argument(
        "--init-from",
        type=Path,
        default=None,
        help="train_state.pt of another run: copy its policy, value and normalizers (warm start)",
    )
    p.add_argument("--eval-episodes", type=int, default=32)
    p.add_argument(
        "--submit", type=Path, default=None, help="copy policy.pt and metrics.json into this folder"
    )
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    hidden = tuple(int(x) for x in a.hidden.split(","))
    cfg = AMPConfig(hidden=hidden, disc_hidden=hidden, rollouts=a.rollouts, learning_rate=a.lr,
                    task_reward_scale=a.task_weight, style_reward_scale=a.style_weight)  # fmt: skip
    out = a.out or Path("runs/sim") / a.skill
    res = train(a.skill, out, envs=a.envs, steps=a.steps, minutes=a.minutes, cfg=cfg, workers=a.workers,
                seed=a.seed, checkpoint_every=a.checkpoint_every, resume=not a.no_resume,
                eval_episodes=a.eval_episodes, init_from=a.init_from)  # fmt: skip
    if a.submit:
        a.submit.mkdir(parents=True, exist_ok=True)
        shutil.copy2(out / "policy.pt", a.submit / "policy.pt")
        shutil.copy2(out / "metrics.json", a.submit / "metrics.json")
    print(json.dumps({k: v for k, v in res.items() if k != "training"}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
