"""AMP pieces: the networks, the style reward and discriminator objective, and the skrl agent.

Learning itself is skrl's ``skrl.agents.torch.amp.AMP`` (PPO + AMP discriminator with gradient
penalty, replay buffer and logit regularization, adapted from IsaacGymEnvs). It combines the
rewards as in eq. 11 of the Motion-R1 paper (section 3.3):

    r_t = w_G r_G + w_S r_S        (w_G = ``task_reward_scale``, w_S = ``style_reward_scale``)

The functions below state the formulas that agent uses, so evaluation code and tests can compute
the same quantities outside the agent.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium
import torch
import torch.nn as nn
import torch.nn.functional as F
from skrl.agents.torch.amp import AMP, AMP_CFG
from skrl.memories.torch import RandomMemory
from skrl.models.torch import DeterministicMixin, GaussianMixin, Model
from skrl.resources.preprocessors.torch import RunningStandardScaler

STYLE_REWARD_FLOOR = 1e-4  # skrl clamps 1 - D(s, s') at this value before the log


def style_reward(logits: torch.Tensor) -> torch.Tensor:
    """Style reward r_S = -log(max(1 - D(s, s'), 1e-4)) with D = sigmoid(logits) (paper eq. 13).

    D(s, s') near 1 ("looks like the reference") gives a large reward, D = 0.5 gives log 2,
    D near 0 gives ~0; the floor caps the reward at -log(1e-4) ~ 9.21.
    """
    d = torch.sigmoid(logits)
    return -torch.log(torch.clamp(1.0 - d, min=STYLE_REWARD_FLOOR))


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """L_D = -E_ref[log D(s, s')] - E_pi[log(1 - D(s, s'))] (paper eq. 12), each mean weighted 1/2.

    Written with logits: 0.5 * (BCE(real_logits, 1) + BCE(fake_logits, 0)), as skrl does.
    """
    return 0.5 * (
        F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
        + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    )


def gradient_penalty(discriminator: nn.Module, real_obs: torch.Tensor) -> torch.Tensor:
    """GP = E_ref[ || d logits / d (s, s') ||^2 ] on reference transitions (AMP, Peng et al. 2021)."""
    x = real_obs.detach().requires_grad_(True)
    logits = discriminator(x)
    (grad,) = torch.autograd.grad(logits.sum(), x, create_graph=True)
    return grad.pow(2).sum(dim=-1).mean()


def mlp(inp: int, hidden: tuple[int, ...], out: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for h in hidden:
        layers += [nn.Linear(inp, h), nn.ReLU()]
        inp = h
    layers.append(nn.Linear(inp, out))
    return nn.Sequential(*layers)


class Policy(GaussianMixin, Model):
    """Gaussian policy with a fixed (not learned) log standard deviation, as in IsaacGymEnvs AMP."""

    def __init__(
        self, observation_space, action_space, hidden=(256, 128), log_std=-2.9, device="cpu"
    ):
        Model.__init__(
            self, observation_space=observation_space, action_space=action_space, device=device
        )
        GaussianMixin.__init__(
            self, clip_actions=False, clip_log_std=True, min_log_std=-20.0, max_log_std=2.0
        )
        self.net = mlp(self.num_observations, hidden, self.num_actions)
        self.log_std_parameter = nn.Parameter(
            torch.full((self.num_actions,), float(log_std)), requires_grad=False
        )

    def compute(self, inputs, role=""):
        return self.net(inputs["observations"]), {"log_std": self.log_std_parameter}


class Value(DeterministicMixin, Model):
    def __init__(self, observation_space, hidden=(256, 128), device="cpu"):
        Model.__init__(self, observation_space=observation_space, device=device)
        DeterministicMixin.__init__(self, clip_actions=False)
        self.net = mlp(self.num_observations, hidden, 1)

    def compute(self, inputs, role=""):
        return self.net(inputs["observations"]), {}


class Discriminator(DeterministicMixin, Model):
    """D(s, s') as a logit; its last module is the output Linear (skrl regularizes its weights)."""

    def __init__(self, amp_observation_space, hidden=(256, 128), device="cpu"):
        Model.__init__(self, observation_space=amp_observation_space, device=device)
        DeterministicMixin.__init__(self, clip_actions=False)
        self.net = mlp(self.num_observations, hidden, 1)

    def compute(self, inputs, role=""):
        return self.net(inputs["observations"]), {}


@dataclass
class AMPConfig:
    hidden: tuple[int, ...] = (256, 128)
    disc_hidden: tuple[int, ...] = (256, 128)
    log_std: float = -2.9
    rollouts: int = 32
    learning_epochs: int = 4
    mini_batches: int = 4
    learning_rate: float = 2e-4
    discount_factor: float = 0.99
    gae_lambda: float = 0.95
    task_reward_scale: float = 0.5  # w_G
    style_reward_scale: float = 1.0  # w_S
    gradient_penalty_scale: float = 5.0
    amp_batch_size: int = 512
    motion_dataset_size: int = 20_000
    replay_buffer_size: int = 20_000


def build_agent(
    env, collect_reference_motions, cfg: AMPConfig | None = None, device: str = "cpu"
) -> AMP:
    """skrl AMP agent for ``env`` (a ``sim.env.HumanoidAMPEnv``); writes no logs or checkpoints."""
    cfg = cfg or AMPConfig()
    obs_space: gymnasium.Space = env.single_observation_space
    act_space: gymnasium.Space = env.single_action_space
    amp_space: gymnasium.Space = env.amp_observation_space
    models = {
        "policy": Policy(obs_space, act_space, cfg.hidden, cfg.log_std, device),
        "value": Value(obs_space, cfg.hidden, device),
        "discriminator": Discriminator(amp_space, cfg.disc_hidden, device),
    }
    agent_cfg = AMP_CFG(
        rollouts=cfg.rollouts,
        learning_epochs=cfg.learning_epochs,
        mini_batches=cfg.mini_batches,
        learning_rate=cfg.learning_rate,
        discount_factor=cfg.discount_factor,
        gae_lambda=cfg.gae_lambda,
        task_reward_scale=cfg.task_reward_scale,
        style_reward_scale=cfg.style_reward_scale,
        discriminator_gradient_penalty_scale=cfg.gradient_penalty_scale,
        amp_batch_size=cfg.amp_batch_size,
        observation_preprocessor=RunningStandardScaler,
        observation_preprocessor_kwargs={"size": obs_space, "device": device},
        value_preprocessor=RunningStandardScaler,
        value_preprocessor_kwargs={"size": 1, "device": device},
        amp_observation_preprocessor=RunningStandardScaler,
        amp_observation_preprocessor_kwargs={"size": amp_space, "device": device},
    )
    agent_cfg.experiment.write_interval = 0
    agent_cfg.experiment.checkpoint_interval = 0
    n = env.num_envs
    agent = AMP(
        models=models,
        memory=RandomMemory(memory_size=cfg.rollouts, num_envs=n, device=device),
        observation_space=obs_space,
        action_space=act_space,
        device=device,
        cfg=agent_cfg,
        amp_observation_space=amp_space,
        motion_dataset=RandomMemory(memory_size=cfg.motion_dataset_size, device=device),
        reply_buffer=RandomMemory(memory_size=cfg.replay_buffer_size, device=device),
        collect_reference_motions=collect_reference_motions,
    )
    agent.init()
    agent.enable_training_mode(True)
    return agent
