"""Throughput of the batched MuJoCo humanoid env against raw ``mj_step`` on the same model.

Everything is measured in this one run, so only the ratios are meaningful:

* raw:      a Python loop over N MjData calling ``mujoco.mj_step(model, data, nstep=substeps)``
            (one control step of physics, PD servos in MuJoCo), nothing else;
* env:      ``HumanoidAMPEnv.step`` on the same model, same start states and zero actions, with
            observations, AMP features, rewards and termination checks (autoreset off, so the
            physics is identical to the raw loop);
* env+RSI:  the same with autoreset on (fallen characters restart from reference states);
* workers:  env steps per wall second with the batch split over 1 and 2 simulation threads.

The one-worker ratios use CPU time of this process and interleave the candidates, so they hold
on a busy machine; the 2-worker scaling needs a second idle core (the load average is printed).

Goal (issue 8): env >= 0.8 x raw on one core. Usage: python bench/bench_sim_env.py [--envs 32] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import mujoco
import numpy as np

from sim.env import HumanoidAMPEnv
from sim.humanoid import load_model
from sim.motion_lib import MotionLib


def _rates(fns: dict, seconds: float, rounds: int = 5) -> dict:
    """Interleave the candidates in ``rounds`` and return steps per CPU second and per wall second.

    CPU time of this process (``time.process_time``) is what the one-worker ratio uses: on a
    shared machine it does not charge other processes' load to whichever candidate ran then.
    """
    for fn in fns.values():
        fn()  # warm-up
    steps = dict.fromkeys(fns, 0)
    cpu = dict.fromkeys(fns, 0.0)
    wall = dict.fromkeys(fns, 0.0)
    for _ in range(rounds):
        for name, fn in fns.items():
            c0, w0 = time.process_time(), time.perf_counter()
            while time.perf_counter() - w0 < seconds / rounds:
                steps[name] += fn()
            cpu[name] += time.process_time() - c0
            wall[name] += time.perf_counter() - w0
    return {k: (steps[k] / cpu[k], steps[k] / wall[k]) for k in fns}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--envs", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=10.0)
    a = ap.parse_args()
    h = load_model()
    lib = MotionLib.from_names(["walk"], h)
    n = a.envs
    rng = np.random.default_rng(0)
    mids, frames = lib.sample_frames(n, rng)
    qpos, qvel = lib.states(mids, frames)
    zero_ctrl = h.target_to_ctrl(h.action_to_target(np.zeros((n, h.num_joints))))

    datas = [mujoco.MjData(h.model) for _ in range(n)]

    def restart_raw():
        for i, d in enumerate(datas):
            mujoco.mj_resetData(h.model, d)
            d.qpos[:], d.qvel[:] = qpos[i], qvel[i]
            d.ctrl[:] = zero_ctrl[i]
            mujoco.mj_forward(h.model, d)

    def raw_chunk(steps=30):
        restart_raw()
        for _ in range(steps):
            for d in datas:
                mujoco.mj_step(h.model, d, nstep=h.substeps)
        return steps * n

    def make_env(autoreset, workers):
        env = HumanoidAMPEnv(
            lib, num_envs=n, humanoid=h, autoreset=autoreset, workers=workers, seed=0
        )
        return env

    def env_chunk(env, steps=30, restart=True):
        if restart:
            env.reset(options={"init": "state", "qpos": qpos, "qvel": qvel})
        act = np.zeros((n, h.num_joints))
        for _ in range(steps):
            env.step(act)
        return steps * n

    env1 = make_env(False, 1)
    env_rsi = make_env(True, 1)
    env_rsi.reset()
    env2 = make_env(False, 2)
    r = _rates(
        {
            "raw": raw_chunk,
            "env": lambda: env_chunk(env1),
            "rsi": lambda: env_chunk(env_rsi, restart=False),
            "env2": lambda: env_chunk(env2),
        },
        a.seconds,
    )
    for e in (env1, env_rsi, env2):
        e.close()
    (raw_cpu, raw_wall), (env_cpu, env_wall) = r["raw"], r["env"]
    res = {
        "envs": n,
        "substeps_per_env_step": h.substeps,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "raw_mj_step_env_steps_per_cpu_s": round(raw_cpu, 1),
        "env_steps_per_cpu_s_1_worker": round(env_cpu, 1),
        "env_over_raw_cpu": round(env_cpu / raw_cpu, 3),
        "env_over_raw_wall": round(env_wall / raw_wall, 3),
        "env_with_rsi_resets_steps_per_cpu_s": round(r["rsi"][0], 1),
        "env_steps_per_wall_s_1_worker": round(env_wall, 1),
        "env_steps_per_wall_s_2_workers": round(r["env2"][1], 1),
        "scaling_2_over_1_workers_wall": round(r["env2"][1] / env_wall, 3),
    }
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
