"""Discriminator objective and style reward (known answers) and a few real AMP updates."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from sim.amp import AMPConfig, build_agent, discriminator_loss, gradient_penalty, style_reward
from sim.env import HumanoidAMPEnv
from sim.humanoid import load_model
from sim.motion_lib import MotionLib
from sim.train import train


def test_style_reward_known_values():
    logits = torch.tensor([0.0, math.log(3.0), -math.log(3.0), 50.0, -50.0])
    r = style_reward(logits)
    # D = 0.5, 0.75, 0.25, ~1, ~0  ->  -log(1 - D)
    expected = torch.tensor(
        [math.log(2.0), math.log(4.0), math.log(4.0 / 3.0), -math.log(1e-4), 0.0]
    )
    assert torch.allclose(r, expected, atol=1e-5)
    assert torch.all(style_reward(torch.linspace(-5, 5, 11)).diff() > 0)  # monotone in D


def test_discriminator_loss_known_values():
    zero = torch.zeros(4, 1)
    assert discriminator_loss(zero, zero).item() == pytest.approx(math.log(2.0))
    # perfect classifier -> ~0; inverted -> large
    big = torch.full((4, 1), 20.0)
    assert discriminator_loss(big, -big).item() < 1e-6
    assert discriminator_loss(-big, big).item() > 19.0


def test_gradient_penalty_of_linear_discriminator_is_weight_norm():
    lin = torch.nn.Linear(5, 1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, -2.0, 0.5, 0.0, 3.0]]))
    gp = gradient_penalty(lin, torch.randn(16, 5))
    assert gp.item() == pytest.approx(1 + 4 + 0.25 + 9)


@pytest.fixture(scope="module")
def humanoid():
    return load_model()


def test_few_iterations_change_all_networks(humanoid):
    torch.manual_seed(0)
    lib = MotionLib.from_names(["walk"], humanoid)
    env = HumanoidAMPEnv(lib, num_envs=4, humanoid=humanoid, seed=0)
    rng = np.random.default_rng(0)
    cfg = AMPConfig(hidden=(16, 16), disc_hidden=(16, 16), rollouts=8, mini_batches=2, learning_epochs=2,
                    amp_batch_size=64, motion_dataset_size=256, replay_buffer_size=256, learning_rate=1e-3)  # fmt: skip
    agent = build_agent(env, lambda n: torch.from_numpy(lib.amp_observations(n, rng)), cfg)
    before = {
        k: [p.detach().clone() for p in agent.models[k].parameters() if p.requires_grad]
        for k in agent.models
    }
    obs = torch.from_numpy(env.reset()[0])
    for t in range(16):
        with torch.no_grad():
            act, _ = agent.act(obs, None, timestep=t, timesteps=16)
        nobs, rew, term, trunc, info = env.step(act.numpy())
        agent.record_transition(
            observations=obs, states=None, actions=act, rewards=torch.from_numpy(rew).view(-1, 1),
            next_observations=torch.from_numpy(info.get("final_obs", nobs)), next_states=None,
            terminated=torch.from_numpy(term).view(-1, 1), truncated=torch.from_numpy(trunc).view(-1, 1),
            infos={"amp_obs": torch.from_numpy(info["amp_obs"])}, timestep=t, timesteps=16,
        )  # fmt: skip
        agent.post_interaction(timestep=t, timesteps=16)
        obs = torch.from_numpy(nobs)
    for k, params in before.items():
        after = [p for p in agent.models[k].parameters() if p.requires_grad]
        assert any(not torch.equal(a, b) for a, b in zip(after, params, strict=True)), (
            f"{k} did not change"
        )
    assert len(agent.reply_buffer) > 0  # policy transitions went to the replay buffer
    env.close()


def test_train_cli_writes_checkpoints_and_resumes(tmp_path):
    cfg = AMPConfig(hidden=(16, 16), disc_hidden=(16, 16), rollouts=8, mini_batches=2, learning_epochs=1,
                    amp_batch_size=64, motion_dataset_size=256, replay_buffer_size=256)  # fmt: skip
    out = tmp_path / "walk"
    r1 = train(
        "walk", out, envs=2, steps=32, cfg=cfg, checkpoint_every=1, eval_episodes=2, progress=False
    )
    assert (
        r1["training"]["timesteps"] == 16
        and (out / "policy.pt").is_file()
        and (out / "train_state.pt").is_file()
    )
    m = json.loads((out / "metrics.json").read_text())
    assert m["metrics"]["episodes"] == 2 and 0.0 <= m["metrics"]["survival_rate"] <= 1.0
    assert m["policy_sha256"] and m["training"]["env_steps"] == 32
    r2 = train(
        "walk", out, envs=2, steps=64, cfg=cfg, checkpoint_every=1, eval_episodes=0, progress=False
    )
    assert r2["training"]["timesteps"] == 32  # resumed at 16, ran 16 more
    logs = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    assert [x["timestep"] for x in logs] == [8, 16, 24, 32]


def test_warm_start_copies_policy_but_not_discriminator(tmp_path):
    from sim.train import _load_state

    cfg = AMPConfig(hidden=(16, 16), disc_hidden=(16, 16), rollouts=8, mini_batches=2, learning_epochs=1,
                    amp_batch_size=64, motion_dataset_size=256, replay_buffer_size=256)  # fmt: skip
    src = tmp_path / "walk"
    train("walk", src, envs=2, steps=16, cfg=cfg, eval_episodes=0, progress=False)
    h = load_model()
    lib = MotionLib.from_names(["run"], h)
    env = HumanoidAMPEnv(lib, num_envs=2, humanoid=h, seed=0)
    rng = np.random.default_rng(0)
    agent = build_agent(env, lambda n: torch.from_numpy(lib.amp_observations(n, rng)), cfg)
    disc_before = [p.detach().clone() for p in agent.discriminator.parameters()]
    _load_state(agent, src / "train_state.pt", only=("policy", "value"))
    saved = torch.load(src / "train_state.pt", weights_only=True)["modules"]
    for k, v in saved["policy"].items():
        assert torch.equal(agent.policy.state_dict()[k], v)
    assert all(
        torch.equal(a, b)
        for a, b in zip(agent.discriminator.parameters(), disc_before, strict=True)
    )
    env.close()
    res = train("run", tmp_path / "run", envs=2, steps=16, cfg=cfg, eval_episodes=0, progress=False,
                init_from=src / "train_state.pt")  # fmt: skip
    assert res["training"]["warm_start"]["from"].endswith("train_state.pt")


def test_cli_main_passes_every_option(tmp_path):
    """The argparse front end reaches train(): warm start, budget and submission copy."""
    from sim.train import main

    src = tmp_path / "walk"
    args = [
        "--envs",
        "2",
        "--steps",
        "16",
        "--rollouts",
        "8",
        "--hidden",
        "8",
        "--eval-episodes",
        "0",
    ]
    assert main(["--skill", "walk", "--out", str(src), *args]) == 0
    sub = tmp_path / "sub"
    rc = main(["--skill", "run", "--out", str(tmp_path / "run"), "--init-from", str(src / "train_state.pt"),
               "--submit", str(sub), *args])  # fmt: skip
    assert rc == 0 and (sub / "policy.pt").is_file()
    doc = json.loads((sub / "metrics.json").read_text())
    assert doc["training"]["warm_start"]["from"] == str(src / "train_state.pt")
    assert doc["training"]["config"]["hidden"] == [8] and doc["training"]["envs"] == 2
