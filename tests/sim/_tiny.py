"""A tiny AMP agent on the walk clip (8-unit networks, small buffers) for fast sim tests."""

from __future__ import annotations

import numpy as np
import torch

from sim.amp import AMPConfig, build_agent
from sim.env import HumanoidAMPEnv
from sim.humanoid import load_model
from sim.motion_lib import MotionLib


def make_tiny_agent(num_envs: int):
    """``(agent, env)``; the caller closes ``env``."""
    h = load_model()
    lib = MotionLib.from_names(["walk"], h)
    env = HumanoidAMPEnv(lib, num_envs=num_envs, humanoid=h, seed=0)
    rng = np.random.default_rng(0)
    cfg = AMPConfig(hidden=(8,), disc_hidden=(8,), motion_dataset_size=64, replay_buffer_size=64, amp_batch_size=32)
    agent = build_agent(env, lambda n: torch.from_numpy(lib.amp_observations(n, rng)), cfg)
    return agent, env
